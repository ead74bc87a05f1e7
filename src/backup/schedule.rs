//! The nightly backup: every node checks on a short tick whether the configured local time
//! (`backup.schedule` in `backup.timezone`) has passed without a run; the first node to take
//! the `backup` lease (`store::leases`) runs the backup and then prunes every destination;
//! the others skip. The result, overall and per destination, goes to the log and to
//! `backup_status` (`store::backup_status`), which every node's metrics read. Inactive when
//! no destinations are configured.

use std::time::Duration;

use serde::Serialize;

use super::prune::PruneReport;
use crate::config::Config;
use crate::state::AppState;
use crate::store::{self, Db};

/// The lease's job name.
pub const JOB: &str = "backup";
/// How long the lease is held: longer than any run, so no other node starts one meanwhile.
pub const LEASE: i64 = 6 * 3600;
/// How often each node checks whether a run is due.
pub const TICK: Duration = Duration::from_secs(30);
/// A run missed at its time (every node down) is still taken this long afterwards.
pub const CATCH_UP: i64 = 6 * 3600;

/// What one scheduled run did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub at: i64,
    /// Whether the backup reached every destination and every destination was pruned.
    pub ok: bool,
    /// The backup written (absent when the snapshot itself failed).
    pub backup: Option<super::Report>,
    /// Why no backup was written at all.
    pub error: Option<String>,
    pub pruned: Vec<PruneReport>,
}

impl Outcome {
    /// Whether destination `name` got this run's backup.
    pub fn written_to(&self, name: &str) -> bool {
        self.backup
            .as_ref()
            .is_some_and(|r| r.destinations.iter().any(|d| d.name == name && d.ok))
    }
}

/// Starts the schedule on this node (nothing when no destinations are configured).
pub fn spawn(state: AppState) {
    if state.config.backup.destinations.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let holder = crate::crypto::random_token(9);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            run_if_due(&state, &holder).await;
        }
    });
}

/// The most recent scheduled time at or before `now` (unix seconds).
pub fn due_slot(config: &Config, now: i64) -> Result<i64, String> {
    let (h, m) = config.backup.schedule_time()?;
    let tz = config.backup.time_zone()?;
    let today = jiff::Timestamp::from_second(now)
        .map_err(|e| e.to_string())?
        .to_zoned(tz.clone())
        .date();
    let at = |d: jiff::civil::Date| -> Result<i64, String> {
        // A time that a DST change skips runs at the first moment after it; a repeated one
        // at its first occurrence.
        Ok(d.at(h, m, 0, 0)
            .to_zoned(tz.clone())
            .map_err(|e| e.to_string())?
            .timestamp()
            .as_second())
    };
    let slot = at(today)?;
    if slot <= now {
        Ok(slot)
    } else {
        at(today.yesterday().map_err(|e| e.to_string())?)
    }
}

/// Runs the backup when it is due and this node gets the lease; returns what the run did
/// (`None`: not due, or another node has it).
pub async fn run_if_due(state: &AppState, holder: &str) -> Option<Outcome> {
    let config = &state.config;
    if config.backup.destinations.is_empty() {
        return None;
    }
    let now = state.now();
    let slot = match due_slot(config, now) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "backup schedule");
            return None;
        }
    };
    if now - slot > CATCH_UP || ran_since(&state.db, slot).await {
        return None;
    }
    match store::leases::acquire(&state.db, JOB, holder, now, LEASE).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "taking the backup lease failed");
            return None;
        }
    }
    // Another node may have finished this slot's run just before.
    if ran_since(&state.db, slot).await {
        return None;
    }
    Some(run_now(&state.db, config, now).await)
}

async fn ran_since(db: &Db, slot: i64) -> bool {
    match store::backup_status::last_run_at(db).await {
        Ok(last) => last.is_some_and(|t| t >= slot),
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "reading the last backup run failed");
            // Unknown: do not risk a second run.
            true
        }
    }
}

/// One run at `now`: backup to every destination, prune every destination, record and log
/// the result. What the schedule calls after taking the lease.
pub async fn run_now(db: &Db, config: &Config, now: i64) -> Outcome {
    let mut outcome = Outcome {
        at: now,
        ok: false,
        backup: None,
        error: None,
        pruned: Vec::new(),
    };
    match super::run(db, config, now).await {
        Ok(report) => outcome.backup = Some(report),
        Err(e) => {
            tracing::error!(error = %crate::error::Chain(&e), "scheduled backup failed: nothing was written");
            outcome.error = Some(e.to_string());
        }
    }
    match super::prune::prune(config, None, now, false).await {
        Ok(p) => outcome.pruned = p,
        Err(e) => {
            tracing::error!(error = %crate::error::Chain(&e), "pruning backups failed");
            outcome.error.get_or_insert_with(|| e.to_string());
        }
    }
    let backup_ok = outcome.backup.as_ref().is_some_and(super::Report::ok);
    outcome.ok = backup_ok && outcome.error.is_none() && outcome.pruned.iter().all(|p| p.ok);

    // Per destination: ok when the backup was written and read back there (pruning failures
    // are logged but do not make the copy less good).
    for d in &config.backup.destinations {
        let ok = outcome.written_to(&d.name);
        let id = outcome.backup.as_ref().map(|r| r.id.as_str());
        if let Err(e) = store::backup_status::record(db, &d.name, now, ok, id).await {
            tracing::warn!(destination = %d.name, error = %crate::error::Chain(&e), "recording the backup result failed");
        }
        let pruned = outcome.pruned.iter().find(|p| p.destination == d.name);
        if ok {
            tracing::info!(
                destination = %d.name,
                backup = id.unwrap_or_default(),
                deleted = pruned.map_or(0, |p| p.deleted.len()),
                "scheduled backup ok at this destination"
            );
        } else {
            let error = outcome
                .backup
                .as_ref()
                .and_then(|r| r.destinations.iter().find(|x| x.name == d.name))
                .and_then(|x| x.error.clone())
                .or_else(|| outcome.error.clone())
                .unwrap_or_default();
            tracing::error!(destination = %d.name, %error, "scheduled backup FAILED at this destination");
        }
    }
    let id = outcome.backup.as_ref().map(|r| r.id.as_str());
    if let Err(e) =
        store::backup_status::record(db, store::backup_status::OVERALL, now, outcome.ok, id).await
    {
        tracing::warn!(error = %crate::error::Chain(&e), "recording the backup result failed");
    }
    outcome
}
