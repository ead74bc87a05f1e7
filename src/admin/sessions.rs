//! A member's login sessions, for admins responding to a lost or stolen device. Sessions
//! belong to the person, not to one organisation, so an org admin sees only when they were
//! started and last used (not from where); superadmins also see address and browser.
//! Ending a session also revokes the tokens issued in it, and the person is told.

use serde::Serialize;
use serde_json::json;

use crate::admin::{AdminError, Caller, load_org, record};
use crate::mail::Notice;
use crate::orgs::permissions::Action;
use crate::state::AppState;
use crate::store;

/// A session as admins see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
pub struct SessionView {
    pub sid: String,
    pub user_id: String,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub created_at: i64,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub last_seen_at: i64,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub expires_at: i64,
    pub amr: Vec<String>,
    /// Superadmins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Superadmins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

async fn check_member(
    state: &AppState,
    caller: &Caller,
    action: Action,
    org_key: &str,
    user_id: &str,
) -> Result<store::orgs::Organisation, AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(action, &org.id, "organisation")?;
    if store::orgs::member(&state.db, &org.id, user_id)
        .await?
        .is_none()
    {
        return Err(AdminError::NotFound("no member".into()));
    }
    Ok(org)
}

/// A member's live sessions, newest first.
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    user_id: &str,
) -> Result<Vec<SessionView>, AdminError> {
    check_member(state, caller, Action::SessionList, org_key, user_id).await?;
    views(state, user_id, caller.principal.is_superadmin()).await
}

/// A person's live sessions as views; address and browser only when `full`.
async fn views(
    state: &AppState,
    user_id: &str,
    full: bool,
) -> Result<Vec<SessionView>, AdminError> {
    let rows = store::sessions::list_for_user(&state.db, user_id, state.now()).await?;
    Ok(rows
        .into_iter()
        .map(|s| SessionView {
            sid: s.sid,
            user_id: s.user_id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            amr: store::from_json_list(&s.amr),
            ip: if full { s.ip } else { None },
            user_agent: if full { s.user_agent } else { None },
        })
        .collect())
}

/// Ends a session, revokes the grants made in it, records and tells the person.
async fn end_session(
    state: &AppState,
    caller: &Caller,
    session: &store::sessions::SessionInfo,
    org: Option<&store::orgs::Organisation>,
) -> Result<(), AdminError> {
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::sessions::delete_by_sid(&mut tx, &session.sid).await?;
    store::grants::revoke_by_sid(&mut tx, &session.sid, now).await?;
    let told =
        crate::oidc::backchannel::queue(&mut tx, state, std::slice::from_ref(&session.sid)).await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.session_ended",
        org.map(|o| o.id.as_str()),
        Some(&session.user_id),
        json!({ "sid": session.sid }),
    )
    .await?;
    tx.commit().await?;
    crate::oidc::backchannel::wake(state, told);
    crate::admin::members::notify(
        state,
        &session.user_id,
        Notice::SessionEnded {
            org_name: org.map(|o| o.name.clone()),
        },
    )
    .await;
    Ok(())
}

/// Ends one of a member's sessions and revokes the grants made in it.
#[tracing::instrument(skip_all)]
pub async fn end(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    user_id: &str,
    sid: &str,
) -> Result<(), AdminError> {
    let org = check_member(state, caller, Action::SessionEnd, org_key, user_id).await?;
    let session = store::sessions::find_by_sid(&state.db, sid)
        .await?
        .filter(|s| s.user_id == user_id)
        .ok_or_else(|| AdminError::NotFound("no session".into()))?;
    end_session(state, caller, &session, Some(&org)).await
}

/// Refuses everyone but a superadmin: sessions belong to the person, not to an organisation,
/// so only installation authority reaches them without going through a membership.
fn require_superadmin(caller: &Caller) -> Result<(), AdminError> {
    use crate::orgs::permissions::Standing;
    match caller.principal.installation_standing() {
        Standing::Superadmin => Ok(()),
        Standing::Anonymous => Err(AdminError::Unauthenticated),
        _ => Err(AdminError::Forbidden(
            "only a superadmin may see or end any person's sessions".into(),
        )),
    }
}

/// A person's live sessions, newest first, whatever organisations they belong to
/// (superadmin: the operator's command line).
#[tracing::instrument(skip_all)]
pub async fn list_of_person(
    state: &AppState,
    caller: &Caller,
    user_id: &str,
) -> Result<Vec<SessionView>, AdminError> {
    require_superadmin(caller)?;
    views(state, user_id, true).await
}

/// Ends any session by its id and revokes the grants made in it (superadmin); the person is
/// told. Returns the person's id.
#[tracing::instrument(skip_all)]
pub async fn end_any(state: &AppState, caller: &Caller, sid: &str) -> Result<String, AdminError> {
    require_superadmin(caller)?;
    let session = store::sessions::find_by_sid(&state.db, sid)
        .await?
        .ok_or_else(|| AdminError::NotFound("no session".into()))?;
    end_session(state, caller, &session, None).await?;
    Ok(session.user_id)
}
