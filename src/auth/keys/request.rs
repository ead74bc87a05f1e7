//! What a person asked for on a page (a login key, a recovery key), queued durably and
//! processed in the background ([`super::process`]). Submitting does the same work for every
//! identifier, known or not: one sealed insert.

use serde::{Deserialize, Serialize};

use crate::crypto::random_id;
use crate::error::Result;
use crate::state::AppState;
use crate::store;

/// What the key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Log in (a link and a code by email, or a code by SMS).
    Login,
    /// Set a new password (a link and a code by email, or a code by SMS).
    Reset,
}

impl Purpose {
    /// The `login_keys.purpose`.
    pub fn key_purpose(self) -> &'static str {
        match self {
            Purpose::Login => super::LOGIN,
            Purpose::Reset => crate::auth::reset::PURPOSE,
        }
    }
}

/// One request. Its `Debug` leaves out the identifier.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyRequest {
    pub purpose: Purpose,
    /// The email address or phone number as typed.
    pub identifier: String,
    /// SHA-256 of the requesting browser's binding cookie.
    pub binding_hash: String,
    pub ip: String,
    /// A local path to continue to after the login.
    pub next: Option<String>,
    /// The page's language (for a message to an address with no account language).
    pub locale: String,
    /// The organisation of the app the person is logging in to, if any (send limits).
    pub organisation_id: Option<String>,
    pub requested_at: i64,
}

crate::redact::debug_showing!(KeyRequest {
    purpose,
    requested_at
});

/// The outbox channel of key requests.
pub const CHANNEL: &str = "request";

/// The authenticated context of a request's sealed payload.
pub fn seal_context(id: &str) -> String {
    format!("outbox:{id}")
}

/// Queues a request (sealed with the master key) and wakes the delivery loop.
pub async fn submit(state: &AppState, request: &KeyRequest) -> Result<()> {
    let id = random_id();
    let plain = serde_json::to_vec(request)?;
    let sealed = state.keys.seal_data(&plain, &seal_context(&id));
    store::outbox::insert(
        &state.db,
        &store::outbox::NewMessage {
            id: &id,
            channel: CHANNEL,
            recipient: "-",
            payload: &sealed,
        },
        state.now(),
    )
    .await?;
    state.mailer.wake();
    Ok(())
}

/// Opens a queued request.
pub fn open(state: &AppState, id: &str, payload: &str) -> Result<KeyRequest> {
    let plain = state.keys.open_data(payload, &seal_context(id))?;
    Ok(serde_json::from_slice(&plain)?)
}
