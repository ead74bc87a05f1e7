//! Backup signatures (issue 15): who wrote a backup. age encrypts to public recipients, so
//! anyone who can write to a destination could put a backup of their own there, encrypted to
//! ours; the signature is what tells this installation's backups from everyone else's.
//!
//! **The key.** An Ed25519 key derived from the current master key
//! ([`MasterKey::derived`], purpose `backup-signing-ed25519`): it is never stored anywhere,
//! not in the database, not in a backup, not at a destination. Every node with the same
//! `master.key` signs with the same key, and the master key file that operators already keep
//! offline (docs/backups.md) is all it takes to get it back after losing the server. Rotating
//! the master key (`nyckel keys rotate-master`) rotates it.
//!
//! **What is signed.** A [`Statement`] per backup: its id, creation time and the SHA-256 of
//! the exact bytes of `index.json` (which lists every object's size and SHA-256, the manifest's
//! included), of the encrypted manifest and of the backup's tombstone list; and one per
//! tombstone list, which outlives its backup (the newest lists are kept), over the SHA-256 of
//! the encrypted list. The statement's JSON bytes are signed after a domain-separation prefix
//! and stored next to what they cover ([`Envelope`]): `backups/<id>/signature.json`,
//! `tombstones/<id>.sig`.
//!
//! **Who is trusted** ([`Trust`]): the keys derived from every key of the local master key
//! file (current, staged, retired: a backup signed before a rotation verifies while the old
//! master key is in the file), the public keys in `backup.trusted_signing_keys`, and those
//! given with `--trust-key`. Verification needs only public keys, so `verify` also runs on a
//! machine without the master key. A signature is checked before anything else of a backup is
//! read or decrypted.

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::crypto::{b64, b64_decode};
use crate::keys::master::MasterKey;

/// The derivation purpose of the backup-signing key.
const PURPOSE: &str = "backup-signing-ed25519";
/// Signed before the statement's bytes, so these signatures mean nothing anywhere else.
const DOMAIN: &[u8] = b"nyckel backup signature v1\n";
/// How public keys are written (configuration, `--trust-key`, envelopes).
pub const PUBLIC_PREFIX: &str = "ed25519:";
/// The envelope format.
const ENVELOPE_FORMAT: u32 = 1;

/// A backup-signing public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Parses `ed25519:<32 bytes, base64url>`.
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let bad = || {
            format!(
                "{text:?} is not a backup-signing public key (ed25519:<base64url>, see `nyckel backup signing-key`)"
            )
        };
        let raw = text.trim().strip_prefix(PUBLIC_PREFIX).ok_or_else(bad)?;
        let bytes = b64_decode(raw).filter(|b| b.len() == 32).ok_or_else(bad)?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(PublicKey(key))
    }

    /// The text form, `ed25519:<base64url>`.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_PREFIX}{}", b64(&self.0))
    }

    /// A short fingerprint for messages and listings (8 bytes of its SHA-256, base64url).
    pub fn id(&self) -> String {
        b64(&crate::crypto::sha256(&self.0)[..8])
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.id())
    }
}

/// What a signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Statement {
    /// A backup: `backups/<id>/signature.json`.
    Backup {
        id: String,
        created_at: i64,
        /// SHA-256 (hex) of the exact bytes of `index.json`.
        index_sha256: String,
        /// SHA-256 (hex) of the encrypted manifest as stored.
        manifest_sha256: String,
        /// SHA-256 (hex) of the encrypted tombstone list written with the backup.
        tombstones_sha256: String,
    },
    /// A tombstone list: `tombstones/<id>.sig`.
    Tombstones {
        id: String,
        created_at: i64,
        /// SHA-256 (hex) of the encrypted list as stored.
        sha256: String,
    },
}

/// A signed statement as stored: the statement's exact bytes, who signed them, the signature.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: u32,
    /// The signer's public key, `ed25519:...`.
    key: String,
    /// The statement's JSON, base64url.
    statement: String,
    /// Ed25519 over [`DOMAIN`] + the statement's bytes, base64url.
    signature: String,
}

/// Why a signature was not accepted. Messages name keys by fingerprint only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("it is not signed")]
    Missing,
    #[error("its signature cannot be read ({0})")]
    Unreadable(String),
    #[error(
        "it is signed by backup-signing key {key_id}, which is not a trusted key of this installation (a backup made by another installation?){hint}"
    )]
    Untrusted { key_id: String, hint: String },
    #[error("its signature by backup-signing key {key_id} does not verify (forged or damaged)")]
    Invalid { key_id: String },
    #[error("the signature does not cover it: {0} (forged or damaged)")]
    Mismatch(String),
}

/// Signs with the key derived from the current master key.
pub struct Signer {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({})", self.public.id())
    }
}

impl Signer {
    /// The signer of the current master key.
    pub fn new(master: &MasterKey) -> Signer {
        let derived = master.derived(PURPOSE);
        // The current key is always first, and the file always has one.
        let (_, _, seed) = &derived[0];
        signer_from_seed(seed)
    }

    /// Its public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The stored form of `statement`, signed.
    pub fn sign(&self, statement: &Statement) -> Vec<u8> {
        // A statement of strings and integers always serialises.
        let bytes = serde_json::to_vec(statement).unwrap_or_default();
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(&bytes);
        let signature = self.pair.sign(&message);
        let envelope = Envelope {
            format: ENVELOPE_FORMAT,
            key: self.public.to_text(),
            statement: b64(&bytes),
            signature: b64(signature.as_ref()),
        };
        serde_json::to_vec_pretty(&envelope).unwrap_or_default()
    }
}

fn signer_from_seed(seed: &[u8; 32]) -> Signer {
    // Any 32 bytes are a valid Ed25519 seed.
    let pair = Ed25519KeyPair::from_seed_unchecked(seed).expect("a 32-byte Ed25519 seed");
    let mut public = [0u8; 32];
    public.copy_from_slice(pair.public_key().as_ref());
    Signer {
        pair,
        public: PublicKey(public),
    }
}

/// The backup-signing public key of every key of `master` (current first), with the master
/// key's id: what `nyckel keys rotate-master` reports.
pub fn public_keys(master: &MasterKey) -> Vec<(String, PublicKey)> {
    master
        .derived(PURPOSE)
        .into_iter()
        .map(|(id, _, seed)| (id, signer_from_seed(&seed).public))
        .collect()
}

/// Where a trusted key comes from (for `nyckel backup signing-key`).
#[derive(Debug, Clone, Serialize)]
pub struct TrustedKey {
    pub id: String,
    pub public_key: String,
    /// `master key <id> (current|staged|retired)`, `backup.trusted_signing_keys` or
    /// `--trust-key`.
    pub source: String,
}

/// The public keys whose signatures are accepted.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    keys: Vec<(PublicKey, String)>,
}

impl Trust {
    /// The keys derived from every key of `master` (when there is a master key file), the
    /// configured ones and those given on the command line.
    pub fn new(
        master: Option<&MasterKey>,
        configured: &[String],
        given: &[String],
    ) -> Result<Trust, String> {
        let mut trust = Trust::default();
        if let Some(master) = master {
            for (id, state, seed) in master.derived(PURPOSE) {
                let public = signer_from_seed(&seed).public;
                trust.add(public, format!("master key {id} ({})", state.name()));
            }
        }
        for text in configured {
            trust.add(
                PublicKey::parse(text)?,
                "backup.trusted_signing_keys".into(),
            );
        }
        for text in given {
            trust.add(PublicKey::parse(text)?, "--trust-key".into());
        }
        Ok(trust)
    }

    fn add(&mut self, key: PublicKey, source: String) {
        if !self.keys.iter().any(|(k, _)| *k == key) {
            self.keys.push((key, source));
        }
    }

    /// Whether no key is trusted at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The trusted keys, in the order above.
    pub fn keys(&self) -> Vec<TrustedKey> {
        self.keys
            .iter()
            .map(|(k, source)| TrustedKey {
                id: k.id(),
                public_key: k.to_text(),
                source: source.clone(),
            })
            .collect()
    }

    /// Checks a stored signature and returns the statement it vouches for.
    pub fn open(&self, stored: &[u8]) -> Result<Statement, SignatureError> {
        let envelope: Envelope = serde_json::from_slice(stored)
            .map_err(|e| SignatureError::Unreadable(e.to_string()))?;
        if envelope.format != ENVELOPE_FORMAT {
            return Err(SignatureError::Unreadable(format!(
                "format {} is not {ENVELOPE_FORMAT}",
                envelope.format
            )));
        }
        let key = PublicKey::parse(&envelope.key).map_err(SignatureError::Unreadable)?;
        if !self.keys.iter().any(|(k, _)| *k == key) {
            let hint = if self.is_empty() {
                "; no key is trusted at all: put the master key file (keys/master.key, kept offline) in keys_dir, or list the public keys in backup.trusted_signing_keys or --trust-key".to_string()
            } else {
                String::new()
            };
            return Err(SignatureError::Untrusted {
                key_id: key.id(),
                hint,
            });
        }
        let invalid = || SignatureError::Invalid { key_id: key.id() };
        let bytes = b64_decode(&envelope.statement).ok_or_else(invalid)?;
        let signature = b64_decode(&envelope.signature).ok_or_else(invalid)?;
        let mut message = DOMAIN.to_vec();
        message.extend_from_slice(&bytes);
        UnparsedPublicKey::new(&ED25519, &key.0)
            .verify(&message, &signature)
            .map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|e| SignatureError::Unreadable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> (MasterKey, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("nyckel-sign-{}", crate::crypto::random_id()));
        (MasterKey::load_or_create(&dir, true).expect("master"), dir)
    }

    fn statement() -> Statement {
        Statement::Tombstones {
            id: "20250301T020000Z-3fa2c1".into(),
            created_at: 1,
            sha256: "00".into(),
        }
    }

    #[test]
    fn signatures_verify_only_with_a_trusted_key_and_unchanged() {
        let (m, dir) = master();
        let signer = Signer::new(&m);
        assert_eq!(Signer::new(&m).public(), signer.public(), "deterministic");
        let stored = signer.sign(&statement());
        let trust = Trust::new(Some(&m), &[], &[]).expect("trust");
        assert_eq!(trust.open(&stored).expect("verifies"), statement());

        // Another installation's master key: not trusted, whatever it signs.
        let (other, other_dir) = master();
        let foreign = Signer::new(&other).sign(&statement());
        assert!(matches!(
            trust.open(&foreign),
            Err(SignatureError::Untrusted { .. })
        ));
        // ... unless its public key is given.
        let given =
            Trust::new(Some(&m), &[], &[Signer::new(&other).public().to_text()]).expect("trust");
        assert!(given.open(&foreign).is_ok());

        // A changed statement under the original signature.
        let mut envelope: Envelope = serde_json::from_slice(&stored).expect("json");
        let changed = Statement::Tombstones {
            id: "20250301T020000Z-3fa2c1".into(),
            created_at: 1,
            sha256: "01".into(),
        };
        envelope.statement = b64(&serde_json::to_vec(&changed).expect("json"));
        let tampered = serde_json::to_vec(&envelope).expect("json");
        assert!(matches!(
            trust.open(&tampered),
            Err(SignatureError::Invalid { .. })
        ));
        assert!(matches!(
            Trust::default().open(&stored),
            Err(SignatureError::Untrusted { hint, .. }) if !hint.is_empty()
        ));
        assert!(matches!(
            trust.open(b"{}"),
            Err(SignatureError::Unreadable(_))
        ));
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(other_dir);
    }

    #[test]
    fn a_rotated_master_key_signs_with_a_new_key_and_keeps_trusting_the_old_one() {
        let (m, dir) = master();
        let old = Signer::new(&m);
        let (staged, _) = m.with_staged().expect("stage");
        let (promoted, _) = staged.promoted().expect("promote");
        let new = Signer::new(&promoted);
        assert_ne!(old.public(), new.public());
        let trust = Trust::new(Some(&promoted), &[], &[]).expect("trust");
        assert!(trust.open(&old.sign(&statement())).is_ok(), "retired key");
        assert!(trust.open(&new.sign(&statement())).is_ok());
        let (forgotten, _) = promoted.without_retired();
        let trust = Trust::new(Some(&forgotten), &[], &[]).expect("trust");
        assert!(trust.open(&old.sign(&statement())).is_err());
        let trust = Trust::new(Some(&forgotten), &[old.public().to_text()], &[]).expect("trust");
        assert!(trust.open(&old.sign(&statement())).is_ok(), "configured");
        assert!(PublicKey::parse("ed25519:abc").is_err());
        assert_eq!(
            PublicKey::parse(&old.public().to_text()).expect("parse"),
            *old.public()
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
