//! What each message says, in the recipient's language: the person's own choice
//! (`users.locale`), else the organisation's default language, else Swedish. Every word comes
//! from the catalog (`mail.*`); names and links are filled in. No message ever carries a
//! password or a code; links appear only in messages to the person the link is for.

use crate::i18n::{Locale, Texts};
use crate::mail::Notice;
use crate::mail::letter::{Action, Letter};
use crate::store::{self, Db, users::User};

/// The language of a person's messages. `org_name` is the organisation the message is about
/// (its default language is used when the person has not chosen one).
pub async fn locale_for(db: &Db, user: &User, org_name: Option<&str>) -> Locale {
    if let Some(l) = user.locale.as_deref().and_then(Locale::from_tag) {
        return l;
    }
    match org_locale(db, &user.id, org_name).await {
        Ok(Some(l)) => l,
        Ok(None) => Locale::Sv,
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "looking up the organisation's language failed");
            Locale::Sv
        }
    }
}

/// The default language of the named organisation among the person's memberships, else of
/// their first organisation.
async fn org_locale(
    db: &Db,
    user_id: &str,
    org_name: Option<&str>,
) -> Result<Option<Locale>, sqlx::Error> {
    let memberships = store::orgs::memberships_of(db, user_id).await?;
    let chosen = org_name
        .and_then(|n| memberships.iter().find(|m| m.name == n))
        .or(memberships.first());
    let Some(m) = chosen else {
        return Ok(None);
    };
    Ok(store::orgs::find_by_id_or_slug(db, &m.organisation_id)
        .await?
        .and_then(|o| Locale::from_tag(&o.default_locale)))
}

/// `text` with each `{name}` replaced.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_string(), |acc, (k, v)| {
        acc.replace(&format!("{{{k}}}"), v)
    })
}

/// "30 minutes", "24 timmar".
pub fn duration(t: Texts, seconds: i64) -> String {
    if seconds >= 3600 && seconds % 3600 == 0 {
        let n = seconds / 3600;
        return match n {
            1 => t.t("mail.duration_hour").to_string(),
            n => fill(t.t("mail.duration_hours"), &[("n", &n.to_string())]),
        };
    }
    let n = (seconds + 59) / 60;
    match n {
        1 => t.t("mail.duration_minute").to_string(),
        n => fill(t.t("mail.duration_minutes"), &[("n", &n.to_string())]),
    }
}

/// A letter with the greeting and footer; the caller adds the rest.
pub(crate) fn base(t: Texts, subject: String, name: Option<&str>) -> Letter {
    let greeting = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => fill(t.t("mail.greeting"), &[("name", name)]),
        None => t.t("mail.greeting_plain").to_string(),
    };
    Letter {
        lang: t.lang(),
        product: t.t("common.product"),
        subject,
        greeting,
        paragraphs: Vec::new(),
        action: None,
        notes: Vec::new(),
        footer: t.t("mail.footer").to_string(),
    }
}

/// "If you did not expect this, contact <org>" (or the organisation's administrators).
fn unexpected(t: Texts, org: Option<&str>) -> String {
    match org {
        Some(org) => fill(t.t("mail.unexpected_org"), &[("org", org)]),
        None => t.t("mail.unexpected").to_string(),
    }
}

fn role_list(t: Texts, roles: &[String]) -> String {
    if roles.is_empty() {
        t.t("mail.roles_none").to_string()
    } else {
        roles.join(", ")
    }
}

/// The message telling a person what an administrator did.
pub fn notice(t: Texts, user: &User, notice: &Notice) -> Letter {
    let (subject, body, org) = match notice {
        Notice::RolesChanged { org_name, roles } => (
            fill(t.t("mail.roles_changed_subject"), &[("org", org_name)]),
            fill(
                t.t("mail.roles_changed_body"),
                &[("org", org_name), ("roles", &role_list(t, roles))],
            ),
            Some(org_name.as_str()),
        ),
        Notice::Removed { org_name } => (
            fill(t.t("mail.removed_subject"), &[("org", org_name)]),
            fill(t.t("mail.removed_body"), &[("org", org_name)]),
            Some(org_name.as_str()),
        ),
        Notice::Joined { org_name, roles } => (
            fill(t.t("mail.joined_subject"), &[("org", org_name)]),
            fill(
                t.t("mail.joined_body"),
                &[("org", org_name), ("roles", &role_list(t, roles))],
            ),
            Some(org_name.as_str()),
        ),
        Notice::PasswordSet => (
            t.t("mail.password_set_subject").to_string(),
            t.t("mail.password_set_body").to_string(),
            None,
        ),
        Notice::Superadmin { granted } => {
            let (subject, body) = if *granted {
                (
                    "mail.superadmin_granted_subject",
                    "mail.superadmin_granted_body",
                )
            } else {
                (
                    "mail.superadmin_revoked_subject",
                    "mail.superadmin_revoked_body",
                )
            };
            (t.t(subject).to_string(), t.t(body).to_string(), None)
        }
        Notice::SessionEnded { org_name } => (
            t.t("mail.session_ended_subject").to_string(),
            match org_name {
                Some(org) => fill(t.t("mail.session_ended_body_org"), &[("org", org)]),
                None => t.t("mail.session_ended_body").to_string(),
            },
            org_name.as_deref(),
        ),
    };
    let mut l = base(t, subject, user.name.as_deref());
    l.paragraphs.push(body);
    l.notes.push(unexpected(t, org));
    l
}

/// An invitation to join `org_name` through `link`, valid for `ttl` seconds.
pub fn invitation(t: Texts, org_name: &str, link: &str, ttl: i64) -> Letter {
    let mut l = base(
        t,
        fill(t.t("mail.invitation_subject"), &[("org", org_name)]),
        None,
    );
    l.paragraphs
        .push(fill(t.t("mail.invitation_body"), &[("org", org_name)]));
    l.action = Some(Action {
        label: t.t("mail.invitation_action").to_string(),
        url: link.to_string(),
    });
    l.notes.push(fill(
        t.t("mail.link_once"),
        &[("duration", &duration(t, ttl))],
    ));
    l.notes.push(t.t("mail.invitation_ignore").to_string());
    l
}

/// A password-reset link for `user`, sent at an administrator's request (of `org_name`).
pub fn reset(t: Texts, user: &User, org_name: Option<&str>, link: &str, ttl: i64) -> Letter {
    let mut l = base(
        t,
        t.t("mail.reset_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(match org_name {
        Some(org) => fill(t.t("mail.reset_body_org"), &[("org", org)]),
        None => t.t("mail.reset_body").to_string(),
    });
    l.action = Some(Action {
        label: t.t("mail.reset_action").to_string(),
        url: link.to_string(),
    });
    l.notes.push(fill(
        t.t("mail.link_once"),
        &[("duration", &duration(t, ttl))],
    ));
    l.notes.push(t.t("mail.reset_keeps").to_string());
    l.notes.push(unexpected(t, org_name));
    l
}

/// The notice after a password change; `everywhere` when every session ended (a reset),
/// else the other sessions only (a change by the person).
pub fn password_changed(t: Texts, user: &User, everywhere: bool) -> Letter {
    let mut l = base(
        t,
        t.t("mail.password_changed_subject").to_string(),
        user.name.as_deref(),
    );
    l.paragraphs.push(
        t.t(if everywhere {
            "mail.password_changed_body"
        } else {
            "mail.password_changed_body_others"
        })
        .to_string(),
    );
    l.notes
        .push(t.t("mail.password_changed_unexpected").to_string());
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let en = Texts::new(Locale::En);
        let sv = Texts::new(Locale::Sv);
        assert_eq!(duration(en, 1800), "30 minutes");
        assert_eq!(duration(sv, 1800), "30 minuter");
        assert_eq!(duration(en, 3600), "1 hour");
        assert_eq!(duration(sv, 86400), "24 timmar");
        assert_eq!(duration(sv, 60), "1 minut");
        assert_eq!(duration(en, 90), "2 minutes");
    }

    #[test]
    fn notices_name_the_organisation_and_carry_no_link() {
        let user = User {
            id: "u".into(),
            email: "anna@example.org".into(),
            email_verified: 0,
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
        };
        let sv = Texts::new(Locale::Sv);
        let l = notice(
            sv,
            &user,
            &Notice::RolesChanged {
                org_name: "IFK Göteborg".into(),
                roles: vec!["coach".into()],
            },
        );
        assert!(l.subject.contains("IFK Göteborg"));
        assert!(l.paragraphs[0].contains("coach"));
        assert!(l.notes.iter().any(|n| n.contains("IFK Göteborg")));
        assert!(l.action.is_none());
        assert_eq!(l.greeting, "Hej Anna!");
    }
}
