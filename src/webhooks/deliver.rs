//! Delivering webhook messages: the outbox loop (`mail::delivery`) claims a row of channel
//! [`CHANNEL`] and calls [`deliver`]. Delivery is at least once: a
//! failed post is retried with the loop's backoff (about 9 hours of attempts), a node that
//! dies mid-post leaves a claim that lapses, and every attempt carries the same
//! `webhook-id`, so receivers deduplicate by it. One endpoint gets one subject's events in
//! the order they happened: a message waits, without spending an attempt, while an earlier
//! one about the same person is still pending.
//!
//! Each attempt is signed afresh (Standard Webhooks v1, `webhooks::signature`): a new
//! `webhook-timestamp`, one signature per secret in force (two during a rotation).

use std::sync::LazyLock;
use std::time::Duration;

use crate::mail::backend::DeliveryError;
use crate::mail::delivery::MAX_ATTEMPTS;
use crate::state::AppState;
use crate::store::webhooks::{Attempt, EndpointRow, MessageRow};
use crate::store::{self, outbox::Claimed};
use crate::webhooks::signature::{self, Secret};

pub use crate::store::webhooks::CHANNEL;

/// How long a receiver has to answer one post.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The counter of posts by outcome (`delivered`, `failed`, `dropped`), per node.
pub const DELIVERIES: &str = "nyckel_webhook_deliveries_total";

/// Declares the counter's outcomes, so each is reported from 0.
pub fn declare_metrics() {
    for outcome in ["delivered", "failed", "dropped"] {
        crate::metrics::registry::declare(DELIVERIES, &[("outcome", outcome)]);
    }
}

/// What became of a claimed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Delivered, dropped (its endpoint is gone or off), or nothing left to send.
    Done,
    /// An earlier message about the same subject is still pending: try again at this
    /// instant (that one's next attempt), without spending an attempt.
    WaitUntil(i64),
}

/// One endpoint's claimed rows, oldest message first (the delivery loop posts them one
/// after another). A row whose message cannot be read goes first: it has nothing to wait
/// for. A single row is left as it is, unread.
pub async fn oldest_first<'a>(state: &AppState, rows: Vec<&'a Claimed>) -> Vec<&'a Claimed> {
    if rows.len() < 2 {
        return rows;
    }
    let mut keyed = Vec::with_capacity(rows.len());
    for row in rows {
        let ordinal = store::bounded(store::webhooks::message(&state.db, &row.id))
            .await
            .ok()
            .flatten()
            .map_or(i64::MIN, |m| m.ordinal);
        keyed.push((ordinal, row));
    }
    keyed.sort_by_key(|(ordinal, _)| *ordinal);
    keyed.into_iter().map(|(_, row)| row).collect()
}

/// One HTTP client for every post: redirects are not followed (a receiver that redirects
/// has not taken the message), every post is bounded by [`TIMEOUT`].
static HTTP: LazyLock<Result<reqwest::Client, String>> = LazyLock::new(|| {
    crate::outbound::client_builder(false, TIMEOUT)
        .build()
        .map_err(|e| e.to_string())
});

/// Signs and posts one message; any 2xx answer is a delivery. A message that must wait for
/// an earlier one about the same subject is not posted ([`Posted::WaitUntil`]). A message
/// whose endpoint was deleted or disabled is dropped (counts as done). Errors name the
/// receiver's host and what went wrong, never the body or a secret.
pub async fn deliver(state: &AppState, row: &Claimed) -> Result<Posted, DeliveryError> {
    let fail = |m: String| DeliveryError(m);
    let read = |e: sqlx::Error| DeliveryError(format!("reading the message failed: {e}"));
    let message = store::bounded(store::webhooks::message(&state.db, &row.id))
        .await
        .map_err(read)?;
    let Some(message) = message.filter(|m| m.state == "pending") else {
        return Ok(Posted::Done);
    };
    let earlier = store::bounded(store::webhooks::earlier_pending(&state.db, &message))
        .await
        .map_err(read)?;
    if let Some(at) = earlier {
        return Ok(Posted::WaitUntil(at.max(state.now() + 1)));
    }
    let endpoint = store::bounded(store::webhooks::find(&state.db, &message.endpoint_id))
        .await
        .map_err(|e| fail(format!("reading the endpoint failed: {e}")))?;
    let Some(endpoint) = endpoint.filter(|e| e.enabled != 0) else {
        record(state, &message.id, Attempt::Dropped).await?;
        count("dropped");
        return Ok(Posted::Done);
    };
    let outcome = post(state, &endpoint, &message).await;
    let attempt = match &outcome {
        Ok(status) => Attempt::Delivered { status: *status },
        Err((status, error)) => Attempt::Failed {
            status: *status,
            error,
            give_up: row.attempts >= MAX_ATTEMPTS,
        },
    };
    record(state, &message.id, attempt).await?;
    match outcome {
        Ok(_) => {
            count("delivered");
            Ok(Posted::Done)
        }
        Err((_, error)) => {
            count("failed");
            Err(fail(error))
        }
    }
}

/// Posts the signed body; the answer's status, or (the status, if any, and why not).
async fn post(
    state: &AppState,
    endpoint: &EndpointRow,
    message: &MessageRow,
) -> Result<i64, (Option<i64>, String)> {
    let body = state
        .keys
        .open_data(
            &message.payload,
            &crate::webhooks::events::seal_context(&message.id),
        )
        .map_err(|_| {
            (
                None,
                "the sealed body does not open with this master key".to_string(),
            )
        })?;
    let secrets = secrets_in_force(state, endpoint)
        .map_err(|_| (None, "the endpoint's secret does not open".to_string()))?;
    let now = state.now();
    let signature = signature::sign(&secrets, &message.id, now, &body);
    let host = url::Url::parse(&endpoint.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let http = HTTP.as_ref().map_err(|e| (None, e.clone()))?;
    let sent = http
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &message.id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => Ok(i64::from(res.status().as_u16())),
        Ok(res) => {
            let status = res.status().as_u16();
            Err((Some(i64::from(status)), format!("{host}: HTTP {status}")))
        }
        Err(e) => Err((
            None,
            format!("{host}: {}", crate::outbound::transport_failure(e, TIMEOUT)),
        )),
    }
}

/// The endpoint's current secret, and the previous one while it is still valid.
pub fn secrets_in_force(
    state: &AppState,
    endpoint: &EndpointRow,
) -> crate::error::Result<Vec<Secret>> {
    let context = secret_context(&endpoint.id);
    let mut sealed = vec![endpoint.secret_sealed.as_str()];
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret_sealed,
        endpoint.previous_secret_until,
    ) && until > state.now()
    {
        sealed.push(previous);
    }
    sealed
        .into_iter()
        .map(|s| {
            let plain = state.keys.open_data(s, &context)?;
            let shown = String::from_utf8(plain)
                .map_err(|_| crate::error::Error::Crypto("a damaged webhook secret".into()))?;
            Secret::parse(&shown)
                .map_err(|e| crate::error::Error::Crypto(format!("webhook secret: {e}")))
        })
        .collect()
}

/// The sealing context of an endpoint's secrets.
pub fn secret_context(endpoint_id: &str) -> String {
    format!("webhook-secret:{endpoint_id}")
}

async fn record(state: &AppState, id: &str, attempt: Attempt<'_>) -> Result<(), DeliveryError> {
    store::bounded(store::webhooks::record_attempt(
        &state.db,
        id,
        attempt,
        state.now(),
    ))
    .await
    .map_err(|e| DeliveryError(format!("recording the attempt failed: {e}")))
}

fn count(outcome: &str) {
    crate::metrics::registry::inc(DELIVERIES, &[("outcome", outcome)]);
}
