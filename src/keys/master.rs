//! The master key: 32 random bytes in `<keys_dir>/master.key` (mode 0600), created on first
//! start. It seals signing keys at rest with AES-256-GCM, so a database dump or backup alone
//! cannot sign tokens. A missing master key next to a database that holds sealed keys is a
//! hard error: Nyckel never silently replaces keys (SECURITY.md R13).

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::crypto::{b64, b64_decode, fill_random};

/// Why the master key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} does not hold a valid master key (32 bytes, base64url)")]
    Malformed(PathBuf),
    #[error(
        "{0} is missing, but the database holds signing keys sealed with a master key; restore the master key from your key escrow (Nyckel will not replace it)"
    )]
    MissingForExistingKeys(PathBuf),
    #[error(
        "a sealed key could not be opened with this master key (wrong master key or damaged data)"
    )]
    Unseal,
}

/// The key that seals signing keys.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// The file name inside `keys_dir`.
pub const FILE_NAME: &str = "master.key";

impl MasterKey {
    /// Reads the master key, or creates it when absent and `may_create` is true.
    pub fn load_or_create(keys_dir: &Path, may_create: bool) -> Result<Self, MasterKeyError> {
        let path = keys_dir.join(FILE_NAME);
        let io = |source| MasterKeyError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = b64_decode(text.trim())
                    .filter(|b| b.len() == 32)
                    .ok_or_else(|| MasterKeyError::Malformed(path.clone()))?;
                let mut key = [0u8; 32];
                key.copy_from_slice(&bytes);
                Ok(Self { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !may_create {
                    return Err(MasterKeyError::MissingForExistingKeys(path));
                }
                create_private_dir(keys_dir).map_err(io)?;
                let mut key = [0u8; 32];
                fill_random(&mut key);
                write_private_file(&path, b64(&key).as_bytes()).map_err(io)?;
                Ok(Self { key })
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts `plain`; `context` is authenticated (binds the ciphertext to e.g. a key id).
    pub fn seal(&self, plain: &[u8], context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce);
        let mut buf = plain.to_vec();
        let key = self.aead();
        // Sealing with a fresh random nonce and a valid key cannot fail.
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context.as_bytes()),
            &mut buf,
        )
        .expect("AES-GCM sealing failed");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        b64(&out)
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Vec<u8>, MasterKeyError> {
        let data = b64_decode(sealed).ok_or(MasterKeyError::Unseal)?;
        if data.len() < NONCE_LEN {
            return Err(MasterKeyError::Unseal);
        }
        let (nonce, ct) = data.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Unseal)?;
        let mut buf = ct.to_vec();
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| MasterKeyError::Unseal)?;
        Ok(plain.to_vec())
    }

    /// A keyed MAC (HMAC-SHA256) of `data` under a key derived from the master key for
    /// `purpose` (e.g. `login-code`): values that must not be recomputable from a database
    /// dump alone, such as hashes of short codes.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        let master = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.key);
        let derived = ring::hmac::sign(&master, format!("nyckel-mac:{purpose}").as_bytes());
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref());
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::hmac::sign(&key, data).as_ref());
        out
    }

    fn aead(&self) -> LessSafeKey {
        // A 32-byte key is always valid for AES-256-GCM.
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.key).expect("32-byte AES key"))
    }
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
    if let Some(parent) = path.parent() {
        if let Ok(dir) = std::fs::File::open(parent) {
            let _ = dir.sync_all();
        }
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

    fn tempdir() -> PathBuf {
        std::env::temp_dir().join(format!("nyckel-mk-{}", crate::crypto::random_id()))
    }
}
