//! The Standard Webhooks signature scheme (standardwebhooks.com, specification v1): a
//! delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and
//! `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256>` over
//! `"{id}.{timestamp}.{body}"`, one per secret in force (two while a secret is rotated).
//! Secrets are shown as `whsec_<base64 of 32 random bytes>`.
//!
//! Why hand-written: the scheme is one HMAC, done with `ring`, which the project already
//! uses (S3 SigV4); the official Rust crate (`standardwebhooks` 1.0.1) would bring a second
//! `base64` and `time` for the same few lines. The tests check every signature made here
//! with the official Python implementation (PyPI `standardwebhooks`), independently.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

/// The prefix of a secret as shown to the endpoint's owner.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;
/// How far a delivery's timestamp may be from the receiver's clock (seconds), as the
/// specification's reference implementations allow.
pub const TOLERANCE: i64 = 300;

/// A signing secret. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A secret that is not `whsec_` followed by base64 of 24 to 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is \"whsec_\" followed by base64 of 24 to 64 bytes")]
pub struct BadSecret;

impl Secret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut key = vec![0u8; SECRET_BYTES];
        crate::crypto::fill_random(&mut key);
        Self(key)
    }

    /// Reads a secret as shown (`whsec_…`).
    pub fn parse(shown: &str) -> Result<Self, BadSecret> {
        let key = shown
            .strip_prefix(SECRET_PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or(BadSecret)?;
        if !(24..=64).contains(&key.len()) {
            return Err(BadSecret);
        }
        Ok(Self(key))
    }

    /// The secret as shown to its owner, once (`whsec_…`).
    pub fn shown(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn key(&self) -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, &self.0)
    }
}

/// The `webhook-signature` value for a delivery: one `v1,…` per secret, in order.
pub fn sign(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    let content = signed_content(id, timestamp, body);
    secrets
        .iter()
        .map(|s| format!("v1,{}", STANDARD.encode(hmac::sign(&s.key(), &content))))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the timestamp is more than {TOLERANCE} s from now")]
    Stale,
    #[error("no signature matches")]
    NoMatch,
}

/// Checks a delivery as a receiver does: the timestamp within [`TOLERANCE`] of `now`, and
/// one of the `v1` signatures made with `secret` (compared in constant time by `ring`).
pub fn verify(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    if (now - timestamp).abs() > TOLERANCE {
        return Err(Refused::Stale);
    }
    let content = signed_content(id, timestamp, body);
    let key = secret.key();
    let matches = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|tag| hmac::verify(&key, &content, &tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(Refused::NoMatch)
    }
}

fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}
