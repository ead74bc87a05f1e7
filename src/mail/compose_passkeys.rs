//! What the notices about a person's passkeys say (in the person's language): a passkey was
//! added to, or removed from, their account. No notice carries a link or a code.

use crate::i18n::Texts;
use crate::mail::compose::{base, fill};
use crate::mail::letter::Letter;
use crate::store::users::User;

fn notice(t: Texts, user: &User, subject: &str, body: &str, name: &str) -> Letter {
    let mut l = base(t, t.t(subject).to_string(), user.name.as_deref());
    l.paragraphs.push(fill(t.t(body), &[("name", name)]));
    l.notes.push(t.t("mail_passkeys.not_you").to_string());
    l
}

/// To the account's address: the passkey `name` was added.
pub fn added(t: Texts, user: &User, name: &str) -> Letter {
    notice(
        t,
        user,
        "mail_passkeys.added_subject",
        "mail_passkeys.added_body",
        name,
    )
}

/// To the account's address: the passkey `name` was removed.
pub fn removed(t: Texts, user: &User, name: &str) -> Letter {
    notice(
        t,
        user,
        "mail_passkeys.removed_subject",
        "mail_passkeys.removed_body",
        name,
    )
}
