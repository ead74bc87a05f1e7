//! Background upkeep on every node: every `keys.reload_interval`, reload signing keys and the
//! master key file (another node or the CLI may have rotated) and run the scheduled signing-key
//! rotation when it is due; every `upkeep.cleanup_interval`, delete expired rows. Both jobs run
//! once across the cluster per period, by a lease (`store::leases`); runs are counted in
//! `nyckel_jobs_run_total{job}`. Failures are logged and retried on the next tick. Starting
//! upkeep also starts the mail delivery loop (`mail::delivery`).

use std::time::Duration;

use serde_json::json;

use crate::state::AppState;
use crate::store;

/// How often keys are reloaded by default (`keys.reload_interval`).
pub const KEY_RELOAD_EVERY: Duration = Duration::from_secs(60);

/// The metric counting scheduled job runs, by `job`.
pub const JOBS_RUN: &str = "nyckel_jobs_run_total";

/// The jobs [`JOBS_RUN`] counts (each exported from the start, at 0).
pub const JOBS: [&str; 2] = ["cleanup", "rotate_keys"];

/// Starts the upkeep loops (and the mail delivery loop).
pub fn spawn(state: AppState) {
    crate::mail::delivery::spawn(state.clone());
    heartbeats(state.clone());
    let keys_every = Duration::from_secs(state.config.keys.reload_interval.max(1) as u64);
    let cleanup_every = Duration::from_secs(state.config.upkeep.cleanup_interval.max(1) as u64);
    let keys_state = state.clone();
    every(keys_every, move || {
        let state = keys_state.clone();
        async move {
            if let Err(e) = state.keys.reload().await {
                tracing::warn!(error = %crate::error::Chain(&e), "reloading signing keys failed");
            }
            rotate_keys_if_due(&state).await;
        }
    });
    every(cleanup_every, move || {
        let state = state.clone();
        async move {
            purge_if_due(&state).await;
        }
    });
}

/// Records this node's version every `upgrade::HEARTBEAT`, the first time at once, and marks
/// the node outdated when the installation's upgrade was finished to a newer version
/// (`crate::upgrade`). Every node beats; no lease.
fn heartbeats(state: AppState) {
    let node = format!("{}/{}", state.config.backup.node_name(), std::process::id());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::upgrade::HEARTBEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let beat = crate::upgrade::heartbeat(
                &state.db,
                &node,
                state.started_at,
                state.now(),
                &state.outdated,
            );
            match tokio::time::timeout(store::BACKGROUND_BOUND, beat).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %crate::error::Chain(&e), "recording this node's version failed")
                }
                Err(_) => tracing::warn!("recording this node's version timed out"),
            }
        }
    });
}

/// Runs `job` every `period` (the first run one period after start), never two at once, each
/// run bounded by [`store::BACKGROUND_BOUND`].
fn every<F, Fut>(period: Duration, job: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            // Database work here has no request deadline: a job stuck on a silent
            // connection is dropped, so it frees its pool slot (`store::bounded`).
            if tokio::time::timeout(store::BACKGROUND_BOUND, job())
                .await
                .is_err()
            {
                tracing::warn!(
                    "an upkeep job took too long (database unresponsive?); retried next time"
                );
            }
        }
    });
}

/// The lease of the cleanup job at the default ten-minute period: a little under the period,
/// so the node that ran it last can take it again on time. See [`purge_lease`].
pub const PURGE_LEASE: i64 = 540;

/// The cleanup lease for a period of `interval` seconds: the period less a tenth (at least
/// one second less, and at least one second long).
pub fn purge_lease(interval: i64) -> i64 {
    (interval - (interval / 10).max(1)).max(1)
}

/// The shortest lease of the key rotation job: long enough for generating keys, however
/// often nodes reload. Runs end early anyway: the job re-reads the keys first and does
/// nothing when another node has already rotated.
pub const ROTATE_LEASE_MIN: i64 = 60;

/// This process's name as a lease holder.
pub static NODE_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::crypto::random_token(9));

/// Takes the lease of `job` for `ttl` seconds; logs failures.
async fn lease(state: &AppState, job: &str, ttl: i64) -> bool {
    match store::leases::acquire(&state.db, job, &NODE_ID, state.now(), ttl).await {
        Ok(taken) => taken,
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), job, "taking a job lease failed");
            false
        }
    }
}

/// Runs the cleanup when this node gets its lease (once across the cluster per period);
/// returns whether it ran.
pub async fn purge_if_due(state: &AppState) -> bool {
    let ttl = purge_lease(state.config.upkeep.cleanup_interval);
    if !lease(state, "purge_expired", ttl).await {
        return false;
    }
    crate::metrics::registry::inc(JOBS_RUN, &[("job", "cleanup")]);
    let purged = purge_expired(state).await;
    tracing::debug!(purged, "cleanup ran");
    true
}

/// The scheduled signing-key rotation (`keys.rotate_every`; 0 turns it off): when a current
/// key is due for a successor, or a retired key is past its retention, and this node gets the
/// `rotate_keys` lease, pre-publishes the successors (active after `keys.prepublish`) and
/// deletes expired keys; recorded as `keys.rotated` (actor `scheduler`). Returns whether the
/// job ran.
pub async fn rotate_keys_if_due(state: &AppState) -> bool {
    let k = &state.config.keys;
    let now = state.now();
    if k.rotate_every <= 0 || !state.keys.rotation_due(now, k.prepublish, k.rotate_every) {
        return false;
    }
    let ttl = (2 * k.reload_interval).max(ROTATE_LEASE_MIN);
    if !lease(state, "rotate_keys", ttl).await {
        return false;
    }
    crate::metrics::registry::inc(JOBS_RUN, &[("job", "rotate_keys")]);
    let done = match state
        .keys
        .rotate_scheduled(now, k.prepublish, k.rotate_every)
        .await
    {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "the scheduled key rotation failed");
            return true;
        }
    };
    if !done.deleted.is_empty() {
        tracing::info!(keys = ?done.deleted, "deleted signing keys past their retention");
    }
    if !done.created.is_empty() {
        let keys: Vec<serde_json::Value> = done
            .created
            .iter()
            .map(|(alg, kid)| json!({ "alg": alg.name(), "kid": kid }))
            .collect();
        let activates_at = done.activates_at.unwrap_or(now + k.prepublish);
        tracing::info!(activates_at, "pre-published the next signing keys");
        let event = store::audit::Event {
            kind: "keys.rotated",
            actor_id: Some("scheduler"),
            detail: json!({
                "keys": keys,
                "activates_at": activates_at,
                "deleted": done.deleted,
            }),
            ..Default::default()
        };
        if let Err(e) = store::audit::append(&state.db, &event, now).await {
            tracing::warn!(error = %crate::error::Chain(&e), "recording the key rotation failed");
        }
    }
    true
}

/// How long (seconds) expired, accepted or revoked invitations stay listed.
pub const INVITATION_HISTORY: i64 = 30 * 24 * 3600;

/// Deletes expired sessions, pending requests, codes, revocations, refresh tokens, grants,
/// login keys, spent passkey challenges, old send-limit records, long-ended invitations,
/// delivered (or long undeliverable) mail and month-old webhook messages (SECURITY.md 14.2.7). Returns how many rows went; failures are logged.
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
        store::webauthn_challenges::delete_spent(db, now).await,
        store::login_steps::delete_expired(db, now).await,
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
        // Webhook deliveries stay visible to admins as long as undeliverable mail stays.
        store::webhooks::delete_old(db, now - crate::mail::delivery::KEEP_DEAD).await,
    ];
    let mut purged = 0;
    for r in results {
        match r {
            Ok(n) => purged += n,
            Err(e) => {
                tracing::warn!(error = %crate::error::Chain(&e), "deleting expired rows failed")
            }
        }
    }
    purged
}
