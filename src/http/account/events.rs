//! Recent security events about the person, in words: what happened and when, and from which
//! address when it was the person's own doing. Event details are never shown (they are for
//! administrators and hold ids, not words), and nothing names another person: an
//! administrator's action says only that an administrator did it.

use crate::i18n::Texts;
use crate::store::audit::Row;

use super::view::{EventItem, datetime};

/// The catalog key for an event kind (`login.success` -> `account.event.login_success`), or
/// the one for events without their own words.
fn kind_key(t: Texts, kind: &str) -> Option<String> {
    let key = format!("account.event.{}", kind.replace('.', "_"));
    (t.t(&key) != key).then_some(key)
}

/// One event as the page shows it.
pub fn item(e: &Row, t: Texts, tz: &jiff::tz::TimeZone) -> EventItem {
    let mut text = match kind_key(t, &e.kind) {
        Some(key) => t.t(&key).to_string(),
        None => t.t("account.event.other").replace("{kind}", &e.kind),
    };
    let by_other = e
        .actor_id
        .as_deref()
        .is_some_and(|a| Some(a) != e.user_id.as_deref());
    if by_other {
        text = format!("{text} {}", t.t("account.events.by_admin"));
    }
    EventItem {
        at: datetime(tz, e.at),
        text,
        ip: if by_other { None } else { e.ip.clone() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    fn row(kind: &str, actor: Option<&str>) -> Row {
        Row {
            id: "e1".into(),
            at: 0,
            kind: kind.into(),
            user_id: Some("u1".into()),
            client_id: None,
            ip: Some("203.0.113.9".into()),
            detail: "{}".into(),
            actor_id: actor.map(str::to_string),
            organisation_id: None,
        }
    }

    #[test]
    fn events_read_as_words_and_hide_administrators() {
        let t = Texts::new(Locale::En);
        let own = item(&row("login.success", None), t, &jiff::tz::TimeZone::UTC);
        assert_eq!(own.text, "Signed in");
        assert_eq!(own.ip.as_deref(), Some("203.0.113.9"));
        let admin = item(
            &row("admin.roles_changed", Some("u2")),
            t,
            &jiff::tz::TimeZone::UTC,
        );
        assert!(admin.text.contains("administrator"), "{}", admin.text);
        assert_eq!(admin.ip, None, "an administrator's address is not shown");
        let unknown = item(&row("something.new", None), t, &jiff::tz::TimeZone::UTC);
        assert!(unknown.text.contains("something.new"), "{}", unknown.text);
    }

    #[test]
    fn the_persons_own_security_events_have_words_in_both_languages() {
        let kinds = [
            "login.success",
            "login.failure",
            "login.throttled",
            "login.first_factor",
            "login.step_up",
            "logout",
            "password.changed",
            "password.reset",
            "email.changed",
            "phone.changed",
            "phone.removed",
            "passkey.added",
            "passkey.renamed",
            "passkey.removed",
            "passkey.add_refused",
            "second_factor.own_setting",
            "second_factor.reset",
            "session.ended_by_user",
            "consent.revoked",
            "profile.changed",
            "data.exported",
        ];
        for locale in [Locale::En, Locale::Sv] {
            let t = Texts::new(locale);
            for kind in kinds {
                assert!(
                    kind_key(t, kind).is_some(),
                    "{locale:?}: no words for {kind}"
                );
            }
        }
    }
}
