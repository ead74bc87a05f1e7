//! What a destination holds: backups with their size, completeness, pin, last verify and
//! signer (read from the plaintext index, markers and signatures; no identity needed), who
//! signed a backup (checked before anything else of it is read), and pinning.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;

use super::BackupError;
use super::destination::{Destination, DestinationError};
use super::format::{self, Index, Verified};
use super::sign::{SignatureError, Statement, Trust};

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
    /// Who signed it.
    pub signature: Signature,
}

/// Whether a backup is signed by a trusted key (from `signature.json` and `index.json`;
/// nothing is decrypted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signature {
    /// Signed by a trusted key, over this index.
    Trusted,
    /// Signed by a key that is not trusted, or a signature that does not verify or does not
    /// cover this index: not this installation's backup, or damaged.
    Untrusted,
    /// Not signed: a backup of format 1, or incomplete.
    Unsigned,
}

impl Signature {
    /// The word in listings.
    pub fn name(self) -> &'static str {
        match self {
            Signature::Trusted => "signed",
            Signature::Untrusted => "UNTRUSTED",
            Signature::Unsigned => "unsigned",
        }
    }
}

/// The backups at `dest`, oldest first, with whether `trust` vouches for each.
pub async fn list(dest: &dyn Destination, trust: &Trust) -> Result<Vec<Entry>, BackupError> {
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
        let (index, signature) = if !has(format::INDEX) {
            (None, Signature::Unsigned)
        } else if has(format::SIGNATURE) {
            match check_signature(dest, &id, trust, false).await {
                Ok((index, _)) => (Some(index), Signature::Trusted),
                Err(_) => (read_index(dest, &id).await.ok(), Signature::Untrusted),
            }
        } else {
            (read_index(dest, &id).await.ok(), Signature::Unsigned)
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
            signature,
            id,
        });
    }
    Ok(out)
}

/// The index of backup `id` at `dest`.
pub async fn read_index(dest: &dyn Destination, id: &str) -> Result<Index, BackupError> {
    Ok(read_index_bytes(dest, id).await?.0)
}

/// The index of backup `id` at `dest` and its exact bytes (what a signature covers).
pub async fn read_index_bytes(
    dest: &dyn Destination,
    id: &str,
) -> Result<(Index, Bytes), BackupError> {
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
    if index.id != id || !format::readable(index.format) {
        return Err(BackupError::Corrupt(format!(
            "backup {id} at {}: index.json is for {} (format {})",
            dest.name(),
            index.id,
            index.format
        )));
    }
    Ok((index, data))
}

/// A refusal for a signature that is not accepted.
pub fn untrusted(id: &str, dest: &str, e: SignatureError) -> BackupError {
    BackupError::Untrusted(format!("backup {id} at {dest}: {e}; refused"))
}

/// Checks who signed backup `id` at `dest`, before anything else of it is read: its signature
/// must verify with a key of `trust` and cover the exact bytes of its index. Returns the
/// index, its statement (`None` for an unsigned backup of format 1, accepted only with
/// `allow_unsigned`).
pub async fn check_signature(
    dest: &dyn Destination,
    id: &str,
    trust: &Trust,
    allow_unsigned: bool,
) -> Result<(Index, Option<Statement>), BackupError> {
    let name = dest.name();
    let statement = match dest.get(&format::key(id, format::SIGNATURE)).await {
        Ok(stored) => Some(trust.open(&stored).map_err(|e| untrusted(id, name, e))?),
        Err(DestinationError::NotFound(_)) => None,
        Err(e) => return Err(BackupError::Destination(name.to_string(), e.to_string())),
    };
    let (index, index_bytes) = read_index_bytes(dest, id).await?;
    let Some(statement) = statement else {
        if index.format == format::FORMAT_UNSIGNED && allow_unsigned {
            tracing::warn!(destination = %name, backup = %id, "accepting an unsigned backup (format 1) because unsigned backups were allowed");
            return Ok((index, None));
        }
        let e = if index.format == format::FORMAT_UNSIGNED {
            format!(
                "backup {id} at {name} is not signed (format 1: written before backups were signed, or by someone else); refused. Only if you know it was written by this installation before the upgrade, use --allow-unsigned"
            )
        } else {
            format!(
                "backup {id} at {name}: {} is missing, it is not signed; refused",
                format::SIGNATURE
            )
        };
        return Err(BackupError::Untrusted(e));
    };
    match &statement {
        Statement::Backup {
            id: signed_id,
            index_sha256,
            ..
        } if signed_id == id => {
            if *index_sha256 != format::sha256_hex(&index_bytes) {
                return Err(untrusted(
                    id,
                    name,
                    SignatureError::Mismatch("index.json differs from what was signed".into()),
                ));
            }
        }
        _ => {
            return Err(untrusted(
                id,
                name,
                SignatureError::Mismatch("it is the signature of something else".into()),
            ));
        }
    }
    if index.format != format::FORMAT {
        return Err(untrusted(
            id,
            name,
            SignatureError::Mismatch(format!("a signed backup of format {}", index.format)),
        ));
    }
    Ok((index, Some(statement)))
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
