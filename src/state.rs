//! `AppState`: everything a request handler or CLI command needs (configuration, database,
//! key ring, password hasher, clock, mailer), built once at start and shared by reference.

use std::sync::Arc;

use bytes::Bytes;

use crate::auth::password::Hasher;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::keys::master::MasterKey;
use crate::oidc::client_cache::ClientCache;
use crate::oidc::rotation::Rotator;
use crate::store::Db;

/// Shared application state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    /// The issuer exactly as configured.
    pub issuer: String,
    /// The issuer without a trailing slash, for building endpoint URLs.
    pub base_url: String,
    pub db: Db,
    pub keys: KeyRing,
    pub clock: Arc<dyn Clock>,
    pub hasher: Hasher,
    /// Refresh-token rotations, committed in batches.
    pub rotator: Rotator,
    /// Clients, cached for a few seconds for the endpoints that authenticate them per request.
    pub clients: ClientCache,
    /// The discovery document, serialised once.
    pub discovery: Bytes,
    /// Outgoing mail: the delivery backend and the delivery loop's signals.
    pub mailer: crate::mail::Mailer,
    /// Outgoing SMS: the gateway (delivered by the same loop as mail).
    pub sms: crate::sms::Sms,
    /// The WebAuthn relying party (passkeys), from the issuer and `[passkeys]`; `None`:
    /// passkeys are off on this installation (the issuer is an IP address), and no page
    /// offers them (`auth::passkeys::relying_party_at_start`).
    pub webauthn: Option<webauthn_rs::Webauthn>,
    /// When this process built its state (its heartbeat says so, `crate::upgrade`).
    pub started_at: crate::clock::UnixTime,
    /// The time zone of the times pages show (`time_zone`).
    pub time_zone: jiff::tz::TimeZone,
    /// Set when the installation's upgrade was finished to a newer version than this
    /// binary: the node answers 503 and is not ready (`crate::upgrade::heartbeat`).
    pub outdated: std::sync::atomic::AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Connects, migrates, opens the key ring and prepares the hasher.
    pub async fn build(config: Config) -> Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`AppState::build`] with a given clock (tests move time).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Self> {
        let db = Db::connect(&config).await?;
        let fresh = db.migrate().await?;
        crate::upgrade::after_migrating(&db, fresh, clock.now()).await?;
        Self::build_on(config, clock, db).await
    }

    /// The rest of [`AppState::build_with_clock`], on a database `db` already migrated (the
    /// rolling-upgrade tests migrate with the next version's set, `Db::migrate_with`).
    pub async fn build_on(config: Config, clock: Arc<dyn Clock>, db: Db) -> Result<Self> {
        let has_keys = KeyRing::database_has_keys(&db).await?;
        let master = MasterKey::load_or_create(&config.keys_dir, !has_keys)
            .map_err(|e| Error::Crypto(e.to_string()))?;
        let retention = max_token_lifetime(&config) + config.keys.retain_extra;
        let keys = KeyRing::open(db.clone(), master, retention, clock.now()).await?;
        let hasher = Hasher::new(&config.password);
        let issuer = config.issuer();
        let base_url = issuer.trim_end_matches('/').to_string();
        let discovery = crate::oidc::discovery::document(&issuer, &base_url);
        let mailer = crate::mail::Mailer::from_config(&config)?;
        let sms = crate::sms::Sms::from_config(&config)?;
        let webauthn = crate::auth::passkeys::relying_party_at_start(&config)?;
        let started_at = clock.now();
        let time_zone = config.display_time_zone();
        Ok(Self(Arc::new(Inner {
            clients: ClientCache::new(db.clone()),
            rotator: Rotator::spawn(db.clone()),
            config,
            issuer,
            base_url,
            db,
            keys,
            clock,
            hasher,
            sms,
            discovery,
            mailer,
            webauthn,
            started_at,
            time_zone,
            outdated: std::sync::atomic::AtomicBool::new(false),
        })))
    }

    /// Whether passkeys work on this installation.
    pub fn passkeys_on(&self) -> bool {
        self.webauthn.is_some()
    }

    /// The current time.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// An absolute URL on this server for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The longest lifetime of any token a key signs.
pub fn max_token_lifetime(config: &Config) -> i64 {
    config
        .tokens
        .access_token_ttl
        .max(config.tokens.id_token_ttl)
}
