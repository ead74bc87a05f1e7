//! The backup format (version 2): what objects a backup consists of, their keys at a
//! destination, the encrypted manifest, the plaintext index and the signatures.
//!
//! ```text
//! backups/<id>/<random>.age           one part per table, named by 16 random bytes (hex) so
//!                                      that no name at the destination says which table it
//!                                      is (only the encrypted manifest does): a header line
//!                                      {"name", "columns"}, then one JSON array per row; zstd,
//!                                      then age
//! backups/<id>/manifest.json.age       the manifest (encrypted): schema, counts, checksums
//! backups/<id>/signature.json          the signed statement over index, manifest and
//!                                      tombstone list (`sign`); written just before the index
//! backups/<id>/index.json              written last, after every object read back: object
//!                                      names, sizes and checksums, sorted by name (no row
//!                                      counts, no table names)
//! backups/<id>/pinned                  marker: kept forever by retention
//! backups/<id>/verified.json           marker: the last successful `backup verify`
//! tombstones/<id>.json.age             the erasure tombstones at the time of backup <id>
//! tombstones/<id>.sig                  the signed statement over that list
//! ```
//! A backup without `index.json` is incomplete (a run that failed at that destination).
//! Version 1 is version 2 without signatures: it is still read, but only when the operator
//! allows unsigned backups (`--allow-unsigned`).

use serde::{Deserialize, Serialize};

use crate::store::dump::{Column, Migration};

/// The format this binary writes.
pub const FORMAT: u32 = 2;
/// The format of backups written before backups were signed (read with `--allow-unsigned`).
pub const FORMAT_UNSIGNED: u32 = 1;

/// Whether this binary reads format `format`.
pub fn readable(format: u32) -> bool {
    format == FORMAT || format == FORMAT_UNSIGNED
}

/// The key of an object of backup `id`.
pub fn key(id: &str, name: &str) -> String {
    format!("backups/{id}/{name}")
}

/// A new object name for a part: random, so that nothing but the encrypted manifest says
/// which table a part holds. (Version 1 named parts `<table>.jsonl.zst.age`; readers take the
/// name from the manifest either way.)
pub fn new_part_object() -> String {
    let mut r = [0u8; 16];
    crate::crypto::fill_random(&mut r);
    format!("{}.age", hex(&r))
}

pub const MANIFEST: &str = "manifest.json.age";
pub const INDEX: &str = "index.json";
pub const PINNED: &str = "pinned";
pub const VERIFIED: &str = "verified.json";
pub const SIGNATURE: &str = "signature.json";
pub const TOMBSTONES_PREFIX: &str = "tombstones/";
/// How a tombstone list's key ends.
pub const TOMBSTONES_SUFFIX: &str = ".json.age";
/// How a tombstone list's signature's key ends.
pub const TOMBSTONES_SIG_SUFFIX: &str = ".sig";

/// The key of the tombstone list written with backup `id`.
pub fn tombstones_key(id: &str) -> String {
    format!("{TOMBSTONES_PREFIX}{id}{TOMBSTONES_SUFFIX}")
}

/// The key of the signature of the tombstone list written with backup `id`.
pub fn tombstones_sig_key(id: &str) -> String {
    format!("{TOMBSTONES_PREFIX}{id}{TOMBSTONES_SIG_SUFFIX}")
}

/// The backup id of a tombstone list's key, if it is one.
pub fn tombstones_id(key: &str) -> Option<&str> {
    key.strip_prefix(TOMBSTONES_PREFIX)?
        .strip_suffix(TOMBSTONES_SUFFIX)
        .filter(|id| is_id(id))
}

/// A new backup id: the UTC creation time (sorts chronologically) and a random suffix.
pub fn new_id(now: i64) -> String {
    let mut r = [0u8; 3];
    crate::crypto::fill_random(&mut r);
    format!(
        "{}-{:02x}{:02x}{:02x}",
        crate::clock::instant(now).strftime("%Y%m%dT%H%M%SZ"),
        r[0],
        r[1],
        r[2]
    )
}

/// Whether `id` has the shape [`new_id`] gives (ids come from command lines and listings).
pub fn is_id(id: &str) -> bool {
    id.len() == 23
        && id
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == 'T' || c == 'Z' || c == '-')
}

/// One table's part, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub table: String,
    /// The object name under `backups/<id>/`.
    pub object: String,
    pub columns: Vec<Column>,
    pub rows: u64,
    /// Size and SHA-256 (hex) of the plaintext JSON lines.
    pub bytes: u64,
    pub sha256: String,
    /// Size and SHA-256 (hex) of the encrypted object as stored.
    pub object_bytes: u64,
    pub object_sha256: String,
}

/// The manifest (stored encrypted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub created_at: i64,
    pub node: String,
    /// `sqlite` or `postgres`.
    pub source: String,
    pub nyckel_version: String,
    /// The applied migrations: the schema version.
    pub schema: Vec<Migration>,
    pub parts: Vec<Part>,
}

impl Manifest {
    /// The newest applied migration.
    pub fn schema_version(&self) -> i64 {
        self.schema.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

/// One stored object, as the index records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Object {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The plaintext index, written last: a backup with an index is complete and was read back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    pub format: u32,
    pub id: String,
    pub created_at: i64,
    pub objects: Vec<Object>,
}

impl Index {
    /// Bytes stored for the backup.
    pub fn size(&self) -> u64 {
        self.objects.iter().map(|o| o.bytes).sum()
    }
}

/// The `verified.json` marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verified {
    pub verified_at: i64,
    pub rows: u64,
}

/// The tombstone list (stored encrypted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TombstoneList {
    pub format: u32,
    pub created_at: i64,
    pub tombstones: Vec<crate::store::erasure::Tombstone>,
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&crate::crypto::sha256(data))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_ids() {
        assert!(new_id(0).starts_with("19700101T000000Z-"));
        assert!(new_id(951_782_400).starts_with("20000229T000000Z-"));
        let id = new_id(1_735_689_599);
        assert!(id.starts_with("20241231T235959Z-"), "{id}");
        assert!(is_id(&id));
        assert!(!is_id("../../etc/passwd"));
        let (a, b) = (new_part_object(), new_part_object());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert!(a.ends_with(".age") && a[..32].chars().all(|c| c.is_ascii_hexdigit()));
    }
}
