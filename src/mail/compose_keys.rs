//! What the messages with a login or recovery key say (in the person's language): the link,
//! the code for typing into the same browser instead, how long they work, and what to do
//! when the person did not ask. A key goes only to the person it is for.

use crate::auth::keys::secret::spaced;
use crate::i18n::Texts;
use crate::mail::compose::{base, duration, fill};
use crate::mail::letter::{Action, Letter};
use crate::store::users::User;

/// A login link and code, valid `ttl` seconds, only in the browser that asked.
pub fn login_link(t: Texts, user: &User, link: &str, code: &str, ttl: i64) -> Letter {
    let mut l = base(
        t,
        t.t("mail_keys.login_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(t.t("mail_keys.login_body").to_string());
    l.action = Some(Action {
        label: t.t("mail_keys.login_action").to_string(),
        url: link.to_string(),
    });
    l.paragraphs.push(fill(
        t.t("mail_keys.code_instead"),
        &[("code", &spaced(code))],
    ));
    l.notes.push(fill(
        t.t("mail_keys.valid_here"),
        &[("duration", &duration(t, ttl))],
    ));
    l.notes.push(t.t("mail_keys.not_you").to_string());
    l
}

/// A recovery link and code the person asked for, valid `ttl` seconds.
pub fn self_reset(t: Texts, user: &User, link: &str, code: &str, ttl: i64) -> Letter {
    let mut l = base(
        t,
        t.t("mail.reset_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(t.t("mail_keys.reset_body").to_string());
    l.action = Some(Action {
        label: t.t("mail.reset_action").to_string(),
        url: link.to_string(),
    });
    l.paragraphs.push(fill(
        t.t("mail_keys.code_instead"),
        &[("code", &spaced(code))],
    ));
    l.notes.push(fill(
        t.t("mail_keys.valid_here"),
        &[("duration", &duration(t, ttl))],
    ));
    l.notes.push(t.t("mail.reset_keeps").to_string());
    l.notes.push(t.t("mail_keys.not_you").to_string());
    l
}
