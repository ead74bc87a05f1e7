//! A passkey login from the login page as one use-case: the per-address throttle, the
//! ceremony's check ([`passkeys::finish_authentication`]), the two-factor session, and the
//! audit record and metric of each outcome (`login.throttled`, `login.failure`,
//! `login.success`), so that whoever calls it records the same.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::auth::passkeys::{self, AMR_MFA, AMR_PASSKEY, Refused};
use crate::auth::session::{self, NewSession, acr};
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, audit::Event};

/// A browser's answer to a login challenge, and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The browser context the challenge was bound to.
    pub binding: &'a str,
    pub challenge_id: &'a str,
    /// The browser's `PublicKeyCredential` (JSON).
    pub credential: &'a Value,
    pub ip: IpAddr,
    /// The client of the authorization request being served, if any.
    pub client_id: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The hash of the browser's previous session, which ends on success.
    pub replaces: Option<&'a str>,
}

/// How a passkey login ended.
#[derive(Debug)]
pub enum Outcome {
    /// Too many failures from this address: try again after this many seconds.
    Throttled { retry_after: i64 },
    /// The ceremony was refused (counted against the address).
    Refused(Refused),
    /// Signed in: whose session, and the cookie value (for the browser only).
    LoggedIn { user_id: String, cookie: String },
}

/// Runs a passkey login attempt to its end and records it.
#[tracing::instrument(skip_all, fields(client_id = attempt.client_id))]
pub async fn log_in(state: &AppState, attempt: Attempt<'_>) -> Result<Outcome> {
    let ip = attempt.ip.to_string();
    if let Some(retry_after) = passkeys::login_throttled(state, attempt.ip).await? {
        let event = Event {
            kind: "login.throttled",
            client_id: attempt.client_id,
            ip: Some(&ip),
            detail: json!({ "method": AMR_PASSKEY }),
            ..Default::default()
        };
        store::audit::append(&state.db, &event, state.now()).await?;
        crate::metrics::registry::login(AMR_PASSKEY, "throttled");
        return Ok(Outcome::Throttled { retry_after });
    }
    let verified = passkeys::finish_authentication(
        state,
        attempt.binding,
        attempt.challenge_id,
        attempt.credential,
    )
    .await?;
    let verified = match verified {
        Ok(verified) => verified,
        Err(refused) => {
            let event = Event {
                kind: "login.failure",
                client_id: attempt.client_id,
                ip: Some(&ip),
                detail: json!({ "method": AMR_PASSKEY, "reason": refused.as_str() }),
                ..Default::default()
            };
            store::audit::append(&state.db, &event, state.now()).await?;
            passkeys::login_failed(state, attempt.ip).await?;
            tracing::info!(reason = refused.as_str(), "passkey login refused");
            crate::metrics::registry::login(AMR_PASSKEY, "failure");
            return Ok(Outcome::Refused(refused));
        }
    };
    let now = state.now();
    let amr = [AMR_PASSKEY.to_string(), AMR_MFA.to_string()];
    let (session, cookie) = session::create(
        state,
        NewSession {
            user_id: &verified.user_id,
            amr: &amr,
            acr: acr::MULTI_FACTOR,
            replaces: attempt.replaces,
            origin: store::sessions::Origin {
                ip: Some(&ip),
                user_agent: attempt.user_agent,
            },
        },
        now,
    )
    .await?;
    let event = Event {
        kind: "login.success",
        user_id: Some(&verified.user_id),
        client_id: attempt.client_id,
        ip: Some(&ip),
        detail: json!({ "method": AMR_PASSKEY, "sid": session.sid, "passkey": verified.passkey_id }),
        ..Default::default()
    };
    store::audit::append(&state.db, &event, now).await?;
    tracing::info!(user_id = %verified.user_id, sid = %session.sid, "passkey login");
    crate::metrics::registry::login(AMR_PASSKEY, "success");
    Ok(Outcome::LoggedIn {
        user_id: verified.user_id,
        cookie,
    })
}
