//! What the messages about a person's email address and phone number say (in the person's
//! language): the confirmation of a new address (a link and a code, to the NEW address), and
//! the notices that the address or number was changed or removed (to the OLD address, or to
//! the account's address). Addresses and numbers in notices are masked; no notice carries a
//! link or a code.

use crate::i18n::Texts;
use crate::mail::compose::{base, fill};
use crate::mail::compose_keys::{KeyWords, key_letter};
use crate::mail::letter::Letter;
use crate::store::users::User;

/// The confirmation of a new email address: a link and a code, valid `ttl` seconds, only in
/// the signed-in session that asked.
pub fn verify_email(t: Texts, user: &User, link: &str, code: &str, ttl: i64) -> Letter {
    let words = KeyWords {
        subject: "mail_channels.verify_subject",
        body: "mail_channels.verify_body",
        action: "mail_channels.verify_action",
        code_instead: "mail_channels.code_instead",
        valid: "mail_channels.valid_here",
        notes: &["mail_channels.verify_not_you"],
    };
    key_letter(t, user, &words, (link, code), ttl)
}

/// To the old address: the account's address is now `masked_new`.
pub fn email_changed(t: Texts, user: &User, masked_new: &str) -> Letter {
    let mut l = base(
        t,
        t.t("mail_channels.email_changed_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(fill(
        t.t("mail_channels.email_changed_body"),
        &[("email", masked_new)],
    ));
    l.notes.push(t.t("mail_channels.not_you").to_string());
    l
}

/// To the account's address: the verified mobile number is now `masked_new`.
pub fn phone_changed(t: Texts, user: &User, masked_new: &str) -> Letter {
    let mut l = base(
        t,
        t.t("mail_channels.phone_changed_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(fill(
        t.t("mail_channels.phone_changed_body"),
        &[("phone", masked_new)],
    ));
    l.notes.push(t.t("mail_channels.not_you").to_string());
    l
}

/// To the account's address: the mobile number `masked_old` was removed.
pub fn phone_removed(t: Texts, user: &User, masked_old: &str) -> Letter {
    let mut l = base(
        t,
        t.t("mail_channels.phone_removed_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(fill(
        t.t("mail_channels.phone_removed_body"),
        &[("phone", masked_old)],
    ));
    l.notes.push(t.t("mail_channels.not_you").to_string());
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    fn user() -> User {
        User {
            id: "u".into(),
            email: "anna@example.org".into(),
            email_verified: 1,
            name: Some("Anna".into()),
            phone: None,
            password_hash: None,
            locale: None,
            disabled: 0,
            created_at: 0,
            updated_at: 0,
            superadmin: 0,
            must_change_password: 0,
            phone_verified: 0,
        }
    }

    #[test]
    fn the_confirmation_has_the_link_and_the_spaced_code() {
        for locale in [Locale::Sv, Locale::En] {
            let t = Texts::new(locale);
            let l = verify_email(
                t,
                &user(),
                "https://id.example.org/verify/email/k",
                "123456",
                3600,
            );
            let m = l.to_message("ny@example.org").expect("renders");
            assert!(m.text.contains("https://id.example.org/verify/email/k"));
            assert!(m.text.contains("123 456"));
            assert!(!l.subject.starts_with("mail_channels."), "{}", l.subject);
        }
    }

    #[test]
    fn notices_carry_no_link_and_name_the_masked_value() {
        let t = Texts::new(Locale::En);
        for l in [
            email_changed(t, &user(), "n•••@example.org"),
            phone_changed(t, &user(), "+46•••••••67"),
            phone_removed(t, &user(), "+46•••••••67"),
        ] {
            assert!(l.action.is_none());
            assert!(l.paragraphs[0].contains("•••"), "{}", l.paragraphs[0]);
            assert!(!l.notes[0].starts_with("mail_channels."));
        }
    }
}
