//! A person's own new password, however they came to choose it: with a reset key, with the
//! setup link, or at the forced change after an administrator set one. The same policy
//! applies everywhere ([`check_policy`]), and [`install`] does what every new password
//! implies: the hash is stored, the must-change flag cleared, sessions ended and the grants
//! made in them revoked (their refresh tokens stop working).
//!
//! [`change_own`] is the forced change at `/password/change`: the current password is
//! verified first (a wrong one counts as a failed login for the account), then the new one.

use std::net::IpAddr;

use serde_json::json;

use crate::auth::password::{Password, Verdict};
use crate::auth::policy::{PasswordPolicy, PolicyContext, PolicyError};
use crate::auth::session::Session;
use crate::auth::throttle::{self, Decision};
use crate::clock::UnixTime;
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, Conn, Tx, audit::Event, throttle::Counter};

/// The configured password policy.
pub fn policy(state: &AppState) -> PasswordPolicy {
    PasswordPolicy::from_config(&state.config.password)
}

/// Checks a new password against the policy, with the person's email, name and (for an
/// existing account) the names of their organisations as context words.
#[tracing::instrument(skip_all)]
pub async fn check_policy(
    state: &AppState,
    email: &str,
    name: Option<&str>,
    user_id: Option<&str>,
    password: &Password,
) -> Result<Result<(), PolicyError>> {
    let orgs: Vec<String> = match user_id {
        Some(id) => store::orgs::memberships_of(&state.db, id)
            .await?
            .into_iter()
            .map(|m| m.name)
            .collect(),
        None => Vec::new(),
    };
    let ctx = PolicyContext {
        email: Some(email),
        name,
        extra: &orgs,
    };
    Ok(policy(state).check(password.expose(), &ctx))
}

/// What installing a password ended.
#[derive(Debug, Clone, Copy)]
#[must_use = "wake the delivery loop after the commit"]
pub struct Ended {
    /// Sessions ended.
    pub sessions: usize,
    /// Logout tokens queued for the apps of those sessions.
    told: usize,
}

impl Ended {
    /// Wakes the delivery loop for the queued logout tokens (after the commit).
    pub fn wake(self, state: &AppState) {
        crate::oidc::backchannel::wake(state, self.told);
    }
}

/// Stores a new password hash chosen by the person (clearing must-change), ends their
/// sessions except `keep`, revokes the grants made in them and queues logout tokens for the
/// apps of those sessions, inside `tx` (the caller records the change in the same
/// transaction, then calls [`Ended::wake`]).
#[tracing::instrument(skip_all)]
pub async fn install(
    tx: &mut Tx<'_>,
    state: &AppState,
    (user_id, hash): (&str, &str),
    keep: Option<&Session>,
    now: UnixTime,
) -> Result<Ended> {
    store::users::set_password(&mut *tx, user_id, hash, false, now).await?;
    let ended =
        store::sessions::delete_for_user(&mut *tx, user_id, keep.map(|s| s.id_hash.as_str()))
            .await?;
    store::grants::revoke_for_user(&mut *tx, user_id, keep.map(|s| s.sid.as_str()), now).await?;
    let told = crate::oidc::backchannel::queue(tx, state, &ended).await?;
    Ok(Ended {
        sessions: ended.len(),
        told,
    })
}

/// The outcome of a password change by the person.
#[derive(Debug)]
pub enum ChangeOutcome {
    /// Changed; other sessions ended.
    Changed,
    /// The current password was wrong (counted as a failed login).
    WrongCurrent,
    /// Too many failures recently; nothing was checked.
    Throttled { retry_after: i64 },
    /// The new password is the current one.
    Unchanged,
    /// The new password breaks the policy.
    Refused(PolicyError),
}

/// Changes the password of the person logged in with `session` from `current` to `new`.
#[tracing::instrument(skip_all)]
pub async fn change_own(
    state: &AppState,
    session: &Session,
    current: &Password,
    new: &Password,
    ip: IpAddr,
) -> Result<ChangeOutcome> {
    let now = state.now();
    let Some(user) = store::users::find(&state.db, &session.user_id).await? else {
        return Ok(ChangeOutcome::WrongCurrent);
    };
    let account_key = throttle::account_key(&user.email);
    let counter = store::throttle::get(&state.db, &account_key).await?;
    if let Decision::Throttled { retry_after } =
        throttle::decide(counter, Counter::default(), &state.config.throttle, now)
    {
        return Ok(ChangeOutcome::Throttled { retry_after });
    }
    let too_long = current.expose().len() > state.config.password.max_length.saturating_mul(4);
    let verdict = if too_long {
        Verdict::Mismatch
    } else {
        state
            .hasher
            .verify(current, user.password_hash.as_deref())
            .await?
    };
    if verdict == Verdict::Mismatch {
        let failures = store::throttle::record_failure(
            &state.db,
            &account_key,
            now,
            state.config.throttle.hard_stop_window,
        )
        .await?;
        audit(
            &state.db,
            state,
            "password.change_failed",
            &user.id,
            ip,
            json!({ "account_failures": failures }),
        )
        .await?;
        return Ok(ChangeOutcome::WrongCurrent);
    }
    store::throttle::clear(&state.db, &account_key).await?;
    if new.expose() == current.expose() {
        return Ok(ChangeOutcome::Unchanged);
    }
    if let Err(e) = check_policy(
        state,
        &user.email,
        user.name.as_deref(),
        Some(&user.id),
        new,
    )
    .await?
    {
        return Ok(ChangeOutcome::Refused(e));
    }
    let hash = state.hasher.hash(new).await?;
    let forced = user.must_change_password != 0;
    let mut tx = state.db.begin().await?;
    let ended = install(
        &mut tx,
        state,
        (&user.id, &hash),
        Some(session),
        state.now(),
    )
    .await?;
    audit(
        &mut tx,
        state,
        "password.changed",
        &user.id,
        ip,
        json!({ "sessions_ended": ended.sessions, "forced": forced }),
    )
    .await?;
    tx.commit().await?;
    ended.wake(state);
    tracing::info!(user_id = %user.id, sessions_ended = ended.sessions, forced, "password changed");
    if let Err(e) = crate::mail::send_password_changed(state, &user, false).await {
        tracing::error!(user_id = %user.id, error = %crate::error::Chain(&e), "queueing the password-changed notice failed");
    }
    Ok(ChangeOutcome::Changed)
}

async fn audit(
    conn: impl Into<Conn<'_>>,
    state: &AppState,
    kind: &str,
    user_id: &str,
    ip: IpAddr,
    detail: serde_json::Value,
) -> Result<()> {
    let ip = ip.to_string();
    store::audit::append(
        conn,
        &Event {
            kind,
            user_id: Some(user_id),
            ip: Some(&ip),
            detail,
            ..Default::default()
        },
        state.now(),
    )
    .await?;
    Ok(())
}
