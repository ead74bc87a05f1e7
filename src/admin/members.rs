//! Members of an organisation as its admins see them: only what the organisation needs
//! (name, email, phone, roles here). Admins change roles, remove members and send reset
//! keys; they never change a person's email, phone, password or passkeys, which the person
//! shares with their other organisations. Every action is notified to the person.

use serde::Serialize;
use serde_json::json;

use crate::admin::cursor;
use crate::admin::principal::ADMIN_ROLE;
use crate::admin::{AdminError, Caller, load_org, record};
use crate::auth::password::Password;
use crate::mail::{self, Notice};
use crate::orgs::permissions::Action;
use crate::paging::{self as page, Page};
use crate::state::AppState;
use crate::store::{self, from_json_list, orgs::MemberRow, orgs::Organisation};
use crate::webhooks::events::{self, Event};

/// A member as the organisation sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Member)]
pub struct MemberView {
    pub user_id: String,
    #[schema(required = true)]
    pub name: Option<String>,
    pub email: String,
    #[schema(required = true)]
    pub phone: Option<String>,
    pub roles: Vec<String>,
    /// When they joined this organisation.
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub since: i64,
    /// Who invited them (a person's id or `client:<id>`), if recorded.
    #[schema(required = true)]
    pub invited_by: Option<String>,
}

impl From<MemberRow> for MemberView {
    fn from(m: MemberRow) -> Self {
        MemberView {
            user_id: m.user_id,
            name: m.name,
            email: m.email,
            phone: m.phone,
            roles: from_json_list(&m.roles),
            since: m.since,
            invited_by: m.invited_by,
        }
    }
}

/// Members by email, optionally those whose name or email contains `search`.
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    search: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<MemberView>, AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(Action::MemberList, &org.id, "organisation")?;
    let limit = page::limit(limit);
    let after = cursor::key(cursor, 2)?;
    let search = search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(page::like_pattern);
    let rows = store::orgs::members(
        &state.db,
        &org.id,
        search.as_deref(),
        after.as_ref().map(|a| (a[0].as_str(), a[1].as_str())),
        limit,
    )
    .await?;
    let page = page::finish(rows, limit, |m| {
        page::encode_cursor(&[&m.email_normalized, &m.user_id])
    });
    Ok(Page {
        items: page.items.into_iter().map(MemberView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Loads the organisation, checks `action`, and loads the member (404 when not a member).
async fn load(
    state: &AppState,
    caller: &Caller,
    action: Action,
    org_key: &str,
    user_id: &str,
) -> Result<(Organisation, MemberRow), AdminError> {
    let org = load_org(state, org_key).await?;
    caller.check(action, &org.id, "organisation")?;
    let member = store::orgs::member(&state.db, &org.id, user_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no member".into()))?;
    Ok((org, member))
}

/// One member.
#[tracing::instrument(skip_all)]
pub async fn get(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    user_id: &str,
) -> Result<MemberView, AdminError> {
    let (_, m) = load(state, caller, Action::MemberRead, org_key, user_id).await?;
    Ok(m.into())
}

/// Checks that every role is on the organisation's list; returns them sorted, deduplicated.
pub(crate) async fn check_roles(
    state: &AppState,
    org_id: &str,
    roles: &[String],
) -> Result<Vec<String>, AdminError> {
    let known = store::orgs::roles(&state.db, org_id).await?;
    let mut out: Vec<String> = Vec::new();
    for r in roles {
        let r = r.trim();
        if !known.iter().any(|k| k.name == r) {
            return Err(AdminError::Invalid(format!(
                "{r:?} is not a role of this organisation"
            )));
        }
        if !out.iter().any(|o| o == r) {
            out.push(r.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// Refuses to leave an organisation without an admin, unless a superadmin does it.
pub(crate) async fn keep_an_admin(
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    roles: &[String],
) -> Result<(), AdminError> {
    let was_admin = roles.iter().any(|r| r == ADMIN_ROLE);
    if was_admin
        && !caller.principal.is_superadmin()
        && store::orgs::count_admins(&state.db, org_id).await? <= 1
    {
        return Err(AdminError::Conflict(
            "this is the organisation's last admin; make someone else admin first".into(),
        ));
    }
    Ok(())
}

/// Replaces a member's roles. Takes effect at the member's next token refresh.
#[tracing::instrument(skip_all)]
pub async fn set_roles(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    user_id: &str,
    roles: &[String],
) -> Result<MemberView, AdminError> {
    let (org, member) = load(state, caller, Action::MemberUpdateRoles, org_key, user_id).await?;
    let roles = check_roles(state, &org.id, roles).await?;
    let before = from_json_list(&member.roles);
    if !roles.iter().any(|r| r == ADMIN_ROLE) {
        keep_an_admin(state, caller, &org.id, &before).await?;
    }
    let mut tx = state.db.begin().await?;
    let told = set_roles_in(&mut tx, state, caller, &org.id, user_id, &before, &roles).await?;
    tx.commit().await?;
    events::wake(state, told);
    notify(
        state,
        user_id,
        Notice::RolesChanged {
            org_name: org.name.clone(),
            roles: roles.clone(),
        },
    )
    .await;
    let m = store::orgs::member(&state.db, &org.id, user_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no member".into()))?;
    Ok(m.into())
}

/// Removes a member. Their refresh tokens for this organisation stop working at once (the
/// token endpoint checks the membership on every refresh).
#[tracing::instrument(skip_all)]
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    user_id: &str,
) -> Result<(), AdminError> {
    let (org, member) = load(state, caller, Action::MemberRemove, org_key, user_id).await?;
    keep_an_admin(state, caller, &org.id, &from_json_list(&member.roles)).await?;
    let mut tx = state.db.begin().await?;
    let roles = from_json_list(&member.roles);
    let told = remove_in(&mut tx, state, caller, &org.id, user_id, &roles).await?;
    // The platform's provisioning record of the membership ends with it (SCIM answers 404).
    store::scim::forget_member(&mut tx, &org.id, user_id).await?;
    tx.commit().await?;
    events::wake(state, told);
    notify(
        state,
        user_id,
        Notice::Removed {
            org_name: org.name.clone(),
        },
    )
    .await;
    Ok(())
}

/// The roles change of [`set_roles`] inside `tx` (also SCIM's): the new roles, the
/// `member.roles_changed` webhook and the audit event. Returns the webhook messages queued
/// (for [`events::wake`] after the commit). The caller checked the roles and the last admin.
pub(crate) async fn set_roles_in(
    tx: &mut store::Tx<'_>,
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    user_id: &str,
    before: &[String],
    roles: &[String],
) -> Result<usize, AdminError> {
    let now = state.now();
    store::orgs::set_roles(&mut *tx, org_id, user_id, roles, now).await?;
    let event = Event::RolesChanged {
        org_id,
        user_id,
        previous: before,
    };
    let told = events::emit(tx, state, event).await?;
    record(
        tx,
        caller,
        now,
        "admin.roles_changed",
        Some(org_id),
        Some(user_id),
        json!({ "before": before, "after": roles }),
    )
    .await?;
    Ok(told)
}

/// The removal of [`remove`] inside `tx` (also SCIM's suspension): the `member.removed`
/// webhook (showing the member as they were), the membership and the audit event. Returns
/// the webhook messages queued. The caller checked the last admin.
pub(crate) async fn remove_in(
    tx: &mut store::Tx<'_>,
    state: &AppState,
    caller: &Caller,
    org_id: &str,
    user_id: &str,
    roles: &[String],
) -> Result<usize, AdminError> {
    let event = Event::MemberRemoved { org_id, user_id };
    let told = events::emit(tx, state, event).await?;
    store::orgs::remove_member(&mut *tx, org_id, user_id).await?;
    record(
        tx,
        caller,
        state.now(),
        "admin.member_removed",
        Some(org_id),
        Some(user_id),
        json!({ "roles": roles }),
    )
    .await?;
    Ok(told)
}

/// Seconds between two reset keys an admin sends to one person.
pub const RESET_COOLDOWN: i64 = 60;
/// At most this many admin-sent reset keys per person per [`RESET_WINDOW`].
pub const RESETS_PER_WINDOW: i64 = 5;
/// See [`RESETS_PER_WINDOW`].
pub const RESET_WINDOW: i64 = 24 * 3600;

/// Sends the member a password-reset key. The key goes to the member only; nothing about
/// it is returned to the caller.
#[tracing::instrument(skip_all)]
pub async fn send_reset(
    state: &AppState,
    caller: &Caller,
    org_key: &str,
    user_id: &str,
) -> Result<(), AdminError> {
    let (org, _) = load(state, caller, Action::MemberSendReset, org_key, user_id).await?;
    let user = store::users::find(&state.db, user_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no member".into()))?;
    // Admins of all the person's organisations together may not flood their mailbox.
    let now = state.now();
    let recent = store::audit::list(
        &state.db,
        &store::audit::Filter {
            user_id: Some(user_id),
            kind: Some("admin.reset_sent"),
            since: Some(now - RESET_WINDOW),
            ..Default::default()
        },
        None,
        RESETS_PER_WINDOW,
    )
    .await?;
    if recent.iter().any(|e| e.at > now - RESET_COOLDOWN)
        || recent.len() as i64 >= RESETS_PER_WINDOW
    {
        return Err(AdminError::Conflict(
            "a reset key was sent to this person very recently; wait before sending another".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    crate::auth::reset::send_reset_key_in(&mut tx, state, &user, Some(&org.name)).await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.reset_sent",
        Some(&org.id),
        Some(user_id),
        json!({ "channel": "email" }),
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
}

/// Sets a person's password (superadmin, and only when `[admin] allow_set_password`). The
/// person must change it at their next login; all their sessions and grants end.
#[tracing::instrument(skip_all)]
pub async fn set_password(
    state: &AppState,
    caller: &Caller,
    user_id: &str,
    password: Password,
) -> Result<(), AdminError> {
    caller.check_installation(Action::PersonSetPassword)?;
    if !state.config.admin.allow_set_password {
        return Err(AdminError::Forbidden(
            "this installation does not let administrators set passwords ([admin] allow_set_password); send a reset key instead".into(),
        ));
    }
    let user = store::users::find(&state.db, user_id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no person".into()))?;
    crate::auth::change::check_policy(
        state,
        &user.email,
        user.name.as_deref(),
        Some(user_id),
        &password,
    )
    .await?
    .map_err(|e| AdminError::Invalid(e.to_string()))?;
    let hash = state.hasher.hash(&password).await?;
    let now = state.now();
    // The person's own sessions end and their tokens die; they must choose a new password
    // at their next login.
    let mut tx = state.db.begin().await?;
    let ended = crate::auth::change::install(&mut tx, state, (user_id, &hash), None, now).await?;
    store::users::set_password(&mut tx, user_id, &hash, true, now).await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.password_set",
        None,
        Some(user_id),
        json!({ "must_change": true }),
    )
    .await?;
    tx.commit().await?;
    ended.wake(state);
    notify(state, user_id, Notice::PasswordSet).await;
    Ok(())
}

/// Notifies the person; a failure to queue the message is logged, not fatal (the action
/// is done and audited).
pub(crate) async fn notify(state: &AppState, user_id: &str, notice: Notice) {
    let user = match store::users::find(&state.db, user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %crate::error::Chain(&e), "loading a person to notify failed");
            return;
        }
    };
    if let Err(e) = mail::notify(state, &user, notice).await {
        tracing::error!(error = %crate::error::Chain(&e), user = %user_id, "queueing a notification failed");
    }
}
