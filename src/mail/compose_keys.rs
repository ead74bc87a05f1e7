//! What the messages with a login or recovery key say (in the person's language): the link,
//! the code for typing into the same browser instead, how long they work, and what to do
//! when the person did not ask. A key goes only to the person it is for.

use crate::auth::keys::secret::spaced;
use crate::i18n::Texts;
use crate::mail::compose::{base, duration, fill};
use crate::mail::letter::{Action, Letter};
use crate::store::users::User;

/// The catalog keys of a message that carries a key: subject, body, action label, the
/// "or type this code" line, the validity note, and the closing notes.
pub(crate) struct KeyWords {
    pub subject: &'static str,
    pub body: &'static str,
    pub action: &'static str,
    pub code_instead: &'static str,
    pub valid: &'static str,
    pub notes: &'static [&'static str],
}

/// A message with a link and the same key as a code, valid `ttl` seconds.
pub(crate) fn key_letter(
    t: Texts,
    user: &User,
    words: &KeyWords,
    (link, code): (&str, &str),
    ttl: i64,
) -> Letter {
    let mut l = base(t, t.t(words.subject).to_string(), user.name.as_deref());
    l.paragraphs.push(t.t(words.body).to_string());
    l.action = Some(Action {
        label: t.t(words.action).to_string(),
        url: link.to_string(),
    });
    l.paragraphs
        .push(fill(t.t(words.code_instead), &[("code", &spaced(code))]));
    l.notes
        .push(fill(t.t(words.valid), &[("duration", &duration(t, ttl))]));
    l.notes
        .extend(words.notes.iter().map(|k| t.t(k).to_string()));
    l
}

/// A login link and code, valid `ttl` seconds, only in the browser that asked.
pub fn login_link(t: Texts, user: &User, link: &str, code: &str, ttl: i64) -> Letter {
    let words = KeyWords {
        subject: "mail_keys.login_subject",
        body: "mail_keys.login_body",
        action: "mail_keys.login_action",
        code_instead: "mail_keys.code_instead",
        valid: "mail_keys.valid_here",
        notes: &["mail_keys.not_you"],
    };
    key_letter(t, user, &words, (link, code), ttl)
}

/// A recovery link and code the person asked for, valid `ttl` seconds.
pub fn self_reset(t: Texts, user: &User, link: &str, code: &str, ttl: i64) -> Letter {
    let words = KeyWords {
        subject: "mail.reset_subject",
        body: "mail_keys.reset_body",
        action: "mail.reset_action",
        code_instead: "mail_keys.code_instead",
        valid: "mail_keys.valid_here",
        notes: &["mail.reset_keeps", "mail_keys.not_you"],
    };
    key_letter(t, user, &words, (link, code), ttl)
}
