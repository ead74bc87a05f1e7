//! The delivery loop: claims due outbox rows (mail, SMS, key requests, back-channel logout
//! tokens, `oidc::backchannel`, and webhook messages, `webhooks::deliver`), opens their
//! sealed payloads, renders and delivers them, and records the outcome. A failure is retried with exponential backoff up
//! to [`MAX_ATTEMPTS`] times; the row (and so the message) stays until it is delivered or
//! given up on, and `last_error` says why it has not gone yet (never what it says).
//!
//! Every node runs the loop; the atomic claim keeps one message to one sender. It wakes when
//! this node enqueues a message and every [`POLL_EVERY`] otherwise (for retries and for
//! messages other nodes enqueued). [`deliver_due`] runs one pass at once (tests call it).
//! Its database work runs outside any request, so each statement is bounded
//! (`store::bounded`): a pass stuck on a silent connection gives up and frees its pool slot.

use std::time::Duration;

use crate::error::Result;
use crate::mail::backend::DeliveryError;
use crate::mail::eml::{self, Sender};
use crate::mail::message::{MailError, Message};
use crate::state::AppState;
use crate::store::{self, outbox::Claimed};

/// The authenticated context of a queued message's sealed payload (mail and SMS alike).
pub(crate) fn seal_context(id: &str) -> String {
    format!("outbox:{id}")
}

/// Seals `payload` and stores it in the outbox under `id` (once), for `channel` (`email`,
/// `sms`) and `recipient` (as the outbox may show it: an SMS number masked).
pub(crate) async fn queue_sealed(
    conn: impl Into<store::Conn<'_>>,
    state: &AppState,
    (id, channel, recipient): (&str, &str, &str),
    payload: &impl serde::Serialize,
) -> Result<()> {
    let plain = serde_json::to_vec(payload)?;
    let sealed = state.keys.seal_data(&plain, &seal_context(id));
    let row = store::outbox::NewMessage {
        id,
        channel,
        recipient,
        payload: &sealed,
    };
    store::outbox::insert_once(conn, &row, state.now()).await?;
    Ok(())
}

/// Attempts before a message is given up on (about 9 hours of retries).
pub const MAX_ATTEMPTS: i64 = 12;
/// Seconds a claim lasts; a sender that dies leaves the row to be retried after this.
pub const LEASE: i64 = 300;
/// How often the loop looks for due messages without being woken.
pub const POLL_EVERY: Duration = Duration::from_secs(15);
/// Rows claimed per statement.
const BATCH: i64 = 20;
/// Sent messages are kept this long (seconds), then purged.
pub const KEEP_SENT: i64 = 86400;
/// Undeliverable messages are kept this long (seconds) after they were made.
pub const KEEP_DEAD: i64 = 30 * 86400;

/// Seconds to wait after failed attempt number `attempts` (1-based): 30 s doubling, at most
/// an hour.
pub fn backoff(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 8) - 1;
    (30_i64 << exp).min(3600)
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub failed: usize,
}

/// Starts the delivery loop (once per server), announcing where mail goes.
pub fn spawn(state: AppState) {
    let gateway = &state.sms.gateway;
    if gateway.sends() {
        tracing::info!(gateway = %gateway.describe(), "sms delivery started");
    } else {
        tracing::warn!(
            "DEVELOPMENT SETUP: SMS are NOT sent, they are written to files ({}); configure an SMS gateway ([sms] gateway) before real use",
            gateway.describe()
        );
    }
    let backend = &state.mailer.backend;
    if backend.sends() {
        tracing::info!(backend = %backend.describe(), "mail delivery started");
    } else {
        tracing::warn!(
            backend = %backend.describe(),
            "DEVELOPMENT SETUP: mail is NOT sent, it is written to files ({}); configure a mail relay before real use",
            backend.describe()
        );
    }
    if let Err(e) = Sender::parse(&state.config.mail.from) {
        tracing::error!(error = %crate::error::Chain(&e), "mail.from is unusable; no mail can be delivered until it is fixed");
    }
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(POLL_EVERY, state.mailer.woken()).await;
            if let Err(e) = deliver_due(&state).await {
                tracing::warn!(error = %crate::error::Chain(&e), "mail delivery pass failed");
            }
        }
    });
}

/// Delivers every message due now; returns what happened. Passes on one node run one at a
/// time, so when this returns, every message that was due has been tried.
pub async fn deliver_due(state: &AppState) -> Result<Pass> {
    let _pass = state.mailer.lock_pass().await;
    let mut pass = Pass::default();
    let sender = Sender::parse(&state.config.mail.from)?;
    // Bounded: failed rows are not due again within the pass, sent ones never.
    for _ in 0..1000 {
        let now = state.now();
        let claimed = store::bounded(store::outbox::claim_due(
            &state.db,
            now,
            LEASE,
            MAX_ATTEMPTS,
            BATCH,
        ))
        .await?;
        if claimed.is_empty() {
            break;
        }
        // A batch goes out in lanes that run side by side: mail, SMS and key requests each
        // in one lane as before, and every receiver of logout tokens or webhook messages in
        // its own. One slow receiver (an endpoint that never answers) holds up its own lane
        // only. One webhook endpoint's messages go oldest first, so that one person's events
        // arrive in order.
        let mut lanes: std::collections::BTreeMap<(&str, &str), Vec<&Claimed>> = Default::default();
        for row in &claimed {
            let receiver = match row.channel.as_str() {
                crate::webhooks::deliver::CHANNEL | crate::oidc::backchannel::CHANNEL => {
                    row.recipient.as_str()
                }
                _ => "",
            };
            lanes.entry((&row.channel, receiver)).or_default().push(row);
        }
        let sender = &sender;
        let settled = futures_util::future::join_all(lanes.into_iter().map(
            |((channel, _), rows)| async move {
                let rows = if channel == crate::webhooks::deliver::CHANNEL {
                    crate::webhooks::deliver::oldest_first(state, rows).await
                } else {
                    rows
                };
                let mut out = Vec::new();
                for row in rows {
                    out.push(settle(state, sender, row).await);
                }
                out
            },
        ))
        .await;
        for outcome in settled.into_iter().flatten() {
            match outcome? {
                Settled::Sent => pass.sent += 1,
                Settled::Failed => pass.failed += 1,
                Settled::Waiting => {}
            }
        }
    }
    Ok(pass)
}

/// What became of one claimed row.
enum Settled {
    Sent,
    Failed,
    /// Put back without spending an attempt (a webhook message waiting for an earlier one).
    Waiting,
}

/// Delivers one claimed row and records the outcome.
async fn settle(state: &AppState, sender: &Sender, row: &Claimed) -> Result<Settled> {
    use crate::webhooks::deliver::Posted;
    let outcome = match row.channel.as_str() {
        crate::webhooks::deliver::CHANNEL => crate::webhooks::deliver::deliver(state, row).await,
        _ => deliver_one(state, sender, row).await.map(|()| Posted::Done),
    };
    match outcome {
        Ok(Posted::WaitUntil(at)) => {
            store::bounded(store::outbox::defer(&state.db, &row.id, at)).await?;
            Ok(Settled::Waiting)
        }
        Ok(Posted::Done) => {
            store::bounded(store::outbox::mark_sent(&state.db, &row.id, state.now())).await?;
            // A goodbye to an erased person: their address goes with the message.
            store::bounded(store::erasure::forget_sent(&state.db, &row.id)).await?;
            tracing::info!(id = %row.id, channel = %row.channel, "message delivered");
            Ok(Settled::Sent)
        }
        Err(e) => failed(state, row, &e.0).await,
    }
}

/// Records a failed attempt: due again after the backoff, or given up on.
async fn failed(state: &AppState, row: &Claimed, error: &str) -> Result<Settled> {
    let error: String = error.chars().take(500).collect();
    let next = if row.attempts >= MAX_ATTEMPTS {
        tracing::error!(id = %row.id, attempts = row.attempts, error = %error, "message undeliverable; giving up");
        i64::MAX
    } else {
        let wait = backoff(row.attempts);
        tracing::warn!(id = %row.id, attempts = row.attempts, retry_in = wait, error = %error, "message delivery failed; will retry");
        state.now() + wait
    };
    store::bounded(store::outbox::mark_failed(&state.db, &row.id, &error, next)).await?;
    Ok(Settled::Failed)
}

/// Hands one row to what delivers its channel (webhook messages go through `settle`).
async fn deliver_one(
    state: &AppState,
    sender: &Sender,
    row: &Claimed,
) -> Result<(), DeliveryError> {
    match row.channel.as_str() {
        "email" => deliver_mail(state, sender, row).await,
        "sms" => {
            let message = crate::sms::open(state, &row.id, &row.payload)
                .map_err(|e| DeliveryError(e.to_string()))?;
            state
                .sms
                .gateway
                .send(&row.id, row.created_at, &message)
                .await
        }
        // Uses the database: bounded like every database use outside a request.
        "request" => tokio::time::timeout(
            store::BACKGROUND_BOUND,
            crate::auth::keys::process(state, row),
        )
        .await
        .unwrap_or_else(|_| Err(DeliveryError("the database did not answer in time".into()))),
        crate::oidc::backchannel::CHANNEL => crate::oidc::backchannel::deliver(state, row).await,
        other => Err(DeliveryError(format!("unknown outbox channel {other:?}"))),
    }
}

/// Opens, renders, signs (DKIM, when configured) and hands one mail message to the backend.
async fn deliver_mail(
    state: &AppState,
    sender: &Sender,
    row: &Claimed,
) -> Result<(), DeliveryError> {
    let message = open(state, row).map_err(|e| DeliveryError(e.to_string()))?;
    let mut document = eml::render(&message, sender, &row.id, row.created_at)
        .map_err(|e| DeliveryError(e.to_string()))?;
    if let Some(signer) = &state.mailer.dkim {
        document = signer
            .sign(&document, row.created_at)
            .map_err(|e| DeliveryError(format!("DKIM: {e}")))?;
    }
    state
        .mailer
        .backend
        .deliver(
            &row.id,
            row.created_at,
            (&sender.address, &message.to),
            document,
        )
        .await
}

/// The message in a claimed row.
fn open(state: &AppState, row: &Claimed) -> Result<Message, MailError> {
    let plain = state
        .keys
        .open_data(&row.payload, &seal_context(&row.id))
        .map_err(|_| {
            MailError::Payload("the sealed payload does not open with this master key".into())
        })?;
    serde_json::from_slice(&plain).map_err(|_| MailError::Payload("the payload is damaged".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        assert_eq!(backoff(1), 30);
        assert_eq!(backoff(2), 60);
        assert_eq!(backoff(5), 480);
        assert_eq!(backoff(8), 3600);
        assert_eq!(backoff(40), 3600);
    }
}
