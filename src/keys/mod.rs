//! Signing keys: generated per algorithm, stored sealed in the database, cached in memory by
//! every node, rotated by `nyckel keys rotate` or on schedule (`keys.rotate_every`, run by the
//! upkeep loop under a lease: `upkeep`). Every node reloads keys (and re-reads the master
//! key file) every `keys.reload_interval`.
//!
//! Lifecycle (derived from timestamps only, so every node agrees without coordination):
//! a key is *pending* from creation until `activates_at` (published in JWKS, signs nothing),
//! *current* while it is the newest key of its algorithm with `activates_at <= now`, and
//! *retired* once a newer key of its algorithm is current. A retired key stays in JWKS until
//! every token it signed has expired (longest token lifetime + `keys.retain_extra`).

pub mod generate;
pub mod jws;
pub mod master;
pub mod master_file;
pub mod reseal;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::store::{self, Db};
use jws::{Alg, SigningKey, VerifyKey};
use master::MasterKey;

/// A key's place in its lifecycle at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Pending,
    Current,
    Retired,
    /// Retired and past retention: no longer published, deleted on the next rotation.
    Expired,
}

impl KeyStatus {
    /// Lower-case name for listings.
    pub fn name(self) -> &'static str {
        match self {
            KeyStatus::Pending => "pending",
            KeyStatus::Current => "current",
            KeyStatus::Retired => "retired",
            KeyStatus::Expired => "expired",
        }
    }
}

/// One key with its schedule.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: Alg,
    pub created_at: UnixTime,
    pub activates_at: UnixTime,
    /// When a newer key of the same algorithm took over, if one has.
    pub superseded_at: Option<UnixTime>,
    pub jwk: Value,
}

impl KeyInfo {
    /// The key's status at `now`, given how long retired keys are retained.
    pub fn status(&self, now: UnixTime, retention: i64) -> KeyStatus {
        if self.activates_at > now {
            return KeyStatus::Pending;
        }
        match self.superseded_at {
            Some(s) if s <= now && s + retention <= now => KeyStatus::Expired,
            Some(s) if s <= now => KeyStatus::Retired,
            _ => KeyStatus::Current,
        }
    }
}

/// What a rotation did.
#[derive(Debug, Default, Clone)]
pub struct Rotated {
    /// New (pending) keys.
    pub created: Vec<(Alg, String)>,
    /// Keys deleted after their retention.
    pub deleted: Vec<String>,
    /// When the new keys start signing.
    pub activates_at: Option<UnixTime>,
}

/// The keys as loaded from the database.
struct Loaded {
    infos: Vec<KeyInfo>,
    /// The last JWKS document and which keys it published.
    jwks: std::sync::Mutex<Option<(Vec<bool>, Bytes)>>,
    signing: HashMap<String, Arc<SigningKey>>,
    verify: HashMap<String, VerifyKey>,
}

/// All signing keys of the installation, cached in memory.
pub struct KeyRing {
    db: Db,
    /// The master keys as last read from the file.
    master: RwLock<Arc<MasterKey>>,
    /// Seconds a retired key stays published.
    retention: i64,
    loaded: RwLock<Arc<Loaded>>,
}

crate::redact::debug_showing!(KeyRing {});

impl KeyRing {
    /// Seals other data at rest (such as queued mail) with the master key. `context` is
    /// authenticated and must name what the data is, e.g. `outbox:<id>`; signing keys use
    /// their `kid`, so give other data a prefix with a colon.
    pub fn seal_data(&self, plain: &[u8], context: &str) -> String {
        self.master().seal(plain, context)
    }

    /// Opens what [`KeyRing::seal_data`] sealed with the same `context`.
    pub fn open_data(&self, sealed: &str, context: &str) -> Result<Vec<u8>> {
        self.master()
            .open(sealed, context)
            .map_err(|e| Error::Crypto(e.to_string()))
    }

    /// HMAC-SHA256 of `data` under a master-derived key for `purpose` (see
    /// [`MasterKey::mac`]).
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.master().mac(purpose, data)
    }

    /// [`KeyRing::mac`] under every master key of the file, current first: checking a stored
    /// MAC made before the current master key was promoted (see [`MasterKey::macs`]).
    pub fn macs(&self, purpose: &str, data: &[u8]) -> Vec<[u8; 32]> {
        self.master().macs(purpose, data)
    }

    /// The master keys as last read.
    pub fn master(&self) -> Arc<MasterKey> {
        self.master
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Uses `master` from now on (after the CLI changed the file).
    pub fn set_master(&self, master: MasterKey) {
        *self.master.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(master);
    }

    /// Loads every key, generating a first key for each algorithm that has none.
    pub async fn open(db: Db, master: MasterKey, retention: i64, now: UnixTime) -> Result<Self> {
        let ring = Self {
            db,
            master: RwLock::new(Arc::new(master)),
            retention,
            loaded: RwLock::new(Arc::new(Loaded {
                infos: Vec::new(),
                jwks: Default::default(),
                signing: HashMap::new(),
                verify: HashMap::new(),
            })),
        };
        ring.load(true).await?;
        let mut generated = false;
        for alg in Alg::ALL {
            if !ring.snapshot().infos.iter().any(|k| k.alg == alg) {
                ring.add_first_key(alg, now).await?;
                generated = true;
            }
        }
        if generated {
            ring.load(true).await?;
        }
        Ok(ring)
    }

    /// Re-reads the master key file and the keys from the database (other nodes may have
    /// rotated). A master key file that no longer reads keeps the keys read before (logged);
    /// a signing key that no master key opens is published and verifies, and keeps signing
    /// with what was opened before, if anything (logged).
    pub async fn reload(&self) -> Result<()> {
        self.load(false).await
    }

    async fn load(&self, strict: bool) -> Result<()> {
        if !strict {
            let current = self.master();
            match current.reread() {
                Ok(fresh) if !fresh.same_keys(&current) => {
                    tracing::info!(
                        current = fresh.current_id(),
                        "master key file changed; using its keys"
                    );
                    self.set_master(fresh);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %crate::error::Chain(&e), "re-reading the master key file failed; keeping the keys read before")
                }
            }
        }
        let master = self.master();
        let before = self.snapshot();
        let rows = store::keys::list(&self.db).await?;
        let mut infos = Vec::with_capacity(rows.len());
        let mut signing = HashMap::new();
        let mut verify = HashMap::new();
        for row in &rows {
            let alg = Alg::parse(&row.alg).ok_or_else(|| {
                Error::Corrupt(format!("key {} has algorithm {}", row.id, row.alg))
            })?;
            let jwk: Value = serde_json::from_str(&row.public_jwk)?;
            let superseded_at = rows
                .iter()
                .filter(|o| o.alg == row.alg && o.activates_at > row.activates_at)
                .map(|o| o.activates_at)
                .min();
            match master.open(&row.private_key, &row.id) {
                Ok(der) => {
                    let sk = SigningKey::from_pkcs8(row.id.clone(), alg, &der)
                        .map_err(|e| Error::Crypto(format!("key {}: {e}", row.id)))?;
                    signing.insert(row.id.clone(), Arc::new(sk));
                }
                Err(e) if strict => return Err(Error::Crypto(e.to_string())),
                Err(e) => {
                    tracing::error!(kid = %row.id, error = %crate::error::Chain(&e), "a signing key does not open with the master keys");
                    if let Some(sk) = before.signing.get(&row.id) {
                        signing.insert(row.id.clone(), sk.clone());
                    }
                }
            }
            let vk = VerifyKey::from_jwk(&jwk)
                .map_err(|e| Error::Crypto(format!("key {}: {e}", row.id)))?;
            verify.insert(row.id.clone(), vk);
            infos.push(KeyInfo {
                kid: row.id.clone(),
                alg,
                created_at: row.created_at,
                activates_at: row.activates_at,
                superseded_at,
                jwk,
            });
        }
        let loaded = Arc::new(Loaded {
            infos,
            jwks: Default::default(),
            signing,
            verify,
        });
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }

    fn snapshot(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Generates and stores a key of `alg` that starts signing at `activates_at`.
    pub async fn add_key(&self, alg: Alg, now: UnixTime, activates_at: UnixTime) -> Result<String> {
        let generated = tokio::task::spawn_blocking(move || generate::generate(alg)).await??;
        self.store_key(alg, generated, now, activates_at).await
    }

    /// Generates and stores the first key of `alg`, active now, unless another node starting
    /// at the same moment stored one first (then that one is used).
    async fn add_first_key(&self, alg: Alg, now: UnixTime) -> Result<()> {
        let generated = tokio::task::spawn_blocking(move || generate::generate(alg)).await??;
        let row = self.sealed_row(alg, &generated, now, now);
        if !store::keys::insert_first(&self.db, &row).await? {
            tracing::info!(alg = alg.name(), "another node made the first signing key");
        }
        Ok(())
    }

    async fn store_key(
        &self,
        alg: Alg,
        generated: generate::Generated,
        now: UnixTime,
        activates_at: UnixTime,
    ) -> Result<String> {
        let row = self.sealed_row(alg, &generated, now, activates_at);
        store::keys::insert(&self.db, &row).await?;
        Ok(generated.kid)
    }

    /// The stored form of a generated key (private part sealed with the master key).
    fn sealed_row(
        &self,
        alg: Alg,
        generated: &generate::Generated,
        now: UnixTime,
        activates_at: UnixTime,
    ) -> store::keys::KeyRow {
        store::keys::KeyRow {
            id: generated.kid.clone(),
            alg: alg.name().to_string(),
            private_key: self.master().seal(&generated.pkcs8, &generated.kid),
            public_jwk: generated.jwk.to_string(),
            created_at: now,
            activates_at,
        }
    }

    /// Pre-publishes a next key for every algorithm (active after `prepublish` seconds) and
    /// deletes keys past retention. Algorithms that already have a pending key are skipped.
    /// Returns the new key ids.
    pub async fn rotate(&self, now: UnixTime, prepublish: i64) -> Result<Vec<(Alg, String)>> {
        Ok(self.rotate_due(now, prepublish, None).await?.created)
    }

    /// The scheduled rotation: pre-publishes a next key (active after `prepublish`) for each
    /// algorithm whose current key has signed for `rotate_every - prepublish` seconds and has
    /// no pending successor, and deletes keys past retention.
    pub async fn rotate_scheduled(
        &self,
        now: UnixTime,
        prepublish: i64,
        rotate_every: i64,
    ) -> Result<Rotated> {
        self.rotate_due(now, prepublish, Some(rotate_every)).await
    }

    /// Whether [`KeyRing::rotate_scheduled`] has anything to do, judged from the keys in
    /// memory (cheap: every node asks on every tick, and takes the job's lease only then).
    pub fn rotation_due(&self, now: UnixTime, prepublish: i64, rotate_every: i64) -> bool {
        let snapshot = self.snapshot();
        Alg::ALL
            .into_iter()
            .any(|alg| self.alg_due(&snapshot, alg, now, prepublish, Some(rotate_every)))
            || snapshot
                .infos
                .iter()
                .any(|k| k.status(now, self.retention) == KeyStatus::Expired)
    }

    fn alg_due(
        &self,
        snapshot: &Loaded,
        alg: Alg,
        now: UnixTime,
        prepublish: i64,
        rotate_every: Option<i64>,
    ) -> bool {
        let mine = || snapshot.infos.iter().filter(move |k| k.alg == alg);
        if mine().any(|k| k.status(now, self.retention) == KeyStatus::Pending) {
            return false;
        }
        let Some(every) = rotate_every else {
            return true;
        };
        if every <= 0 {
            return false;
        }
        mine()
            .filter(|k| k.activates_at <= now)
            .map(|k| k.activates_at)
            .max()
            .is_none_or(|activated| now >= activated + every - prepublish)
    }

    async fn rotate_due(
        &self,
        now: UnixTime,
        prepublish: i64,
        rotate_every: Option<i64>,
    ) -> Result<Rotated> {
        self.reload().await?;
        let snapshot = self.snapshot();
        let mut done = Rotated::default();
        // Generate first (RSA takes a while), then store: a key is pre-published for the full
        // `prepublish` after it is stored, however long generating took.
        let started = std::time::Instant::now();
        let mut generated = Vec::new();
        for alg in Alg::ALL {
            if self.alg_due(&snapshot, alg, now, prepublish, rotate_every) {
                let g = tokio::task::spawn_blocking(move || generate::generate(alg)).await??;
                generated.push((alg, g));
            }
        }
        let took = i64::try_from(started.elapsed().as_millis().div_ceil(1000)).unwrap_or(0);
        let activates_at = now + took + prepublish;
        for (alg, g) in generated {
            let kid = self.store_key(alg, g, now, activates_at).await?;
            done.created.push((alg, kid));
            done.activates_at = Some(activates_at);
        }
        for k in &snapshot.infos {
            if k.status(now, self.retention) == KeyStatus::Expired {
                store::keys::delete(&self.db, &k.kid).await?;
                done.deleted.push(k.kid.clone());
            }
        }
        self.reload().await?;
        Ok(done)
    }

    /// The key that signs with `alg` at `now`.
    pub fn signing_key(&self, alg: Alg, now: UnixTime) -> Result<Arc<SigningKey>> {
        let snapshot = self.snapshot();
        let current = snapshot
            .infos
            .iter()
            .filter(|k| k.alg == alg && k.activates_at <= now)
            .max_by_key(|k| k.activates_at)
            .ok_or_else(|| Error::Crypto(format!("no active {} key", alg.name())))?;
        snapshot
            .signing
            .get(&current.kid)
            .cloned()
            .ok_or_else(|| Error::Crypto("key ring out of step".into()))
    }

    /// Verifies a token signed by one of our published keys.
    pub fn verify(&self, token: &str, allowed: &[Alg]) -> Result<jws::Verified, jws::JwsError> {
        let snapshot = self.snapshot();
        jws::verify(token, allowed, |kid| snapshot.verify.get(kid))
    }

    /// Every key with its schedule.
    pub fn list(&self) -> Vec<KeyInfo> {
        self.snapshot().infos.clone()
    }

    /// Seconds a retired key stays published.
    pub fn retention(&self) -> i64 {
        self.retention
    }

    /// The JWKS document at `now`: pending, current and retained keys.
    /// Serialised once per set of published keys (the set changes only on reload or when
    /// a retired key passes its retention).
    pub fn jwks(&self, now: UnixTime) -> Bytes {
        let snapshot = self.snapshot();
        let published: Vec<bool> = snapshot
            .infos
            .iter()
            .map(|k| k.status(now, self.retention) != KeyStatus::Expired)
            .collect();
        let mut cache = snapshot.jwks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((set, body)) = cache.as_ref()
            && *set == published
        {
            return body.clone();
        }
        let keys: Vec<&Value> = snapshot
            .infos
            .iter()
            .zip(&published)
            .filter(|(_, p)| **p)
            .map(|(k, _)| &k.jwk)
            .collect();
        let body = Bytes::from(json!({ "keys": keys }).to_string());
        *cache = Some((published, body.clone()));
        body
    }

    /// Whether a master key must already exist: true when the database holds sealed keys.
    pub async fn database_has_keys(db: &Db) -> Result<bool> {
        Ok(!store::keys::list(db).await?.is_empty())
    }
}
