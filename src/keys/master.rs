//! The master keys: 32-byte keys in `<keys_dir>/master.key` (mode 0600; format in
//! [`super::master_file`]), the first created on first start. The current key seals signing
//! keys and queued messages at rest with AES-256-GCM, so a database dump or backup alone
//! cannot sign tokens or read messages, and keys the HMACs of values that must not be
//! recomputable from a dump (login codes, send-limit recipients), and is the root the
//! backup-signing key is derived from ([`MasterKey::derived`], `backup::sign`). Older (retired)
//! and staged keys only open, so `nyckel keys rotate-master` needs no downtime (docs/keys.md).
//!
//! A sealed value names the key that sealed it (`v1.<key id>.<data>`); values sealed before
//! key ids existed (bare base64url) are opened by trying each key. A missing master key next
//! to a database that holds sealed keys is a hard error: Nyckel never silently replaces keys
//! (SECURITY.md R13).

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::master_file::{self, Entry, FileError, KeyState};
use crate::crypto::{b64, b64_decode, fill_random};

/// Why the master key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    File(#[from] FileError),
    #[error(
        "{0} is missing, but the database holds signing keys sealed with a master key; restore the master key from your key escrow (Nyckel will not replace it)"
    )]
    MissingForExistingKeys(PathBuf),
    #[error(
        "a sealed value could not be opened with the master keys (wrong master key or damaged data)"
    )]
    Unseal,
    #[error(
        "a sealed value names master key {0}, which is not in the master key file (copy the current file from the node where it was changed)"
    )]
    UnknownKey(String),
    #[error("{0}")]
    Rotation(String),
}

/// The master keys of this node, as read from the file.
#[derive(Clone)]
pub struct MasterKey {
    path: PathBuf,
    /// The current key first.
    entries: Vec<Entry>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// The file name inside `keys_dir`.
pub const FILE_NAME: &str = "master.key";

/// The prefix of values sealed with a named key.
const SEALED_V1: &str = "v1.";

impl MasterKey {
    /// Reads the master keys, or creates the file with one new key when absent and
    /// `may_create` is true.
    pub fn load_or_create(keys_dir: &Path, may_create: bool) -> Result<Self, MasterKeyError> {
        let path = keys_dir.join(FILE_NAME);
        match Self::load(&path) {
            Err(MasterKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                if !may_create {
                    return Err(MasterKeyError::MissingForExistingKeys(path));
                }
                create_private_dir(keys_dir).map_err(|source| MasterKeyError::Io {
                    path: path.clone(),
                    source,
                })?;
                let entries = vec![new_entry(KeyState::Current)];
                write_private_file(&path, master_file::format(&entries).as_bytes()).map_err(
                    |source| MasterKeyError::Io {
                        path: path.clone(),
                        source,
                    },
                )?;
                Ok(Self { path, entries })
            }
            other => other,
        }
    }

    /// Reads the master key file at `path`.
    pub fn load(path: &Path) -> Result<Self, MasterKeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| MasterKeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let entries = master_file::parse(path, &text)?;
        Ok(Self {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Reads the file again (running nodes do so on every key reload).
    pub fn reread(&self) -> Result<Self, MasterKeyError> {
        Self::load(&self.path)
    }

    /// Where the keys are read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.entries[0].id
    }

    /// Every key's id and state, current first.
    pub fn list(&self) -> Vec<(String, KeyState)> {
        self.entries
            .iter()
            .map(|e| (e.id.clone(), e.state))
            .collect()
    }

    /// Whether the file lists the same keys in the same states.
    pub fn same_keys(&self, other: &MasterKey) -> bool {
        self.list() == other.list()
    }

    /// Encrypts `plain` under the current key; `context` is authenticated (binds the
    /// ciphertext to e.g. a key id).
    pub fn seal(&self, plain: &[u8], context: &str) -> String {
        let current = &self.entries[0];
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut buf = plain.to_vec();
        // Sealing with a fresh random nonce and a valid key cannot fail.
        aead(&current.key)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .expect("AES-GCM sealing failed");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("{SEALED_V1}{}.{}", current.id, b64(&out))
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same `context`, under whichever
    /// key of the file sealed it.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, MasterKeyError> {
        self.open_with_id(sealed, context).map(|(plain, _)| plain)
    }

    /// [`MasterKey::open`], also saying which key opened it.
    pub fn open_with_id(
        &self,
        sealed: &str,
        context: &str,
    ) -> Result<(Vec<u8>, String), MasterKeyError> {
        if let Some(rest) = sealed.strip_prefix(SEALED_V1) {
            let (id, data) = rest.split_once('.').ok_or(MasterKeyError::Unseal)?;
            let entry = self
                .entries
                .iter()
                .find(|e| e.id == id)
                .ok_or_else(|| MasterKeyError::UnknownKey(id.to_string()))?;
            let plain = open_raw(&entry.key, data, context)?;
            return Ok((plain, entry.id.clone()));
        }
        // Sealed before values named their key: try each.
        for entry in &self.entries {
            if let Ok(plain) = open_raw(&entry.key, sealed, context) {
                return Ok((plain, entry.id.clone()));
            }
        }
        Err(MasterKeyError::Unseal)
    }

    /// A keyed MAC (HMAC-SHA256) of `data` under a key derived from the current master key
    /// for `purpose` (e.g. `login-code`): values that must not be recomputable from a database
    /// dump alone, such as hashes of short codes.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        mac_with(&self.entries[0].key, purpose, data)
    }

    /// [`MasterKey::mac`] under every key of the file, current first: for checking a stored
    /// MAC that may have been made before the current key was promoted.
    pub fn macs(&self, purpose: &str, data: &[u8]) -> Vec<[u8; 32]> {
        self.entries
            .iter()
            .map(|e| mac_with(&e.key, purpose, data))
            .collect()
    }

    /// A 32-byte secret derived for `purpose` from every key of the file, current first, with
    /// the key's id and state: for keys that must be recoverable from the escrowed master key
    /// file alone and never be stored anywhere, such as the backup-signing key
    /// (`backup::sign`). Never print or log the result.
    pub fn derived(&self, purpose: &str) -> Vec<(String, KeyState, [u8; 32])> {
        self.entries
            .iter()
            .map(|e| {
                (
                    e.id.clone(),
                    e.state,
                    mac_with(&e.key, &format!("derive:{purpose}"), b"v1"),
                )
            })
            .collect()
    }

    /// With a new staged key added (in memory: [`MasterKey::save`] writes the file); refuses
    /// when one is staged already. Returns the new key's id.
    pub fn with_staged(&self) -> Result<(Self, String), MasterKeyError> {
        if let Some(s) = self.staged_id() {
            return Err(MasterKeyError::Rotation(format!(
                "master key {s} is already staged; promote it with `nyckel keys rotate-master`"
            )));
        }
        let staged = new_entry(KeyState::Staged);
        let id = staged.id.clone();
        let mut entries = self.entries.clone();
        entries.insert(1, staged);
        Ok((self.with(entries), id))
    }

    /// The staged key's id, if one is staged.
    pub fn staged_id(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.state == KeyState::Staged)
            .map(|e| e.id.as_str())
    }

    /// With the staged key current and the current one retired (in memory). Returns the
    /// former current key's id.
    pub fn promoted(&self) -> Result<(Self, String), MasterKeyError> {
        let Some(staged) = self.entries.iter().find(|e| e.state == KeyState::Staged) else {
            return Err(MasterKeyError::Rotation(
                "no staged master key to promote".into(),
            ));
        };
        let mut entries = vec![Entry {
            state: KeyState::Current,
            ..staged.clone()
        }];
        for e in &self.entries {
            match e.state {
                KeyState::Current => entries.push(Entry {
                    state: KeyState::Retired,
                    ..e.clone()
                }),
                KeyState::Retired => entries.push(e.clone()),
                KeyState::Staged => {}
            }
        }
        let old = self.entries[0].id.clone();
        Ok((self.with(entries), old))
    }

    /// Without the retired keys (in memory). Returns the removed ids.
    pub fn without_retired(&self) -> (Self, Vec<String>) {
        let (keep, gone): (Vec<Entry>, Vec<Entry>) = self
            .entries
            .iter()
            .cloned()
            .partition(|e| e.state != KeyState::Retired);
        (self.with(keep), gone.into_iter().map(|e| e.id).collect())
    }

    /// Writes these keys to the file, atomically.
    pub fn save(&self) -> Result<(), MasterKeyError> {
        master_file::write_atomic(&self.path, master_file::format(&self.entries).as_bytes())?;
        Ok(())
    }

    fn with(&self, entries: Vec<Entry>) -> Self {
        Self {
            path: self.path.clone(),
            entries,
        }
    }
}

fn new_entry(state: KeyState) -> Entry {
    let mut key = [0u8; 32];
    fill_random(&mut key);
    Entry {
        id: master_file::key_id(&key),
        state,
        key,
    }
}

fn aead(key: &[u8; 32]) -> LessSafeKey {
    // A 32-byte key is always valid for AES-256-GCM.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES key"))
}

fn open_raw(key: &[u8; 32], sealed: &str, context: &str) -> Result<Vec<u8>, MasterKeyError> {
    let data = b64_decode(sealed).ok_or(MasterKeyError::Unseal)?;
    if data.len() < NONCE_LEN {
        return Err(MasterKeyError::Unseal);
    }
    let (nonce, ct) = data.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Unseal)?;
    let mut buf = ct.to_vec();
    let plain = aead(key)
        .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
        .map_err(|_| MasterKeyError::Unseal)?;
    Ok(plain.to_vec())
}

fn mac_with(key: &[u8; 32], purpose: &str, data: &[u8]) -> [u8; 32] {
    let master = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let derived = ring::hmac::sign(&master, format!("nyckel-mac:{purpose}").as_bytes());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref());
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::hmac::sign(&key, data).as_ref());
    out
}

/// Creates a directory readable only by its owner (if it does not exist yet).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Writes a new file with mode 0600, refusing to overwrite, and syncs it to disk.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = std::fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let dir = tempdir();
        let key = MasterKey::load_or_create(&dir, true).expect("create");
        let sealed = key.seal(b"secret", "kid-1");
        assert!(sealed.starts_with(&format!("v1.{}.", key.current_id())));
        assert_eq!(key.open(&sealed, "kid-1").expect("open"), b"secret");
        assert!(key.open(&sealed, "kid-2").is_err());
        let again = MasterKey::load_or_create(&dir, false).expect("reload");
        assert_eq!(again.open(&sealed, "kid-1").expect("open"), b"secret");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.join(FILE_NAME))
                .expect("meta")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn missing_key_is_not_recreated_when_forbidden() {
        let dir = tempdir();
        assert!(matches!(
            MasterKey::load_or_create(&dir, false),
            Err(MasterKeyError::MissingForExistingKeys(_))
        ));
    }

    #[test]
    fn stage_promote_forget_keeps_old_values_open_until_forgotten() {
        let dir = tempdir();
        create_private_dir(&dir).expect("dir");
        // The original format: one bare key; values sealed without a key id.
        let old = [9u8; 32];
        write_private_file(&dir.join(FILE_NAME), b64(&old).as_bytes()).expect("write");
        let first = MasterKey::load_or_create(&dir, false).expect("load");
        let legacy = {
            let mut nonce = [0u8; NONCE_LEN];
            fill_random(&mut nonce);
            let mut buf = b"legacy".to_vec();
            aead(&old)
                .seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(&b"ctx"[..]),
                    &mut buf,
                )
                .expect("seal");
            let mut out = nonce.to_vec();
            out.extend_from_slice(&buf);
            b64(&out)
        };
        assert_eq!(first.open(&legacy, "ctx").expect("legacy"), b"legacy");
        let code_mac = first.mac("login-code", b"r1");

        let (staged, new_id) = first.with_staged().expect("stage");
        staged.save().expect("save");
        assert!(staged.with_staged().is_err(), "one staged key at a time");
        assert_eq!(
            staged.current_id(),
            first.current_id(),
            "staged does not seal"
        );
        let (promoted, old_id) = staged.promoted().expect("promote");
        promoted.save().expect("save");
        assert_eq!(promoted.current_id(), new_id);
        assert_eq!(old_id, first.current_id());
        let reread = promoted.reread().expect("reread");
        assert!(reread.same_keys(&promoted));
        assert_eq!(reread.open(&legacy, "ctx").expect("still opens"), b"legacy");
        assert!(reread.macs("login-code", b"r1").contains(&code_mac));
        assert_ne!(reread.mac("login-code", b"r1"), code_mac);
        let sealed_new = reread.seal(b"n", "c");

        let (forgotten, gone) = reread.without_retired();
        forgotten.save().expect("save");
        assert_eq!(gone, vec![old_id.clone()]);
        assert!(forgotten.open(&legacy, "ctx").is_err());
        assert_eq!(forgotten.open(&sealed_new, "c").expect("new"), b"n");
        // A value naming a key the file does not hold says so.
        let sealed_old = first.seal(b"x", "c");
        assert!(matches!(
            forgotten.open(&sealed_old, "c"),
            Err(MasterKeyError::UnknownKey(id)) if id == old_id
        ));
        let text = std::fs::read_to_string(dir.join(FILE_NAME)).expect("read");
        assert!(!text.contains(&b64(&old)));
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempdir() -> PathBuf {
        std::env::temp_dir().join(format!("nyckel-mk-{}", crate::crypto::random_id()))
    }
}
