//! What a destination holds: backups with their size, completeness, pin and last verify
//! (read from the plaintext index and markers; no key needed), and pinning.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;

use super::BackupError;
use super::destination::{Destination, DestinationError};
use super::format::{self, Index, Verified};

/// One backup at one destination.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: String,
    /// From the index (or, for an incomplete backup, from its id: 0).
    pub created_at: i64,
    /// Bytes stored (0 when incomplete).
    pub size: u64,
    /// Whether the run finished here: every object written, read back and indexed.
    pub complete: bool,
    pub pinned: bool,
    /// When `nyckel backup verify` last succeeded for it here.
    pub verified_at: Option<i64>,
}

/// The backups at `dest`, oldest first.
pub async fn list(dest: &dyn Destination) -> Result<Vec<Entry>, BackupError> {
    let keys = dest.list("backups/").await.map_err(dest_err(dest))?;
    let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in keys {
        let mut it = k.splitn(3, '/');
        let (Some(_), Some(id), Some(name)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if format::is_id(id) {
            by_id
                .entry(id.to_string())
                .or_default()
                .push(name.to_string());
        }
    }
    let mut out = Vec::with_capacity(by_id.len());
    for (id, names) in by_id {
        let has = |n: &str| names.iter().any(|x| x == n);
        let index = if has(format::INDEX) {
            read_index(dest, &id).await.ok()
        } else {
            None
        };
        let verified_at = if has(format::VERIFIED) {
            dest.get(&format::key(&id, format::VERIFIED))
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Verified>(&b).ok())
                .map(|v| v.verified_at)
        } else {
            None
        };
        out.push(Entry {
            created_at: index.as_ref().map(|i| i.created_at).unwrap_or(0),
            size: index.as_ref().map(Index::size).unwrap_or(0),
            complete: index.is_some(),
            pinned: has(format::PINNED),
            verified_at,
            id,
        });
    }
    Ok(out)
}

/// The index of backup `id` at `dest`.
pub async fn read_index(dest: &dyn Destination, id: &str) -> Result<Index, BackupError> {
    let data = dest
        .get(&format::key(id, format::INDEX))
        .await
        .map_err(|e| match e {
            DestinationError::NotFound(_) => BackupError::Refused(format!(
                "backup {id} is not at destination {} (or did not finish there)",
                dest.name()
            )),
            other => BackupError::Destination(dest.name().to_string(), other.to_string()),
        })?;
    let index: Index = serde_json::from_slice(&data).map_err(|e| {
        BackupError::Corrupt(format!(
            "backup {id} at {}: index.json is damaged: {e}",
            dest.name()
        ))
    })?;
    if index.id != id || index.format != format::FORMAT {
        return Err(BackupError::Corrupt(format!(
            "backup {id} at {}: index.json is for {} (format {})",
            dest.name(),
            index.id,
            index.format
        )));
    }
    Ok(index)
}

/// Pins (or unpins) backup `id` at `dest`: pinned backups are never pruned.
pub async fn set_pinned(dest: &dyn Destination, id: &str, pinned: bool) -> Result<(), BackupError> {
    read_index(dest, id).await?;
    let key = format::key(id, format::PINNED);
    let r = if pinned {
        dest.put(&key, Bytes::from_static(b"pinned\n")).await
    } else {
        dest.delete(&key).await
    };
    r.map_err(dest_err(dest))
}

/// Records a successful verify of `id` at `dest`.
pub async fn mark_verified(
    dest: &dyn Destination,
    id: &str,
    v: &Verified,
) -> Result<(), BackupError> {
    let data = serde_json::to_vec(v).map_err(|e| BackupError::Failed(e.to_string()))?;
    dest.put(&format::key(id, format::VERIFIED), Bytes::from(data))
        .await
        .map_err(dest_err(dest))
}

/// Deletes every object of backup `id` at `dest` (retention).
pub async fn delete(dest: &dyn Destination, id: &str) -> Result<(), BackupError> {
    let keys = dest
        .list(&format!("backups/{id}/"))
        .await
        .map_err(dest_err(dest))?;
    // The index first: a half-deleted backup then reads as incomplete, never as whole.
    let index = format::key(id, format::INDEX);
    if keys.contains(&index) {
        dest.delete(&index).await.map_err(dest_err(dest))?;
    }
    for k in keys.iter().filter(|k| **k != index) {
        dest.delete(k).await.map_err(dest_err(dest))?;
    }
    // The tombstone list written with it stays: the newest lists are kept by the run.
    Ok(())
}

fn dest_err(dest: &dyn Destination) -> impl Fn(DestinationError) -> BackupError + '_ {
    move |e| BackupError::Destination(dest.name().to_string(), e.to_string())
}
