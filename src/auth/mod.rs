//! Authentication: passwords (argon2id, policy, changes, reset and setup keys), login
//! throttling and sessions. No axum types; the HTTP layer calls in with plain values.

pub mod change;
pub mod channels;
pub mod factors;
pub mod keys;
pub mod login;
pub mod own;
pub mod own_data;
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

/// Appends an audit event about a person's own action (no actor: the person themself).
pub(crate) async fn audit_person(
    state: &AppState,
    kind: &str,
    user_id: &str,
    ip: &str,
    detail: serde_json::Value,
) -> Result<()> {
    crate::store::audit::append(
        &state.db,
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
