//! Backups (issue 6, SECURITY.md 5.2 B1-B7): a consistent, backend-neutral snapshot of the
//! whole database, zstd-compressed and encrypted to age recipients before it leaves the
//! process, signed with a key derived from the master key (`sign`, issue 15), written to
//! several destinations that are each read back; listing, pinning, verifying (into a scratch
//! database) and restoring into an empty database, after which the erasure tombstones are
//! applied again. A backup's signature is checked before anything else of it is read.
//!
//! No axum here: the CLI (`nyckel backup ...`) calls these functions, and the scheduler can
//! call [`run`] the same way. Signing keys inside stay sealed with the master key, as in the
//! database; the identity that decrypts backups is never stored by Nyckel.

pub mod catalog;
pub mod crypt;
pub mod destination;
pub mod destinations;
pub mod dir;
pub mod format;
pub mod prune;
pub mod restore;
pub mod retention;
pub mod run;
pub mod s3;
pub mod schedule;
pub mod scratch;
pub mod sign;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

pub use catalog::Entry;
pub use run::{DestinationReport, Report};

use crate::config::Config;
use crate::keys::master::{MasterKey, MasterKeyError};
use crate::store::Db;
use destination::{Destination, DestinationError};

/// A configured destination, or why it could not be opened.
pub type OpenDestination = Result<Box<dyn Destination>, (String, DestinationError)>;

/// Why a backup operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Refused on purpose (wrong key, non-empty target, unknown schema, missing backup).
    #[error("{0}")]
    Refused(String),
    /// The backup is damaged: a checksum, size, count or structure does not match.
    #[error("{0}")]
    Corrupt(String),
    /// Not signed by a trusted key (another installation's, unsigned, or the signature does
    /// not verify): never read further.
    #[error("{0}")]
    Untrusted(String),
    #[error("destination {0}: {1}")]
    Destination(String, String),
    #[error("{0}")]
    Crypt(#[from] crypt::CryptError),
    #[error("{0}")]
    Dump(#[from] crate::store::dump::DumpError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Failed(String),
}

/// The scratch folder of backup runs and verifies.
pub fn scratch_root(config: &Config) -> PathBuf {
    config
        .backup
        .scratch_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("backup-scratch"))
}

/// The master key file of this installation (`<keys_dir>/master.key`), if there is one.
pub fn load_master(config: &Config) -> Result<Option<MasterKey>, BackupError> {
    let path = config.keys_dir.join(crate::keys::master::FILE_NAME);
    match MasterKey::load(&path) {
        Ok(m) => Ok(Some(m)),
        Err(MasterKeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(BackupError::Refused(format!(
            "cannot read the master key file: {e}"
        ))),
    }
}

/// The signer of new backups: the key derived from the current master key.
pub fn signer(config: &Config) -> Result<sign::Signer, BackupError> {
    let master = load_master(config)?.ok_or_else(|| {
        BackupError::Refused(format!(
            "cannot sign the backup: {} is missing (backups are signed with a key derived from the master key)",
            config.keys_dir.join(crate::keys::master::FILE_NAME).display()
        ))
    })?;
    Ok(sign::Signer::new(&master))
}

/// The keys whose backups are accepted: derived from every key of the master key file (when
/// there is one here), `backup.trusted_signing_keys`, and `given` (`--trust-key`).
pub fn trust(config: &Config, given: &[String]) -> Result<sign::Trust, BackupError> {
    let master = load_master(config)?;
    sign::Trust::new(master.as_ref(), &config.backup.trusted_signing_keys, given)
        .map_err(BackupError::Refused)
}

/// How `verify` and `restore` decide whom to believe.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Public keys trusted besides the master key file's and the configured ones.
    pub trust_keys: Vec<String>,
    /// Accept backups written before backups were signed (format 1). Such a backup proves
    /// nothing about who wrote it.
    pub allow_unsigned: bool,
}

/// Opens the configured destinations (or only `only`).
pub fn open_destinations(
    config: &Config,
    only: Option<&str>,
) -> Result<Vec<OpenDestination>, BackupError> {
    destinations::build(&config.backup, only).map_err(BackupError::Refused)
}

/// Takes a backup of `db` to every configured destination.
pub async fn run(db: &Db, config: &Config, now: i64) -> Result<Report, BackupError> {
    let signer = signer(config)?;
    let trust = trust(config, &[])?;
    let dests = open_destinations(config, None)?;
    run::run(
        db,
        &config.backup,
        &signer,
        &trust,
        &dests,
        &scratch_root(config),
        now,
    )
    .await
}

/// The backups at each destination.
pub async fn list(
    config: &Config,
    only: Option<&str>,
) -> Result<Vec<(String, Result<Vec<Entry>, BackupError>)>, BackupError> {
    let trust = trust(config, &[])?;
    let mut out = Vec::new();
    for d in open_destinations(config, only)? {
        match d {
            Ok(d) => out.push((
                d.name().to_string(),
                catalog::list(d.as_ref(), &trust).await,
            )),
            Err((name, e)) => out.push((
                name.clone(),
                Err(BackupError::Destination(name, e.to_string())),
            )),
        }
    }
    Ok(out)
}

/// Pins or unpins `id` at every destination that holds it (or only `only`); returns where.
pub async fn set_pinned(
    config: &Config,
    id: &str,
    pinned: bool,
    only: Option<&str>,
) -> Result<Vec<String>, BackupError> {
    check_id(id)?;
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for d in open_destinations(config, only)? {
        match d {
            Ok(d) => match catalog::set_pinned(d.as_ref(), id, pinned).await {
                Ok(()) => done.push(d.name().to_string()),
                Err(BackupError::Refused(_)) => {}
                Err(e) => errors.push(e.to_string()),
            },
            Err((name, e)) => errors.push(format!("destination {name}: {e}")),
        }
    }
    if !errors.is_empty() {
        return Err(BackupError::Failed(errors.join("; ")));
    }
    if done.is_empty() {
        return Err(BackupError::Refused(format!(
            "no destination holds a complete backup {id}"
        )));
    }
    Ok(done)
}

fn check_id(id: &str) -> Result<(), BackupError> {
    if format::is_id(id) {
        Ok(())
    } else {
        Err(BackupError::Refused(format!(
            "{id:?} is not a backup id (see nyckel backup list)"
        )))
    }
}

/// The outcome of verifying one backup at one destination.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub destination: String,
    pub id: Option<String>,
    pub ok: bool,
    pub error: Option<String>,
    pub tables: usize,
    pub rows: u64,
    pub seconds: f64,
    /// Tombstone lists at the destination that a restore would not apply (not signed, or by
    /// a key that is not trusted).
    pub warnings: Vec<String>,
}

/// Verifies backup `id` (default: the newest complete one) at each destination
/// independently, checking everything a restore from there reads: the signature first, then
/// download, decrypt, every checksum, every tombstone list at the destination, a restore into
/// a scratch SQLite database with integrity checks and row counts. A success is recorded at
/// the destination.
pub async fn verify(
    config: &Config,
    id: Option<&str>,
    identity: &Path,
    only: Option<&str>,
    options: &ReadOptions,
    now: i64,
) -> Result<Vec<VerifyReport>, BackupError> {
    if let Some(id) = id {
        check_id(id)?;
    }
    let identities = crypt::read_identities(identity)?;
    let trust = trust(config, &options.trust_keys)?;
    let mut out = Vec::new();
    for d in open_destinations(config, only)? {
        let started = Instant::now();
        let mut report = VerifyReport {
            destination: String::new(),
            id: id.map(str::to_string),
            ok: false,
            error: None,
            tables: 0,
            rows: 0,
            seconds: 0.0,
            warnings: Vec::new(),
        };
        let result = match &d {
            Ok(d) => {
                report.destination = d.name().to_string();
                let how = Reader {
                    identities: &identities,
                    trust: &trust,
                    allow_unsigned: options.allow_unsigned,
                };
                verify_one(config, d.as_ref(), id, &how, now, &mut report).await
            }
            Err((name, e)) => {
                report.destination = name.clone();
                Err(BackupError::Destination(name.clone(), e.to_string()))
            }
        };
        report.seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                report.ok = true;
                tracing::info!(destination = %report.destination, backup = ?report.id, "backup verified");
            }
            Err(e) => {
                tracing::error!(destination = %report.destination, backup = ?report.id, error = %crate::error::Chain(&e), "backup verify failed");
                report.error = Some(e.to_string());
            }
        }
        out.push(report);
    }
    Ok(out)
}

/// What reading a backup needs: the identity, whom to trust, whether unsigned is allowed.
struct Reader<'a> {
    identities: &'a [age::x25519::Identity],
    trust: &'a sign::Trust,
    allow_unsigned: bool,
}

async fn verify_one(
    config: &Config,
    dest: &dyn Destination,
    id: Option<&str>,
    how: &Reader<'_>,
    now: i64,
    report: &mut VerifyReport,
) -> Result<(), BackupError> {
    let identities = how.identities;
    let id = match id {
        Some(id) => id.to_string(),
        None => catalog::list(dest, how.trust)
            .await?
            .into_iter()
            .rev()
            .find(|e| e.complete)
            .map(|e| e.id)
            .ok_or_else(|| {
                BackupError::Refused(format!("no complete backup at {}", dest.name()))
            })?,
    };
    report.id = Some(id.clone());
    let fetched = restore::fetch(dest, &id, identities, how.trust, how.allow_unsigned).await?;
    // Everything a restore from here reads: every tombstone list at this destination too.
    let (_, passed_over) =
        restore::tombstones_at(dest, identities, how.trust, how.allow_unsigned).await?;
    report.warnings = passed_over;
    // The scratch database is plaintext while it lasts: removed at the end, and swept by the
    // next run, verify or server start if this process is killed.
    let work = scratch::WorkDir::create(
        &scratch_root(config),
        &format!("verify-{id}-{}", crate::crypto::random_id()),
    )?;
    let url = format!("sqlite://{}", work.path().join("verify.db").display());
    let scratch = Db::connect_url(&url, 1, std::time::Duration::from_secs(30), "normal")
        .await
        .map_err(|e| BackupError::Failed(format!("scratch database: {e}")))?;
    let rows = restore::load(&scratch, &fetched, identities).await;
    scratch.close().await;
    drop(work);
    let rows = rows?;
    report.tables = fetched.manifest.parts.len();
    report.rows = rows;
    catalog::mark_verified(
        dest,
        &id,
        &format::Verified {
            verified_at: now,
            rows,
        },
    )
    .await
}

/// The outcome of a restore.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub id: String,
    /// The destination the backup was restored from.
    pub destination: String,
    /// Destinations passed over before it, each with why (not there, damaged, not signed by
    /// a trusted key, a tombstone list there that does not check out).
    pub skipped: Vec<String>,
    /// Tombstone lists not applied: not signed or signed by a key that is not trusted (at
    /// any destination), or unreadable at another destination than the one restored from.
    pub warnings: Vec<String>,
    pub tables: usize,
    pub rows: u64,
    /// Tombstones applied (union of the restored database's and the newest lists).
    pub tombstones: usize,
    /// Accounts that the tombstones removed again.
    pub erased_again: u64,
    pub seconds: f64,
}

/// Why no destination could be restored from: the one problem that matters (a damaged copy,
/// a stranger's backup or a wrong key say more than "not here"), or all of them.
fn no_good_copy(id: &str, problems: Vec<(String, BackupError)>) -> BackupError {
    if problems.is_empty() {
        return BackupError::Refused(format!("backup {id} not found"));
    }
    let not_there = |e: &BackupError| matches!(e, BackupError::Refused(m) if m.contains("is not at destination"));
    let meaningful = problems.iter().filter(|(_, e)| !not_there(e)).count();
    if meaningful == 1 || problems.len() == 1 {
        let at = problems
            .iter()
            .position(|(_, e)| !not_there(e))
            .unwrap_or(0);
        return problems.into_iter().nth(at).map_or_else(
            || BackupError::Refused(format!("backup {id} not found")),
            |(_, e)| e,
        );
    }
    BackupError::Refused(format!(
        "backup {id}: no destination holds a good copy: {}",
        problems
            .iter()
            .map(|(name, e)| format!("{name}: {e}"))
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

/// Restores backup `id` into the empty database at `into`: fetched and checked completely
/// first, with every tombstone list at its destination (from `only`, or the first
/// destination that holds a good copy: the report says which, and why others were passed
/// over), then loaded, migrated to this binary's schema, and the tombstones re-applied.
pub async fn restore(
    config: &Config,
    id: &str,
    identity: &Path,
    into: &str,
    only: Option<&str>,
    options: &ReadOptions,
) -> Result<RestoreReport, BackupError> {
    check_id(id)?;
    let started = Instant::now();
    let identities = crypt::read_identities(identity)?;
    let trust = trust(config, &options.trust_keys)?;
    let dests = open_destinations(config, only)?;
    let target = Db::connect_url(into, 4, std::time::Duration::from_secs(30), "full")
        .await
        .map_err(|e| BackupError::Refused(format!("cannot open the target database: {e}")))?;
    restore::ensure_empty(&target).await?;

    // The first destination holding a good copy: the backup and every tombstone list there
    // (a restore from it applies them all), all checked before the target is touched.
    let mut chosen = None;
    let mut problems: Vec<(String, BackupError)> = Vec::new();
    for d in &dests {
        let d = match d {
            Ok(d) => d,
            Err((name, e)) => {
                problems.push((
                    name.clone(),
                    BackupError::Destination(name.clone(), e.to_string()),
                ));
                continue;
            }
        };
        let good = match restore::fetch(d.as_ref(), id, &identities, &trust, options.allow_unsigned)
            .await
        {
            Ok(f) => {
                restore::tombstones_at(d.as_ref(), &identities, &trust, options.allow_unsigned)
                    .await
                    .map(|(t, w)| (f, t, w))
            }
            Err(e) => Err(e),
        };
        match good {
            Ok(found) => {
                chosen = Some(found);
                break;
            }
            Err(e) => problems.push((d.name().to_string(), e)),
        }
    }
    let Some((fetched, mut remote, mut warnings)) = chosen else {
        return Err(no_good_copy(id, problems));
    };
    let skipped: Vec<String> = problems
        .iter()
        .map(|(name, e)| format!("{name}: {e}"))
        .collect();
    // The tombstone lists at the other destinations too (erasures only grow); one that cannot
    // be read there is reported, not fatal: the chosen destination's lists were all good.
    for d in dests.iter().flatten() {
        if d.name() == fetched.destination {
            continue;
        }
        match restore::tombstones_at(d.as_ref(), &identities, &trust, options.allow_unsigned).await
        {
            Ok((list, passed_over)) => {
                remote.extend(list);
                warnings.extend(passed_over);
            }
            Err(e) => {
                tracing::warn!(destination = %d.name(), error = %crate::error::Chain(&e), "tombstone lists not read");
                warnings.push(format!("{}: tombstone lists not read: {e}", d.name()));
            }
        }
    }

    let rows = restore::load(&target, &fetched, &identities).await?;
    target
        .migrate()
        .await
        .map_err(|e| BackupError::Failed(format!("migrating the restored database: {e}")))?;
    let mut all = crate::store::erasure::list(&target)
        .await
        .map_err(|e| BackupError::Failed(e.to_string()))?;
    for t in remote {
        if !all.iter().any(|a| a.sub == t.sub) {
            all.push(t);
        }
    }
    let erased_again = crate::store::erasure::apply_tombstones(&target, &all)
        .await
        .map_err(|e| BackupError::Failed(format!("re-applying tombstones: {e}")))?;
    crate::store::dump::check(&target).await?;
    target.close().await;
    Ok(RestoreReport {
        id: id.to_string(),
        destination: fetched.destination.clone(),
        skipped,
        warnings,
        tables: fetched.manifest.parts.len(),
        rows,
        tombstones: all.len(),
        erased_again,
        seconds: started.elapsed().as_secs_f64(),
    })
}
