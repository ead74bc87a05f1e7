//! The password policy (SECURITY.md 6.2.x, NIST 800-63B): a length range counted in Unicode
//! code points, a blocklist of common passwords, and context words (the product, the
//! person's email and name, organisation names). No composition rules. Every refusal says why.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::config::PasswordConfig;

/// Why a password was refused; the text is shown to the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the password must be at least {0} characters long")]
    TooShort(usize),
    #[error("the password must be at most {0} characters long")]
    TooLong(usize),
    #[error("this password is too common; choose another")]
    Common,
    #[error("the password must not contain your name, email address or the name of this service")]
    Context,
}

/// Words that a password must not be built from, for one person.
#[derive(Debug, Default)]
pub struct PolicyContext<'a> {
    pub email: Option<&'a str>,
    pub name: Option<&'a str>,
    /// Further words such as organisation names.
    pub extra: &'a [String],
}

/// The configured policy.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl PasswordPolicy {
    /// The policy of a configuration.
    pub fn from_config(c: &PasswordConfig) -> Self {
        Self {
            min_length: c.min_length,
            max_length: c.max_length,
        }
    }

    /// Checks a new password.
    pub fn check(&self, password: &str, ctx: &PolicyContext<'_>) -> Result<(), PolicyError> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(PolicyError::TooShort(self.min_length));
        }
        if length > self.max_length {
            return Err(PolicyError::TooLong(self.max_length));
        }
        let folded = password.to_lowercase();
        if blocklist().contains(folded.as_str()) || is_repetitive(&folded) {
            return Err(PolicyError::Common);
        }
        let mut words: Vec<String> = vec!["nyckel".into()];
        if let Some(email) = ctx.email {
            let email = email.to_lowercase();
            if let Some((local, _)) = email.split_once('@') {
                words.push(local.to_string());
            }
            words.push(email);
        }
        if let Some(name) = ctx.name {
            words.extend(name.to_lowercase().split_whitespace().map(str::to_string));
        }
        words.extend(ctx.extra.iter().map(|w| w.to_lowercase()));
        // A context word only counts when it carries weight: at least 4 characters, and the
        // rest of the password is short (the word is most of it).
        for w in words.iter().filter(|w| w.chars().count() >= 4) {
            if folded.contains(w.as_str()) && length - w.chars().count() < self.min_length {
                return Err(PolicyError::Context);
            }
        }
        Ok(())
    }
}

/// The same character or a short pattern repeated ("aaaa...", "abcabcabc...").
fn is_repetitive(p: &str) -> bool {
    let chars: Vec<char> = p.chars().collect();
    (1..=4).any(|period| {
        chars.len() >= period * 3
            && chars
                .iter()
                .enumerate()
                .all(|(i, c)| *c == chars[i % period])
    })
}

fn blocklist() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../assets/common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::from_config(&PasswordConfig::default())
    }

    #[test]
    fn length_is_counted_in_code_points() {
        let p = policy();
        let ctx = PolicyContext::default();
        assert_eq!(p.check("short", &ctx), Err(PolicyError::TooShort(15)));
        // 15 different emoji are 15 characters (60 bytes).
        let emoji = "🔑🌲🍓🚲🐟🌞🍄🎈🐝🌊🍎🦊🌙🎻🧭";
        assert_eq!(emoji.len(), 60);
        assert!(p.check(emoji, &ctx).is_ok());
        assert_eq!(p.check(&emoji[..56], &ctx), Err(PolicyError::TooShort(15)));
        assert!(p.check("mossa lingon fjällräv", &ctx).is_ok());
        assert_eq!(
            p.check(&"x".repeat(257), &ctx),
            Err(PolicyError::TooLong(256))
        );
    }

    #[test]
    fn common_and_repetitive_passwords_are_refused() {
        let p = policy();
        let ctx = PolicyContext::default();
        assert_eq!(p.check("PasswordPassword", &ctx), Err(PolicyError::Common));
        assert_eq!(
            p.check("aaaaaaaaaaaaaaaaaaa", &ctx),
            Err(PolicyError::Common)
        );
        assert_eq!(
            p.check("abcabcabcabcabcabc", &ctx),
            Err(PolicyError::Common)
        );
    }

    #[test]
    fn no_composition_rules() {
        assert!(
            policy()
                .check("lowercaseletterswithnodigits", &PolicyContext::default())
                .is_ok()
        );
    }

    #[test]
    fn context_words_are_refused() {
        let p = policy();
        let ctx = PolicyContext {
            email: Some("anna.svensson@example.org"),
            name: Some("Anna Svensson"),
            extra: &["Göteborgs Roddklubb".to_string()],
        };
        assert_eq!(
            p.check("anna.svensson2024!", &ctx),
            Err(PolicyError::Context)
        );
        assert_eq!(p.check("nyckelnyckel123", &ctx), Err(PolicyError::Context));
        assert!(p.check("blåbärssylt i skogen", &ctx).is_ok());
    }
}
