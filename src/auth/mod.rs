//! Authentication: passwords (argon2id, policy, changes, reset and setup keys), login
//! throttling and sessions. No axum types; the HTTP layer calls in with plain values.

pub mod change;
pub mod channels;
pub mod factors;
pub mod keys;
pub mod login;
pub mod own;
pub mod own_data;
pub mod passkey_login;
pub mod passkeys;
pub mod password;
pub mod phc;
pub mod policy;
pub mod reset;
pub mod session;
pub mod setup;
pub mod throttle;
pub mod workspace;

use crate::error::Result;
use crate::state::AppState;
use crate::store::{Conn, Tx};

/// Appends an audit event about a person's own action (no actor: the person themself) that
/// changed nothing: a refusal, a failed attempt, a key sent. The event of a change goes into
/// the change's transaction with [`audit_person_in`].
pub(crate) async fn audit_person(
    state: &AppState,
    kind: &str,
    user_id: &str,
    ip: &str,
    detail: serde_json::Value,
) -> Result<()> {
    append_person(&state.db, state, kind, user_id, ip, detail).await
}

/// Appends the audit event of a person's own change inside the change's transaction `tx`:
/// the change and its record commit together or not at all.
pub(crate) async fn audit_person_in(
    tx: &mut Tx<'_>,
    state: &AppState,
    kind: &str,
    user_id: &str,
    ip: &str,
    detail: serde_json::Value,
) -> Result<()> {
    append_person(tx, state, kind, user_id, ip, detail).await
}

async fn append_person(
    conn: impl Into<Conn<'_>>,
    state: &AppState,
    kind: &str,
    user_id: &str,
    ip: &str,
    detail: serde_json::Value,
) -> Result<()> {
    crate::store::audit::append(
        conn,
        &crate::store::audit::Event {
            kind,
            user_id: Some(user_id),
            ip: Some(ip),
            detail,
            ..Default::default()
        },
        state.now(),
    )
    .await?;
    Ok(())
}
