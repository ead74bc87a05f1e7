//! One backup run: a consistent snapshot whose rows are streamed through zstd into age, one
//! encrypted part per table written to the run's own scratch folder (so the snapshot is short
//! and memory stays bounded; nothing unencrypted reaches the disk), then every destination in
//! turn: parts, manifest and the signed tombstone list uploaded and each read back and
//! compared, then the backup's signature (`sign`) and the index last. A failing destination
//! is reported and does not stop the others. Part objects get random names (`format`).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use bytes::Bytes;
use serde::Serialize;

use super::crypt::{self, HashWriter};
use super::destination::Destination;
use super::format::{self, Index, Manifest, Object, Part, TombstoneList};
use super::restore::{self, ListSignature};
use super::scratch::WorkDir;
use super::sign::{Signer, Statement, Trust};
use super::{BackupError, OpenDestination};
use crate::config::BackupConfig;
use crate::store::Db;
use crate::store::dump::{DumpError, Snapshot};

/// What happened at one destination.
#[derive(Debug, Clone, Serialize)]
pub struct DestinationReport {
    pub name: String,
    pub ok: bool,
    pub error: Option<String>,
    /// Bytes written there.
    pub bytes: u64,
    pub seconds: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: String,
    pub created_at: i64,
    pub tables: usize,
    pub rows: u64,
    /// Size of the backup as stored (encrypted), per destination.
    pub bytes: u64,
    pub snapshot_seconds: f64,
    pub destinations: Vec<DestinationReport>,
}

impl Report {
    /// Whether every destination holds a complete, read-back copy.
    pub fn ok(&self) -> bool {
        !self.destinations.is_empty() && self.destinations.iter().all(|d| d.ok)
    }
}

/// Takes a backup of `db` and writes it to `destinations`; `scratch_root` holds temporary
/// files. Fails (no destination touched) when the snapshot or encryption fails; otherwise
/// returns a report with one entry per destination.
pub async fn run(
    db: &Db,
    config: &BackupConfig,
    signer: &Signer,
    trust: &Trust,
    destinations: &[OpenDestination],
    scratch_root: &Path,
    now: i64,
) -> Result<Report, BackupError> {
    let recipients = crypt::recipients(&config.recipients)?;
    let id = format::new_id(now);
    // Removed however the run ends; leftovers of a killed run are swept first.
    let scratch = WorkDir::create(scratch_root, &id)?;

    let started = Instant::now();
    let mut snapshot = Snapshot::open(db).await?;
    let source = match snapshot.backend() {
        crate::store::Backend::Sqlite => "sqlite",
        crate::store::Backend::Postgres => "postgres",
    };
    let schema = snapshot.migrations().await?;
    let tables = snapshot.tables().await?;
    let mut parts = Vec::with_capacity(tables.len());
    for table in &tables {
        let object = format::new_part_object();
        let file = std::fs::File::create(scratch.path().join(&object))?;
        let outer = HashWriter::new(BufWriter::new(file));
        let age = crypt::encrypt_to(&recipients, outer)?;
        let zstd = zstd::Encoder::new(age, 3)?;
        let mut plain = HashWriter::new(zstd);
        serde_json::to_writer(&mut plain, table).map_err(|e| BackupError::Failed(e.to_string()))?;
        plain.write_all(b"\n")?;
        let rows = snapshot
            .each_row(table, |values| {
                serde_json::to_writer(&mut plain, &values)
                    .map_err(|e| DumpError::Invalid(e.to_string()))?;
                plain.write_all(b"\n")?;
                Ok(())
            })
            .await?;
        let (zstd, bytes, sha256) = plain.finish();
        let age = zstd.finish()?;
        let outer = age.finish()?;
        let (buf, object_bytes, object_sha256) = outer.finish();
        buf.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        parts.push(Part {
            table: table.name.clone(),
            object,
            columns: table.columns.clone(),
            rows,
            bytes,
            sha256,
            object_bytes,
            object_sha256,
        });
    }
    snapshot.close().await?;
    let snapshot_seconds = started.elapsed().as_secs_f64();

    let manifest = Manifest {
        format: format::FORMAT,
        id: id.clone(),
        created_at: now,
        node: config.node_name(),
        source: source.into(),
        nyckel_version: env!("CARGO_PKG_VERSION").into(),
        schema,
        parts,
    };
    let manifest_bytes = Bytes::from(crypt::encrypt(
        &recipients,
        &serde_json::to_vec(&manifest).map_err(|e| BackupError::Failed(e.to_string()))?,
    )?);
    let tombstones = TombstoneList {
        format: format::FORMAT,
        created_at: now,
        tombstones: crate::store::erasure::list(db)
            .await
            .map_err(DumpError::from)?,
    };
    let tombstone_bytes = Bytes::from(crypt::encrypt(
        &recipients,
        &serde_json::to_vec(&tombstones).map_err(|e| BackupError::Failed(e.to_string()))?,
    )?);
    let tombstones_sha256 = format::sha256_hex(&tombstone_bytes);
    let tombstone_sig = Bytes::from(signer.sign(&Statement::Tombstones {
        id: id.clone(),
        created_at: now,
        sha256: tombstones_sha256.clone(),
    }));
    let signed = Signed {
        signer,
        trust,
        manifest_sha256: format::sha256_hex(&manifest_bytes),
        tombstones_sha256,
        tombstone_sig,
    };

    let mut reports = Vec::with_capacity(destinations.len());
    let mut stored = 0;
    for dest in destinations {
        let started = Instant::now();
        let (name, result) = match dest {
            Ok(d) => (
                d.name().to_string(),
                write_one(
                    d.as_ref(),
                    scratch.path(),
                    &manifest,
                    &manifest_bytes,
                    &tombstone_bytes,
                    &signed,
                )
                .await,
            ),
            Err((name, e)) => (name.clone(), Err(e.to_string())),
        };
        let report = match result {
            Ok(bytes) => {
                stored = bytes;
                tracing::info!(destination = %name, backup = %id, bytes, "backup written and read back");
                DestinationReport {
                    name,
                    ok: true,
                    error: None,
                    bytes,
                    seconds: started.elapsed().as_secs_f64(),
                }
            }
            Err(error) => {
                tracing::error!(destination = %name, backup = %id, %error, "backup failed at this destination");
                DestinationReport {
                    name,
                    ok: false,
                    error: Some(error),
                    bytes: 0,
                    seconds: started.elapsed().as_secs_f64(),
                }
            }
        };
        reports.push(report);
    }
    Ok(Report {
        id,
        created_at: now,
        tables: manifest.parts.len(),
        rows: manifest.parts.iter().map(|p| p.rows).sum(),
        bytes: stored,
        snapshot_seconds,
        destinations: reports,
    })
}

/// Stores `data` under `key` and reads it back; returns the object's index entry.
async fn put_checked(
    dest: &dyn Destination,
    key: &str,
    name: &str,
    data: Bytes,
) -> Result<Object, String> {
    let sha256 = format::sha256_hex(&data);
    let bytes = data.len() as u64;
    dest.put(key, data)
        .await
        .map_err(|e| format!("writing {key}: {e}"))?;
    let back = dest
        .get(key)
        .await
        .map_err(|e| format!("reading back {key}: {e}"))?;
    if back.len() as u64 != bytes || format::sha256_hex(&back) != sha256 {
        return Err(format!("{key} read back differs from what was written"));
    }
    Ok(Object {
        name: name.to_string(),
        bytes,
        sha256,
    })
}

/// What the signatures of a run need.
struct Signed<'a> {
    signer: &'a Signer,
    /// Which tombstone lists at a destination are ours (pruning them).
    trust: &'a Trust,
    manifest_sha256: String,
    tombstones_sha256: String,
    /// The tombstone list's signature (the same at every destination).
    tombstone_sig: Bytes,
}

/// Writes one backup to one destination; returns the bytes stored.
async fn write_one(
    dest: &dyn Destination,
    scratch: &Path,
    manifest: &Manifest,
    manifest_bytes: &Bytes,
    tombstone_bytes: &Bytes,
    signed: &Signed<'_>,
) -> Result<u64, String> {
    let id = &manifest.id;
    let mut objects = Vec::with_capacity(manifest.parts.len() + 1);
    // In the order of their random names, so that neither the index nor the order of writes
    // follows the tables.
    let mut parts: Vec<&Part> = manifest.parts.iter().collect();
    parts.sort_by(|a, b| a.object.cmp(&b.object));
    for part in parts {
        let data = std::fs::read(scratch.join(&part.object))
            .map_err(|e| format!("reading the scratch copy of {}: {e}", part.object))?;
        let o = put_checked(
            dest,
            &format::key(id, &part.object),
            &part.object,
            Bytes::from(data),
        )
        .await?;
        if o.sha256 != part.object_sha256 {
            return Err(format!("{} changed in the scratch folder", part.object));
        }
        objects.push(o);
    }
    objects.push(
        put_checked(
            dest,
            &format::key(id, format::MANIFEST),
            format::MANIFEST,
            manifest_bytes.clone(),
        )
        .await?,
    );
    put_checked(
        dest,
        &format::tombstones_key(id),
        "tombstones",
        tombstone_bytes.clone(),
    )
    .await?;
    put_checked(
        dest,
        &format::tombstones_sig_key(id),
        "tombstones signature",
        signed.tombstone_sig.clone(),
    )
    .await?;
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    let index = Index {
        format: format::FORMAT,
        id: id.clone(),
        created_at: manifest.created_at,
        objects,
    };
    let size = index.size();
    let index_bytes = serde_json::to_vec_pretty(&index).map_err(|e| e.to_string())?;
    // The signature before the index: a backup with an index is complete and signed.
    let signature = signed.signer.sign(&Statement::Backup {
        id: id.clone(),
        created_at: manifest.created_at,
        index_sha256: format::sha256_hex(&index_bytes),
        manifest_sha256: signed.manifest_sha256.clone(),
        tombstones_sha256: signed.tombstones_sha256.clone(),
    });
    put_checked(
        dest,
        &format::key(id, format::SIGNATURE),
        format::SIGNATURE,
        Bytes::from(signature),
    )
    .await?;
    put_checked(
        dest,
        &format::key(id, format::INDEX),
        format::INDEX,
        Bytes::from(index_bytes),
    )
    .await?;
    prune_tombstone_lists(dest, signed.trust).await;
    Ok(size)
}

/// How many of the newest good tombstone lists each destination keeps.
const KEEP_LISTS: usize = 7;

/// Older tombstone lists are superseded by newer ones (each holds every tombstone): the
/// newest seven whose signature checks out stay, each with its signature. Lists that do not
/// check out (damaged, unsigned from before signing, another installation's) would stop every
/// restore from this destination, and the list just written holds every tombstone, so they
/// are removed with a warning. A list that cannot be read now is left for the next run.
async fn prune_tombstone_lists(dest: &dyn Destination, trust: &Trust) {
    let Ok(keys) = dest.list(format::TOMBSTONES_PREFIX).await else {
        return;
    };
    let mut ids: Vec<&str> = keys
        .iter()
        .filter_map(|k| format::tombstones_id(k))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut kept = 0;
    for id in ids.iter().rev() {
        let key = format::tombstones_key(id);
        let Ok(data) = dest.get(&key).await else {
            continue;
        };
        let why = match restore::list_signature(dest, trust, id, &data).await {
            Ok(ListSignature::Signed) if kept < KEEP_LISTS => {
                kept += 1;
                continue;
            }
            Ok(ListSignature::Signed) => None,
            Ok(ListSignature::Unsigned) => Some("not signed".to_string()),
            Ok(ListSignature::Untrusted(why)) => Some(why),
            Err(BackupError::Destination(..)) => continue,
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = why {
            tracing::warn!(destination = %dest.name(), list = %key, reason = %why, "removing a tombstone list that does not check out (the list just written holds every tombstone)");
        }
        let _ = dest.delete(&key).await;
        let _ = dest.delete(&format::tombstones_sig_key(id)).await;
    }
    // Signatures whose list is gone.
    for k in &keys {
        if let Some(id) = k
            .strip_prefix(format::TOMBSTONES_PREFIX)
            .and_then(|r| r.strip_suffix(format::TOMBSTONES_SIG_SUFFIX))
            && !ids.contains(&id)
        {
            let _ = dest.delete(k).await;
        }
    }
}
