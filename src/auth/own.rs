//! What a signed-in person does to their own account from the account page (`/account`):
//! change their profile (name, preferred language), end their other sessions, and withdraw
//! consent from an app. No axum types. Every call acts on the session's own person only (an
//! id belonging to someone else finds nothing and changes nothing), and every change is
//! recorded in the audit log as the person's own action.
//!
//! Ending a session revokes the grants made in it, as logout does (its refresh and access
//! tokens stop working). Withdrawing consent revokes every grant the person gave that client,
//! whichever session it was made in, in the same transaction as the consent row goes. Each
//! change and its audit event are one transaction.

use std::net::IpAddr;

use serde_json::json;

use crate::auth::session::Session;
use crate::error::Result;
use crate::i18n::Locale;
use crate::state::AppState;
use crate::store;

/// What the account page shows of the person's own account.
#[derive(Debug)]
pub struct Overview {
    /// The live sessions: the current one, and others not idle for longer than the idle
    /// timeout (such a session is over, even before the cleanup deletes it).
    pub sessions: Vec<store::sessions::SessionInfo>,
    /// The apps the person has consented to.
    pub apps: Vec<store::consents::ConsentView>,
    /// The organisations the person belongs to, with their roles.
    pub orgs: Vec<store::orgs::Membership>,
    /// The newest security events of the account, at most `events` of them.
    pub events: Vec<store::audit::Row>,
}

/// A signed-in person's account, by the id their session names (`None`: it was deleted since
/// the session began).
#[tracing::instrument(skip_all)]
pub async fn account(
    state: &AppState,
    user_id: &str,
) -> std::result::Result<Option<store::users::User>, sqlx::Error> {
    store::users::find(&state.db, user_id).await
}

/// Reads what the account page shows, for the session's own person only.
#[tracing::instrument(skip_all)]
pub async fn overview(
    state: &AppState,
    session: &Session,
    events: i64,
) -> std::result::Result<Overview, sqlx::Error> {
    let now = state.now();
    let idle = state.config.session.idle_timeout;
    let user_id = &session.user_id;
    let mut sessions = store::sessions::list_for_user(&state.db, user_id, now).await?;
    sessions.retain(|s| s.sid == session.sid || s.last_seen_at + idle > now);
    Ok(Overview {
        sessions,
        apps: store::consents::list_for_user(&state.db, user_id).await?,
        orgs: store::orgs::memberships_of(&state.db, user_id).await?,
        events: store::audit::recent_for_user(&state.db, user_id, events).await?,
    })
}

/// The longest display name accepted, in characters.
pub const MAX_NAME: usize = 100;

/// A profile as the person asked for it, already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The display name; `None` removes it.
    pub name: Option<String>,
    /// The preferred language; `None`: follow the browser.
    pub locale: Option<Locale>,
}

/// Why a profile was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileError {
    /// Longer than [`MAX_NAME`] characters.
    NameTooLong,
    /// Holds control characters (line breaks, tabs, ...).
    NameInvalid,
    /// Not one of the languages offered (`sv`, `en`, or empty for the browser's).
    UnknownLanguage,
}

impl Profile {
    /// Checks the two posted fields. Surrounding spaces are dropped, runs of inner spaces
    /// become one; an empty name removes the name.
    pub fn parse(name: &str, language: &str) -> std::result::Result<Profile, ProfileError> {
        let locale = match language.trim() {
            "" => None,
            "sv" => Some(Locale::Sv),
            "en" => Some(Locale::En),
            _ => return Err(ProfileError::UnknownLanguage),
        };
        if name.chars().any(char::is_control) {
            return Err(ProfileError::NameInvalid);
        }
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.chars().count() > MAX_NAME {
            return Err(ProfileError::NameTooLong);
        }
        Ok(Profile {
            name: (!name.is_empty()).then_some(name),
            locale,
        })
    }
}

/// Stores the person's profile; records `profile.changed` (with the names of the fields that
/// changed, not their values) when something changed. Returns whether anything changed.
#[tracing::instrument(skip_all)]
pub async fn change_profile(
    state: &AppState,
    session: &Session,
    profile: &Profile,
    ip: IpAddr,
) -> Result<bool> {
    let Some(user) = store::users::find(&state.db, &session.user_id).await? else {
        return Ok(false);
    };
    let locale = profile.locale.map(Locale::tag);
    let mut fields = Vec::new();
    if user.name.as_deref() != profile.name.as_deref() {
        fields.push("name");
    }
    if user.locale.as_deref() != locale {
        fields.push("locale");
    }
    if fields.is_empty() {
        return Ok(false);
    }
    let mut tx = state.db.begin().await?;
    store::users::set_profile(
        &mut tx,
        &user.id,
        profile.name.as_deref(),
        locale,
        state.now(),
    )
    .await?;
    super::audit_person_in(
        &mut tx,
        state,
        "profile.changed",
        &user.id,
        &ip.to_string(),
        json!({ "fields": fields }),
    )
    .await?;
    let mut told = 0;
    if fields.contains(&"name") {
        let event = crate::webhooks::events::Event::PersonUpdated {
            user_id: &user.id,
            changed: &["name"],
        };
        told = crate::webhooks::events::emit(&mut tx, state, event).await?;
    }
    tx.commit().await?;
    crate::webhooks::events::wake(state, told);
    Ok(true)
}

/// What asking to end one session did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The session ended and the grants made in it were revoked.
    Ended,
    /// No live session of this person has that id (someone else's, or gone already).
    NotFound,
    /// It is the session asking: that is signing out, which has its own button.
    Current,
}

/// Ends one of the person's other sessions and revokes the grants made in it.
#[tracing::instrument(skip_all)]
pub async fn end_session(
    state: &AppState,
    session: &Session,
    sid: &str,
    ip: IpAddr,
) -> Result<Ended> {
    if sid == session.sid {
        return Ok(Ended::Current);
    }
    let own = store::sessions::find_by_sid(&state.db, sid)
        .await?
        .is_some_and(|s| s.user_id == session.user_id);
    if !own {
        return Ok(Ended::NotFound);
    }
    // The grants, the session and the audit event: one transaction.
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let revoked = store::grants::revoke_by_sid(&mut tx, sid, now).await?;
    if !store::sessions::delete_own(&mut tx, &session.user_id, sid).await? {
        // Ended meanwhile (signed out, or ended from another browser).
        return Ok(Ended::NotFound);
    }
    let sids = [sid.to_string()];
    let told = crate::oidc::backchannel::queue(&mut tx, state, &sids).await?;
    super::audit_person_in(
        &mut tx,
        state,
        "session.ended_by_user",
        &session.user_id,
        &ip.to_string(),
        json!({ "sids": sids, "grants_revoked": revoked }),
    )
    .await?;
    tx.commit().await?;
    crate::oidc::backchannel::wake(state, told);
    Ok(Ended::Ended)
}

/// Ends every session of the person except the one asking, and revokes the grants made in
/// them. Returns how many ended.
#[tracing::instrument(skip_all)]
pub async fn end_other_sessions(state: &AppState, session: &Session, ip: IpAddr) -> Result<usize> {
    let now = state.now();
    // The sessions, the grants made in them and the audit event: one transaction.
    let mut tx = state.db.begin().await?;
    let sids =
        store::sessions::delete_for_user(&mut tx, &session.user_id, Some(&session.id_hash)).await?;
    if sids.is_empty() {
        return Ok(0);
    }
    let mut revoked = 0;
    for sid in &sids {
        revoked += store::grants::revoke_by_sid(&mut tx, sid, now).await?;
    }
    let told = crate::oidc::backchannel::queue(&mut tx, state, &sids).await?;
    super::audit_person_in(
        &mut tx,
        state,
        "session.ended_by_user",
        &session.user_id,
        &ip.to_string(),
        json!({ "sids": sids, "grants_revoked": revoked }),
    )
    .await?;
    tx.commit().await?;
    crate::oidc::backchannel::wake(state, told);
    Ok(sids.len())
}

/// Withdraws the person's consent to `client_id` and revokes every grant they gave it (its
/// refresh and access tokens stop working) and records `consent.revoked`, in one transaction.
/// Returns `false` (nothing changed) when the person had not consented to that client.
#[tracing::instrument(skip_all)]
pub async fn revoke_app(
    state: &AppState,
    session: &Session,
    client_id: &str,
    ip: IpAddr,
) -> Result<bool> {
    let now = state.now();
    let mut tx = state.db.begin().await?;
    if !store::consents::delete_in(&mut tx, &session.user_id, client_id).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    let revoked =
        store::grants::revoke_for_client_in(&mut tx, &session.user_id, client_id, now).await?;
    let ip = ip.to_string();
    store::audit::append(
        &mut tx,
        &store::audit::Event {
            kind: "consent.revoked",
            user_id: Some(&session.user_id),
            client_id: Some(client_id),
            ip: Some(&ip),
            detail: json!({ "grants_revoked": revoked }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_checked_and_tidied() {
        assert_eq!(
            Profile::parse("  Astrid   Lindqvist ", "sv"),
            Ok(Profile {
                name: Some("Astrid Lindqvist".into()),
                locale: Some(Locale::Sv)
            })
        );
        assert_eq!(
            Profile::parse("", ""),
            Ok(Profile {
                name: None,
                locale: None
            })
        );
        assert_eq!(
            Profile::parse("Åsa", "en").map(|p| p.locale),
            Ok(Some(Locale::En))
        );
        assert_eq!(
            Profile::parse("Åsa", "de"),
            Err(ProfileError::UnknownLanguage)
        );
        assert_eq!(
            Profile::parse("Åsa", "sv-SE"),
            Err(ProfileError::UnknownLanguage)
        );
        assert_eq!(
            Profile::parse("Åsa\nEk", "sv"),
            Err(ProfileError::NameInvalid)
        );
        assert_eq!(
            Profile::parse(&"ö".repeat(MAX_NAME), "sv").map(|p| p.name.map(|n| n.chars().count())),
            Ok(Some(MAX_NAME))
        );
        assert_eq!(
            Profile::parse(&"ö".repeat(MAX_NAME + 1), "sv"),
            Err(ProfileError::NameTooLong)
        );
    }
}
