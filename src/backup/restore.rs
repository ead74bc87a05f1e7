//! Reading a backup back: its signature first (`sign`: signed by a trusted key, over these
//! exact index bytes), then fetch and check every object (index, manifest, parts: sizes,
//! SHA-256 of the stored object and of the plaintext, row counts) BEFORE anything is written,
//! then load it into an empty database in foreign-key order in one transaction, check the
//! counts and the integrity, and re-apply the erasure tombstones.

use std::io::{BufRead, BufReader, Read};

use bytes::Bytes;

use super::BackupError;
use super::catalog;
use super::crypt::{self, CryptError};
use super::destination::{Destination, DestinationError};
use super::format::{self, Manifest, Part, TombstoneList};
use super::sign::{SignatureError, Statement, Trust};
use crate::store::Db;
use crate::store::dump::{self, Loader, Table, Value};
use crate::store::erasure::Tombstone;

/// A backup fetched from one destination and checked; parts still encrypted.
pub struct Fetched {
    pub destination: String,
    pub manifest: Manifest,
    parts: Vec<(Part, Bytes)>,
}

impl Fetched {
    /// Rows in the backup.
    pub fn rows(&self) -> u64 {
        self.manifest.parts.iter().map(|p| p.rows).sum()
    }
}

fn corrupt(id: &str, dest: &str, what: String) -> BackupError {
    BackupError::Corrupt(format!("backup {id} at {dest}: {what}"))
}

fn crypt_err(id: &str, dest: &str, e: CryptError) -> BackupError {
    match e {
        CryptError::NoMatchingKey(_) => BackupError::Refused(format!("backup {id} at {dest}: {e}")),
        other => corrupt(id, dest, other.to_string()),
    }
}

fn untrusted(id: &str, dest: &str, e: SignatureError) -> BackupError {
    catalog::untrusted(id, dest, e)
}

/// Downloads backup `id` from `dest`, checks its signature with `trust` first, decrypts it
/// with `identities` and checks every checksum and count. Nothing is written anywhere.
pub async fn fetch(
    dest: &dyn Destination,
    id: &str,
    identities: &[age::x25519::Identity],
    trust: &Trust,
    allow_unsigned: bool,
) -> Result<Fetched, BackupError> {
    let name = dest.name().to_string();
    let (index, statement) = catalog::check_signature(dest, id, trust, allow_unsigned).await?;
    let get = |key: String| async move {
        dest.get(&key).await.map_err(|e| match e {
            DestinationError::NotFound(k) => corrupt(id, dest.name(), format!("{k} is missing")),
            other => BackupError::Destination(dest.name().to_string(), other.to_string()),
        })
    };
    let indexed = |obj: &str, data: &Bytes| -> Result<(), BackupError> {
        let entry = index
            .objects
            .iter()
            .find(|o| o.name == obj)
            .ok_or_else(|| corrupt(id, &name, format!("{obj} is not in the index")))?;
        if entry.bytes != data.len() as u64 {
            return Err(corrupt(
                id,
                &name,
                format!(
                    "{obj} has {} bytes, the index says {} (truncated?)",
                    data.len(),
                    entry.bytes
                ),
            ));
        }
        if entry.sha256 != format::sha256_hex(data) {
            return Err(corrupt(id, &name, format!("{obj}: checksum mismatch")));
        }
        Ok(())
    };
    let manifest_data = get(format::key(id, format::MANIFEST)).await?;
    indexed(format::MANIFEST, &manifest_data)?;
    if let Some(Statement::Backup {
        manifest_sha256,
        tombstones_sha256,
        ..
    }) = &statement
    {
        if *manifest_sha256 != format::sha256_hex(&manifest_data) {
            return Err(untrusted(
                id,
                &name,
                SignatureError::Mismatch("the manifest differs from what was signed".into()),
            ));
        }
        // The backup's own tombstone list, while it is kept (the newest few are).
        match dest.get(&format::tombstones_key(id)).await {
            Ok(list) if format::sha256_hex(&list) != *tombstones_sha256 => {
                return Err(untrusted(
                    id,
                    &name,
                    SignatureError::Mismatch(format!(
                        "{} differs from what was signed",
                        format::tombstones_key(id)
                    )),
                ));
            }
            Ok(_) | Err(DestinationError::NotFound(_)) => {}
            Err(e) => return Err(BackupError::Destination(name.clone(), e.to_string())),
        }
    }
    let plain = crypt::decrypt(identities, &manifest_data, format::MANIFEST)
        .map_err(|e| crypt_err(id, &name, e))?;
    let manifest: Manifest = serde_json::from_slice(&plain)
        .map_err(|e| corrupt(id, &name, format!("the manifest does not parse: {e}")))?;
    if manifest.id != id || manifest.format != index.format {
        return Err(corrupt(
            id,
            &name,
            format!(
                "the manifest is for backup {} format {}",
                manifest.id, manifest.format
            ),
        ));
    }
    if index.objects.len() != manifest.parts.len() + 1 {
        return Err(corrupt(
            id,
            &name,
            "the index and the manifest list different objects".into(),
        ));
    }
    let mut parts = Vec::with_capacity(manifest.parts.len());
    for part in &manifest.parts {
        let data = get(format::key(id, &part.object)).await?;
        indexed(&part.object, &data)?;
        if format::sha256_hex(&data) != part.object_sha256 {
            return Err(corrupt(
                id,
                &name,
                format!("{}: checksum differs from the manifest", part.object),
            ));
        }
        check_part(identities, part, &data).map_err(|e| match e {
            BackupError::Corrupt(m) => corrupt(id, &name, m),
            BackupError::Crypt(c) => crypt_err(id, &name, c),
            other => other,
        })?;
        parts.push((part.clone(), data));
    }
    Ok(Fetched {
        destination: name,
        manifest,
        parts,
    })
}

/// A reader of a part's JSON lines.
fn part_reader<'a>(
    identities: &'a [age::x25519::Identity],
    part: &Part,
    data: &'a [u8],
) -> Result<BufReader<impl Read + 'a>, BackupError> {
    let r = crypt::decrypt_reader(identities, data, &part.object)?;
    let z = zstd::Decoder::new(r)?;
    Ok(BufReader::new(z))
}

/// Decrypts and decompresses a part, checking size, SHA-256, header and row count.
fn check_part(
    identities: &[age::x25519::Identity],
    part: &Part,
    data: &[u8],
) -> Result<(), BackupError> {
    let mut reader = part_reader(identities, part, data)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut bytes = 0u64;
    let mut lines = 0u64;
    let mut line = Vec::new();
    let mut header: Option<Table> = None;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(|e| {
            BackupError::Corrupt(format!("{}: {e} (damaged or truncated)", part.object))
        })?;
        if n == 0 {
            break;
        }
        ctx.update(&line);
        bytes += n as u64;
        if header.is_none() {
            header =
                Some(serde_json::from_slice(&line).map_err(|e| {
                    BackupError::Corrupt(format!("{}: bad header: {e}", part.object))
                })?);
        } else {
            lines += 1;
        }
    }
    let sha = format::hex(ctx.finish().as_ref());
    if bytes != part.bytes || sha != part.sha256 {
        return Err(BackupError::Corrupt(format!(
            "{}: the content differs from the manifest's checksum",
            part.object
        )));
    }
    let header =
        header.ok_or_else(|| BackupError::Corrupt(format!("{}: empty part", part.object)))?;
    if header.name != part.table || header.columns != part.columns || lines != part.rows {
        return Err(BackupError::Corrupt(format!(
            "{}: header or row count differs from the manifest",
            part.object
        )));
    }
    Ok(())
}

/// Refuses a target that holds data (a restore never goes over a live database).
pub async fn ensure_empty(target: &Db) -> Result<(), BackupError> {
    if !dump::is_empty(target).await? {
        return Err(BackupError::Refused(
            "the target database is not empty; a restore only goes into a new, empty database (never over a live one)".into(),
        ));
    }
    Ok(())
}

/// Loads a fetched backup into the empty `target`: migrations up to the backup's schema
/// version, rows in foreign-key order in one transaction, counts, integrity. Returns rows.
pub async fn load(
    target: &Db,
    fetched: &Fetched,
    identities: &[age::x25519::Identity],
) -> Result<u64, BackupError> {
    let m = &fetched.manifest;
    let known = dump::known_versions(target.backend());
    if let Some(unknown) = m.schema.iter().find(|s| !known.contains(&s.version)) {
        return Err(BackupError::Refused(format!(
            "backup {} has schema migration {} ({}) that this nyckel ({}) does not know; restore it with a newer release",
            m.id,
            unknown.version,
            unknown.description,
            env!("CARGO_PKG_VERSION")
        )));
    }
    ensure_empty(target).await?;
    dump::migrate_to(target, m.schema_version()).await?;
    let schema = dump::schema(target).await?;
    let names: Vec<String> = m.parts.iter().map(|p| p.table.clone()).collect();
    for n in &names {
        if !schema.iter().any(|t| &t.name == n) {
            return Err(BackupError::Refused(format!(
                "table {n} of the backup is not in the target schema"
            )));
        }
    }
    let order = dump::fk_order(target, &names).await?;
    let mut tx = target
        .begin()
        .await
        .map_err(|e| BackupError::Failed(e.to_string()))?;
    for t in order.iter().rev() {
        dump::clear(&mut tx, t).await?;
    }
    let mut total = 0;
    for table in &order {
        let Some((part, data)) = fetched.parts.iter().find(|(p, _)| &p.table == table) else {
            continue;
        };
        let target_table = schema
            .iter()
            .find(|t| &t.name == table)
            .ok_or_else(|| BackupError::Failed(format!("{table} vanished")))?;
        let source = Table {
            name: part.table.clone(),
            columns: part.columns.clone(),
        };
        let mut loader = Loader::new(&mut tx, &source, target_table)?;
        let mut reader = part_reader(identities, part, data)?;
        let mut line = String::new();
        reader.read_line(&mut line)?; // the header, checked by fetch
        loop {
            let mut batch: Vec<Vec<Value>> = Vec::with_capacity(512);
            while batch.len() < 512 {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    break;
                }
                batch.push(serde_json::from_str(&line).map_err(|e| {
                    BackupError::Corrupt(format!("{}: a row does not parse: {e}", part.object))
                })?);
            }
            if batch.is_empty() {
                break;
            }
            for row in batch {
                loader.push(row).await?;
            }
        }
        let loaded = loader.finish().await?;
        let counted = dump::count(&mut tx, table).await?;
        if loaded != part.rows || counted != part.rows {
            return Err(BackupError::Corrupt(format!(
                "{table}: {} rows in the backup, {loaded} loaded, {counted} counted",
                part.rows
            )));
        }
        total += loaded;
    }
    tx.commit()
        .await
        .map_err(|e| BackupError::Failed(e.to_string()))?;
    dump::check(target).await?;
    Ok(total)
}

/// Every person erased according to the tombstone lists kept at `dest`: the union of all
/// lists there (each run writes one and the newest few are kept). Erasures only grow, so the
/// union is right whatever order the lists were written in (backup ids made within one
/// second do not sort by time). Also returns what was passed over, for the report.
///
/// Each list's signature is checked before it is decrypted. A list signed by a trusted key
/// must be exactly what was signed, decrypt and parse, or the whole call fails, naming the
/// list: a restore from this destination would miss its erasures. A list signed by a key
/// that is not trusted (another installation's, or a master key forgotten and not listed in
/// `backup.trusted_signing_keys`) or not signed at all (written before backups were signed;
/// read when `allow_unsigned`) is not applied and is reported: every newer list of ours holds
/// the tombstones of ours.
pub async fn tombstones_at(
    dest: &dyn Destination,
    identities: &[age::x25519::Identity],
    trust: &Trust,
    allow_unsigned: bool,
) -> Result<(Vec<Tombstone>, Vec<String>), BackupError> {
    let name = dest.name();
    let dest_err = |e: DestinationError| BackupError::Destination(name.to_string(), e.to_string());
    let keys = dest
        .list(format::TOMBSTONES_PREFIX)
        .await
        .map_err(dest_err)?;
    let mut all: std::collections::BTreeMap<String, Tombstone> = std::collections::BTreeMap::new();
    let mut passed_over = Vec::new();
    for key in &keys {
        let Some(id) = format::tombstones_id(key) else {
            continue;
        };
        let bad =
            |what: String| BackupError::Corrupt(format!("tombstone list {key} at {name}: {what}"));
        let data = dest.get(key).await.map_err(dest_err)?;
        match list_signature(dest, trust, id, &data).await? {
            ListSignature::Signed => {}
            ListSignature::Unsigned if allow_unsigned => {
                tracing::warn!(destination = %name, list = %key, "reading an unsigned tombstone list because unsigned backups were allowed");
            }
            ListSignature::Unsigned => {
                passed_over.push(format!(
                    "tombstone list {key} at {name} is not signed: not applied"
                ));
                continue;
            }
            ListSignature::Untrusted(why) => {
                passed_over.push(format!(
                    "tombstone list {key} at {name}: {why}: not applied"
                ));
                continue;
            }
        }
        let plain = crypt::decrypt(identities, &data, key).map_err(|e| match e {
            CryptError::NoMatchingKey(_) => {
                BackupError::Refused(format!("tombstone list {key} at {name}: {e}"))
            }
            other => bad(other.to_string()),
        })?;
        let list: TombstoneList =
            serde_json::from_slice(&plain).map_err(|e| bad(format!("it does not parse: {e}")))?;
        for t in list.tombstones {
            all.entry(t.sub.clone()).or_insert(t);
        }
    }
    for p in &passed_over {
        tracing::warn!(destination = %name, "{p}");
    }
    Ok((all.into_values().collect(), passed_over))
}

/// Whether a tombstone list is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSignature {
    /// Signed by a trusted key, over exactly these bytes.
    Signed,
    /// No signature (written before backups were signed).
    Unsigned,
    /// A signature by a key that is not trusted (why, for the report).
    Untrusted(String),
}

/// Checks the signature of the tombstone list of backup `id` at `dest`, whose bytes are
/// `data`. `Err(BackupError::Destination)` when the signature could not be read; any other
/// error means the list is damaged or not what its signature covers.
pub async fn list_signature(
    dest: &dyn Destination,
    trust: &Trust,
    id: &str,
    data: &[u8],
) -> Result<ListSignature, BackupError> {
    let key = format::tombstones_key(id);
    let name = dest.name();
    let bad =
        |what: String| BackupError::Corrupt(format!("tombstone list {key} at {name}: {what}"));
    let stored = match dest.get(&format::tombstones_sig_key(id)).await {
        Ok(stored) => stored,
        Err(DestinationError::NotFound(_)) => return Ok(ListSignature::Unsigned),
        Err(e) => return Err(BackupError::Destination(name.to_string(), e.to_string())),
    };
    match trust.open(&stored) {
        Ok(Statement::Tombstones {
            id: signed_id,
            sha256,
            ..
        }) if signed_id == id => {
            if sha256 == format::sha256_hex(data) {
                Ok(ListSignature::Signed)
            } else {
                Err(bad(
                    "its content differs from what was signed (damaged or replaced)".into(),
                ))
            }
        }
        Ok(_) => Err(bad("the signature is for something else".into())),
        Err(e @ SignatureError::Untrusted { .. }) => Ok(ListSignature::Untrusted(e.to_string())),
        Err(e) => Err(bad(e.to_string())),
    }
}
