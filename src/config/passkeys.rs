//! `[passkeys]`: WebAuthn (docs/passkeys.md). By default the relying party is the issuer:
//! its host is the RP ID and its origin the only origin passkeys are accepted from.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[passkeys]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasskeysConfig {
    /// The WebAuthn relying party id (a domain). Default: the issuer's host. A passkey is tied
    /// to it for good: changing it makes every registered passkey unusable.
    pub rp_id: Option<String>,
    /// The origins (`https://host[:port]`) ceremonies may run on. Default: the issuer's origin.
    pub origins: Vec<String>,
    /// Seconds a registration or login challenge stays usable, 30-900.
    pub challenge_ttl: i64,
}

impl Default for PasskeysConfig {
    fn default() -> Self {
        Self {
            rp_id: None,
            origins: Vec::new(),
            challenge_ttl: 5 * 60,
        }
    }
}

impl PasskeysConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if !(30..=900).contains(&self.challenge_ttl) {
            return bad("passkeys.challenge_ttl must be between 30 and 900 seconds".into());
        }
        if let Some(rp_id) = &self.rp_id {
            let ok = !rp_id.is_empty()
                && rp_id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !ok {
                return bad(format!(
                    "passkeys.rp_id = {rp_id:?} is not a domain name such as \"id.example.org\""
                ));
            }
            if rp_id.parse::<std::net::IpAddr>().is_ok() {
                return bad(format!(
                    "passkeys.rp_id = {rp_id:?} is an IP address; WebAuthn needs a domain name such as \"id.example.org\""
                ));
            }
        }
        for origin in &self.origins {
            let parsed = url::Url::parse(origin).ok();
            let ok = parsed.as_ref().is_some_and(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && u.query().is_none()
            });
            if !ok {
                return bad(format!(
                    "passkeys.origins: {origin:?} is not an origin such as \"https://id.example.org\""
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        let mut c = PasskeysConfig::default();
        assert!(c.validate().is_ok());
        c.challenge_ttl = 5;
        assert!(c.validate().is_err());
        c.challenge_ttl = 300;
        c.rp_id = Some("id.example.org".into());
        c.origins = vec!["https://id.example.org".into()];
        assert!(c.validate().is_ok());
        c.origins = vec!["id.example.org".into()];
        assert!(c.validate().is_err());
        c.origins = Vec::new();
        c.rp_id = Some("https://id.example.org".into());
        assert!(c.validate().is_err());
        c.rp_id = Some("127.0.0.1".into());
        assert!(c.validate().is_err());
    }
}
