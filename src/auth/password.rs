//! Password hashing with argon2id on the blocking pool, with bounded concurrency so a login
//! storm cannot starve the server (SECURITY.md 15.2.2). Unknown users are verified against a
//! dummy hash so they cost the same as wrong passwords (no enumeration by timing).
//!
//! Passwords are NFC-normalised before hashing (NIST 800-63B: the same password typed with
//! composed or decomposed accents must work) and are otherwise used exactly as given.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params};
use tokio::sync::Semaphore;

use crate::auth::phc::{Phc, VERSION};
use crate::auth::workspace::Workspace;
use crate::config::PasswordConfig;
use crate::error::{Error, Result};

/// A password held only in memory; its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password as typed.
    pub fn new(s: String) -> Self {
        Self(s)
    }

    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Hashes and verifies passwords.
#[derive(Debug)]
pub struct Hasher {
    params: Params,
    workspace: Arc<Workspace>,
    permits: Arc<Semaphore>,
    /// Password attempts in progress at once, with their database work (see [`Hasher::admit`]).
    attempts: Arc<Semaphore>,
    dummy: String,
}

/// The result of a verification.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Wrong password (or no account).
    Mismatch,
    /// Right password.
    Match,
    /// Right password, stored with weaker parameters than configured: re-hash and store.
    MatchNeedsRehash,
}

impl Hasher {
    /// A hasher with the configured argon2id parameters.
    pub fn new(config: &PasswordConfig) -> Self {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )
        .unwrap_or_default();
        let permits = if config.max_concurrent_hashes == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            config.max_concurrent_hashes
        };
        let dummy = dummy_hash(&params);
        Self {
            params,
            workspace: Arc::new(Workspace::default()),
            permits: Arc::new(Semaphore::new(permits)),
            attempts: Arc::new(Semaphore::new(permits * ATTEMPTS_PER_HASH)),
            dummy,
        }
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String> {
        let _permit = self.permit().await?;
        let params = self.params.clone();
        let pw = password.clone();
        let ws = self.workspace.clone();
        tokio::task::spawn_blocking(move || hash_with(&ws, &params, pw.expose())).await?
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no
    /// stored hash (same cost, always a mismatch).
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> Result<Verdict> {
        let _permit = self.permit().await?;
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy).to_string();
        let params = self.params.clone();
        let ws = self.workspace.clone();
        let pw = password.clone();
        let verdict =
            tokio::task::spawn_blocking(move || verify_with(&ws, &params, pw.expose(), &stored))
                .await??;
        Ok(if known { verdict } else { Verdict::Mismatch })
    }

    /// Waits (first come, first served) until a password attempt may start; hold the permit
    /// for the whole attempt, database work included. At most [`ATTEMPTS_PER_HASH`] attempts
    /// per hashing permit run at once: enough to keep every hashing permit busy while others
    /// read and write the database, few enough that a flood of logins queues here, in memory,
    /// rather than in front of the database (where its throttling counters, sessions and audit
    /// rows would delay every other request's writes: SQLite has one writer).
    pub async fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        self.attempts
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::PasswordHash(e.to_string()))
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::PasswordHash(e.to_string()))
    }
}

/// Password attempts admitted at once per hashing permit ([`Hasher::admit`]).
pub const ATTEMPTS_PER_HASH: usize = 2;

/// A PHC string with the configured parameters, a random salt and a random digest: verifying
/// against it costs exactly one argon2id run and never matches. No hashing at start-up.
fn dummy_hash(params: &Params) -> String {
    let mut salt = [0u8; 16];
    let mut digest = [0u8; 32];
    crate::crypto::fill_random(&mut salt);
    crate::crypto::fill_random(&mut digest);
    Phc::format(params, &salt, &digest)
}

fn normalize(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfc().collect()
}

fn hash_with(ws: &Workspace, params: &Params, password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    crate::crypto::fill_random(&mut salt);
    let mut out = [0u8; 32];
    let params = Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(out.len()),
    )
    .map_err(|e| Error::PasswordHash(e.to_string()))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, VERSION, params.clone());
    ws.with(params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(
            normalize(password).as_bytes(),
            &salt,
            &mut out,
            blocks,
        )
    })
    .map_err(|e| Error::PasswordHash(e.to_string()))?;
    Ok(Phc::format(&params, &salt, &out))
}

fn verify_with(ws: &Workspace, params: &Params, password: &str, stored: &str) -> Result<Verdict> {
    let Some(phc) = Phc::parse(stored) else {
        return Ok(Verdict::Mismatch);
    };
    let Some(stored_params) = phc.params() else {
        return Ok(Verdict::Mismatch);
    };
    let mut out = vec![0u8; phc.hash.len()];
    let blocks = stored_params.block_count();
    let argon2 = Argon2::new(phc.algorithm, VERSION, stored_params);
    let computed = ws.with(blocks, |memory| {
        argon2.hash_password_into_with_memory(
            normalize(password).as_bytes(),
            &phc.salt,
            &mut out,
            memory,
        )
    });
    if computed.is_err() || !crate::crypto::constant_time_eq(&out, &phc.hash) {
        return Ok(Verdict::Mismatch);
    }
    let weaker = phc.algorithm != Algorithm::Argon2id
        || phc.m_cost < params.m_cost()
        || phc.t_cost < params.t_cost();
    Ok(if weaker {
        Verdict::MatchNeedsRehash
    } else {
        Verdict::Match
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verify_and_dummy() {
        let hasher = Hasher::new(&PasswordConfig::default());
        let pw = Password::new("correct horse battery staple".into());
        let hash = hasher.hash(&pw).await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct"));
        assert_eq!(
            hasher.verify(&pw, Some(&hash)).await.expect("verify"),
            Verdict::Match
        );
        let wrong = Password::new("correct horse battery stapl".into());
        assert_eq!(
            hasher.verify(&wrong, Some(&hash)).await.expect("verify"),
            Verdict::Mismatch
        );
        assert_eq!(
            hasher.verify(&pw, None).await.expect("verify"),
            Verdict::Mismatch
        );
    }

    #[tokio::test]
    async fn composed_and_decomposed_accents_are_the_same_password() {
        let hasher = Hasher::new(&PasswordConfig::default());
        let composed = Password::new("sm\u{00f6}rg\u{00e5}sbord-med-sill".into());
        let decomposed = Password::new("smo\u{0308}rga\u{030a}sbord-med-sill".into());
        let hash = hasher.hash(&composed).await.expect("hash");
        assert_eq!(
            hasher
                .verify(&decomposed, Some(&hash))
                .await
                .expect("verify"),
            Verdict::Match
        );
    }
}
