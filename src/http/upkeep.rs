//! Background upkeep on every node: reload signing keys (another node may have rotated) and
//! delete expired rows (once across the cluster per period, by a lease: `store::leases`). Failures are logged and retried on the next tick. Starting upkeep
//! also starts the mail delivery loop (`mail::delivery`).

use std::time::Duration;

use crate::state::AppState;
use crate::store;

/// How often keys are reloaded.
pub const KEY_RELOAD_EVERY: Duration = Duration::from_secs(60);

/// Starts the upkeep loop (and the mail delivery loop).
pub fn spawn(state: AppState) {
    crate::mail::delivery::spawn(state.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(KEY_RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut round: u64 = 0;
        loop {
            tick.tick().await;
            round += 1;
            if let Err(e) = state.keys.reload().await {
                tracing::warn!(error = %e, "reloading signing keys failed");
            }
            if round % 10 == 0 {
                purge_if_due(&state).await;
            }
        }
    });
}

/// The lease of the cleanup job: a little under its ten-minute period, so the node that ran
/// it last can take it again on time.
pub const PURGE_LEASE: i64 = 540;

/// This process's name as a lease holder.
pub static NODE_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::crypto::random_token(9));

/// Runs the cleanup when this node gets its lease (once across the cluster per period);
/// returns whether it ran.
pub async fn purge_if_due(state: &AppState) -> bool {
    match store::leases::acquire(
        &state.db,
        "purge_expired",
        &NODE_ID,
        state.now(),
        PURGE_LEASE,
    )
    .await
    {
        Ok(true) => {
            let purged = purge_expired(state).await;
            tracing::debug!(purged, "cleanup ran");
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::warn!(error = %e, "taking the cleanup lease failed");
            false
        }
    }
}

/// How long (seconds) expired, accepted or revoked invitations stay listed.
pub const INVITATION_HISTORY: i64 = 30 * 24 * 3600;

/// Deletes expired sessions, pending requests, codes, revocations, refresh tokens, grants,
/// login keys, old send-limit records, long-ended invitations and delivered (or long undeliverable) mail
/// (SECURITY.md 14.2.7). Returns how many rows went; failures are logged.
pub async fn purge_expired(state: &AppState) -> u64 {
    let now = state.now();
    let db = &state.db;
    let results = [
        store::sessions::delete_expired(db, now).await,
        store::auth_requests::delete_expired(db, now).await,
        store::codes::delete_expired(db, now).await,
        store::revoked::delete_expired(db, now).await,
        store::refresh_tokens::delete_expired(db, now).await,
        store::grants::delete_expired(db, now).await,
        store::login_keys::delete_expired(db, now).await,
        // The send limits look back one day.
        store::message_sends::delete_before(db, now - 2 * 86400).await,
        // Ended invitations stay visible to admins for a while.
        store::invitations::delete_ended(db, now - INVITATION_HISTORY).await,
        store::outbox::delete_done(
            db,
            now - crate::mail::delivery::KEEP_SENT,
            now - crate::mail::delivery::KEEP_DEAD,
            crate::mail::delivery::MAX_ATTEMPTS,
        )
        .await,
    ];
    let mut purged = 0;
    for r in results {
        match r {
            Ok(n) => purged += n,
            Err(e) => tracing::warn!(error = %e, "deleting expired rows failed"),
        }
    }
    purged
}
