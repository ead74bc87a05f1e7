//! Pruning: after each run, every destination keeps what its retention policy
//! (`retention::to_delete`, GFS by civil dates in the schedule's time zone) keeps, plus
//! pinned backups and the newest verified one; every object of the other backups is
//! deleted. Only backups signed by a trusted key (`sign`) take part; others are reported and
//! left alone. Backups a failed run left incomplete are deleted once a day old. Each destination
//! is pruned on its own: one that cannot be reached is reported and stops none.

use serde::Serialize;

use super::BackupError;
use super::catalog::{self, Entry, Signature};
use super::destination::Destination;
use super::retention::{self, Candidate, Policy};
use super::sign::Trust;
use crate::config::Config;

/// How long an incomplete backup (a run that failed at that destination) may stay, seconds.
pub const INCOMPLETE_GRACE: i64 = 86_400;

/// What pruning did (or, dry, would do) at one destination.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub destination: String,
    pub ok: bool,
    pub error: Option<String>,
    /// Complete backups kept, oldest first.
    pub kept: Vec<String>,
    /// Backups deleted (or to delete, when dry), oldest first.
    pub deleted: Vec<String>,
    /// Complete backups not signed by a trusted key (another installation's, or written
    /// before backups were signed): retention neither counts nor deletes them.
    pub not_trusted: Vec<String>,
    pub dry_run: bool,
}

/// Prunes every configured destination (or only `only`).
pub async fn prune(
    config: &Config,
    only: Option<&str>,
    now: i64,
    dry_run: bool,
) -> Result<Vec<PruneReport>, BackupError> {
    let tz = config.backup.time_zone().map_err(BackupError::Refused)?;
    let trust = super::trust(config, &[])?;
    if trust.is_empty() {
        return Err(BackupError::Refused(
            "cannot tell this installation's backups from others: no master key file in keys_dir and no backup.trusted_signing_keys".into(),
        ));
    }
    let mut out = Vec::new();
    for d in super::open_destinations(config, only)? {
        let report = match d {
            Ok(d) => {
                let policy = config.backup.policy_for(d.name());
                prune_one(d.as_ref(), &trust, &policy, &tz, now, dry_run).await
            }
            Err((name, e)) => PruneReport {
                error: Some(format!("destination {name}: {e}")),
                destination: name,
                ok: false,
                kept: Vec::new(),
                deleted: Vec::new(),
                not_trusted: Vec::new(),
                dry_run,
            },
        };
        match &report.error {
            None => tracing::info!(
                destination = %report.destination,
                kept = report.kept.len(),
                deleted = report.deleted.len(),
                dry_run,
                "backups pruned"
            ),
            Some(error) => tracing::error!(
                destination = %report.destination,
                %error,
                "pruning backups failed at this destination"
            ),
        }
        out.push(report);
    }
    Ok(out)
}

/// The civil date of `unix` in `tz`.
pub fn civil_date_in(tz: &jiff::tz::TimeZone, unix: i64) -> jiff::civil::Date {
    crate::clock::instant(unix).to_zoned(tz.clone()).date()
}

/// The creation time in a backup id (`YYYYMMDDTHHMMSSZ-xxxxxx`, UTC).
pub fn id_time(id: &str) -> Option<i64> {
    let time = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", id.get(..16)?).ok()?;
    let utc = time.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(utc.timestamp().as_second())
}

/// The ids `policy` deletes among `entries`: complete backups signed by a trusted key and
/// not kept by a rule (never pinned ones nor the newest verified), and incomplete ones older
/// than [`INCOMPLETE_GRACE`]. Complete backups without a trusted signature take no part:
/// someone else's backups must neither push ours out of retention nor be deleted as ours.
pub fn choose(
    entries: &[Entry],
    policy: &Policy,
    tz: &jiff::tz::TimeZone,
    now: i64,
) -> Vec<String> {
    let candidates: Vec<Candidate> = entries
        .iter()
        .filter(|e| e.complete && e.signature == Signature::Trusted)
        .map(|e| Candidate {
            id: e.id.clone(),
            created_at: e.created_at,
            date: civil_date_in(tz, e.created_at),
            pinned: e.pinned,
            verified: e.verified_at.is_some(),
        })
        .collect();
    let mut delete = retention::to_delete(policy, &candidates);
    // Belt and braces: whatever the rules say, pinned backups stay.
    delete.retain(|id| !entries.iter().any(|e| &e.id == id && e.pinned));
    for e in entries.iter().filter(|e| !e.complete && !e.pinned) {
        if id_time(&e.id).is_some_and(|t| t + INCOMPLETE_GRACE <= now) {
            delete.push(e.id.clone());
        }
    }
    delete.sort();
    delete
}

async fn prune_one(
    dest: &dyn Destination,
    trust: &Trust,
    policy: &Policy,
    tz: &jiff::tz::TimeZone,
    now: i64,
    dry_run: bool,
) -> PruneReport {
    let mut report = PruneReport {
        destination: dest.name().to_string(),
        ok: false,
        error: None,
        kept: Vec::new(),
        deleted: Vec::new(),
        not_trusted: Vec::new(),
        dry_run,
    };
    let entries = match catalog::list(dest, trust).await {
        Ok(e) => e,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let delete = choose(&entries, policy, tz, now);
    report.kept = entries
        .iter()
        .filter(|e| e.complete && e.signature == Signature::Trusted && !delete.contains(&e.id))
        .map(|e| e.id.clone())
        .collect();
    report.not_trusted = entries
        .iter()
        .filter(|e| e.complete && e.signature != Signature::Trusted)
        .map(|e| e.id.clone())
        .collect();
    if !report.not_trusted.is_empty() {
        tracing::warn!(
            destination = %report.destination,
            backups = %report.not_trusted.join(" "),
            "backups not signed by a trusted key: left alone by retention; check and delete them by hand"
        );
    }
    let mut errors = Vec::new();
    for id in delete {
        if !dry_run && let Err(e) = catalog::delete(dest, &id).await {
            errors.push(format!("deleting {id}: {e}"));
            continue;
        }
        report.deleted.push(id);
    }
    report.ok = errors.is_empty();
    if !errors.is_empty() {
        report.error = Some(errors.join("; "));
    }
    report
}
