//! OpenID Connect Back-Channel Logout 1.0: when a session ends, every client that had tokens
//! in it and registered a `backchannel_logout_uri` is told, by a logout token posted to that
//! URI from server to server.
//!
//! - [`queue`] runs inside the transaction that ends the session: one outbox row (channel
//!   [`CHANNEL`]) per client and session, whose id is the token's `jti`. The session ends and
//!   the clients are owed their tokens in one commit, or neither.
//! - [`deliver`] is called by the outbox loop (`mail::delivery`), so delivery is durable and
//!   at least once: a failed post is retried with the loop's backoff and bound, a node that
//!   dies mid-delivery leaves a claim that lapses. The page that ended the session never
//!   waits for a receiver.
//! - The token is signed at each attempt (a fresh `iat` and `exp`), always with the same
//!   `jti`: a receiver that got a token and answered too late gets it again, and must
//!   deduplicate by `jti` (docs/claims.md).
//!
//! Session expiry (idle or absolute timeout) is not a logout event: nobody ended it, and
//! apps keep their own session lifetimes. Nothing is sent then.

use std::sync::LazyLock;
use std::time::Duration;

use crate::crypto::random_id;
use crate::error::Result;
use crate::mail::backend::DeliveryError;
use crate::mail::delivery::seal_context;
use crate::oidc::mint::{self, Logout};
use crate::state::AppState;
use crate::store::{self, Tx, outbox::Claimed};

/// The outbox channel of logout tokens; the row's recipient is the client id.
pub const CHANNEL: &str = "logout";
/// How long a receiver has to answer one post.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// What a queued row holds (sealed, like every outbox payload).
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    client_id: String,
    sub: String,
    sid: String,
}

/// Queues a logout token for every client that had tokens in the sessions `sids` and
/// registered a back-channel logout URI, inside `tx` (the transaction that ends them).
/// Returns how many were queued; after the commit, [`wake`] the delivery loop with it.
#[tracing::instrument(skip_all, fields(sessions = sids.len()))]
pub async fn queue(tx: &mut Tx<'_>, state: &AppState, sids: &[String]) -> Result<usize> {
    let mut queued = 0;
    for sid in sids {
        for (client_id, sub) in store::grants::clients_to_tell(&mut *tx, sid).await? {
            let token = Sealed::new(state, client_id, sub, sid)?;
            store::outbox::insert_once(&mut *tx, &token.message(), state.now()).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// The logout tokens owed for every live session of a person (before an erasure, whose
/// transaction queues them: the grants that say which apps to tell go with it).
pub async fn sealed_for_person(state: &AppState, user_id: &str) -> Result<Vec<Sealed>> {
    let mut out = Vec::new();
    for session in store::sessions::list_for_user(&state.db, user_id, state.now()).await? {
        for (client_id, sub) in store::grants::clients_to_tell(&state.db, &session.sid).await? {
            out.push(Sealed::new(state, client_id, sub, &session.sid)?);
        }
    }
    Ok(out)
}

/// A logout token ready to be queued: the outbox row's id (the token's `jti`), the client
/// and the sealed payload.
#[derive(Debug)]
pub struct Sealed {
    id: String,
    client_id: String,
    payload: String,
}

impl Sealed {
    fn new(state: &AppState, client_id: String, sub: String, sid: &str) -> Result<Sealed> {
        let id = random_id();
        let payload = Payload {
            client_id,
            sub,
            sid: sid.to_string(),
        };
        let plain = serde_json::to_vec(&payload)?;
        Ok(Sealed {
            payload: state.keys.seal_data(&plain, &seal_context(&id)),
            client_id: payload.client_id,
            id,
        })
    }

    /// The outbox row.
    pub fn message(&self) -> store::outbox::NewMessage<'_> {
        store::outbox::NewMessage {
            id: &self.id,
            channel: CHANNEL,
            recipient: &self.client_id,
            payload: &self.payload,
        }
    }
}

/// Wakes this node's delivery loop when [`queue`] queued something (call after the commit).
pub fn wake(state: &AppState, queued: usize) {
    if queued > 0 {
        state.mailer.wake();
    }
}

/// One HTTP client for every post: redirects are not followed (a receiver that redirects
/// has not taken the token), every post is bounded by [`TIMEOUT`].
static HTTP: LazyLock<std::result::Result<reqwest::Client, String>> = LazyLock::new(|| {
    crate::outbound::client_builder(false, TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
});

/// Signs and posts one queued logout token (Back-Channel Logout 1.0, section 2.5): a form
/// with `logout_token`; any 2xx answer is a delivery. A client deleted since, or one that no
/// longer has a back-channel URI, has nobody left to tell: the row counts as done. Errors
/// name the receiver's host and what went wrong, never the token.
pub async fn deliver(state: &AppState, row: &Claimed) -> std::result::Result<(), DeliveryError> {
    let fail = |m: String| DeliveryError(m);
    let plain = state
        .keys
        .open_data(&row.payload, &seal_context(&row.id))
        .map_err(|_| fail("the sealed payload does not open with this master key".into()))?;
    let payload: Payload =
        serde_json::from_slice(&plain).map_err(|_| fail("the payload is damaged".into()))?;
    let client = store::bounded(store::clients::find(&state.db, &payload.client_id))
        .await
        .map_err(|e| fail(format!("reading the client failed: {e}")))?;
    let Some((client, uri)) =
        client.and_then(|c| c.backchannel_logout_uri.clone().map(|uri| (c, uri)))
    else {
        tracing::info!(id = %row.id, client = %payload.client_id, "the client no longer takes logout tokens; nothing to tell");
        return Ok(());
    };
    let host = url::Url::parse(&uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let logout = Logout {
        client: &client,
        sub: &payload.sub,
        sid: &payload.sid,
        jti: &row.id,
    };
    let token = mint::logout_token(state, logout, state.now())
        .map_err(|_| fail("the logout token could not be signed".into()))?;
    let http = HTTP.as_ref().map_err(|e| fail(e.clone()))?;
    let outcome = match http
        .post(&uri)
        .form(&[("logout_token", token)])
        .send()
        .await
    {
        Ok(res) if res.status().is_success() => Ok(()),
        Ok(res) => Err(fail(format!("{host}: HTTP {}", res.status().as_u16()))),
        Err(e) => Err(fail(format!(
            "{host}: {}",
            crate::outbound::transport_failure(e, TIMEOUT)
        ))),
    };
    let label = if outcome.is_ok() {
        "delivered"
    } else {
        "failed"
    };
    crate::metrics::registry::inc(TOKENS_SENT, &[("outcome", label)]);
    outcome
}

/// The counter of posts by outcome (`delivered`, `failed`), per node.
pub const TOKENS_SENT: &str = "nyckel_logout_tokens_total";

/// Declares the counter's outcomes, so each is reported from 0.
pub fn declare_metrics() {
    for outcome in ["delivered", "failed"] {
        crate::metrics::registry::declare(TOKENS_SENT, &[("outcome", outcome)]);
    }
}
