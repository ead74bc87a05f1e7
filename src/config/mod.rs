//! Typed configuration, loaded once at start: built-in defaults, then `nyckel.toml`, then
//! `NYCKEL_*` environment variables (`__` separates nested keys), then `*_FILE` variables
//! whose value is a path to read a secret from. An environment value is typed by the field
//! it lands in (`env.rs`: a string field gets the text as written). [`Config::validate`]
//! rejects bad values with messages that name the key. The keys of ARCHITECTURE.md section
//! 6 are a contract.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod backup;
mod env;
mod login;
mod metrics;
mod passkeys;
mod sms;
mod upkeep;

pub use backup::{BackupConfig, DestinationConfig, KeepYearly};
pub use login::LoginConfig;
pub use metrics::MetricsConfig;
pub use passkeys::PasskeysConfig;
pub use sms::SmsConfig;
pub use upkeep::UpkeepConfig;

/// The default of `time_zone`: where most of the installation's people are.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Stockholm";

impl Config {
    /// The time zone of the times pages show: `time_zone`, or UTC when the default zone is
    /// missing from this machine's time zone database (a configured zone was checked at
    /// load).
    pub fn display_time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.time_zone).unwrap_or_else(|_| {
            tracing::warn!(
                time_zone = %self.time_zone,
                "the time zone is not in this machine's time zone database (install tzdata); pages show UTC"
            );
            jiff::tz::TimeZone::UTC
        })
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The issuer identifier, exactly as it appears in tokens and discovery.
    /// Defaults to `https://localhost:<listen port>` (or `http://` with TLS off).
    pub issuer: Option<String>,
    /// Address to listen on.
    pub listen: String,
    /// Where the SQLite database (by default) and the development outbox live.
    pub data_dir: PathBuf,
    /// Where the master key and the generated TLS certificate live.
    pub keys_dir: PathBuf,
    pub database: DatabaseConfig,
    pub tls: TlsConfig,
    pub password: PasswordConfig,
    pub session: SessionConfig,
    pub tokens: TokenConfig,
    pub keys: KeysConfig,
    pub throttle: ThrottleConfig,
    pub log: LogConfig,
    pub admin: AdminConfig,
    pub mail: MailConfig,
    pub login: LoginConfig,
    pub sms: SmsConfig,
    pub metrics: MetricsConfig,
    /// Scheduled jobs (cleanup).
    pub upkeep: UpkeepConfig,
    /// Reverse proxies whose `X-Forwarded-For` is believed (exact IP addresses).
    pub trusted_proxies: Vec<String>,
    /// Seconds a request may take before it is answered 503 with `Retry-After` (a database
    /// that stops answering must not hang requests), 1-600.
    pub request_timeout: u64,
    /// The time zone of the times pages show people (an IANA name such as
    /// `"Europe/Stockholm"`, or `"UTC"`); exports, logs and mail headers stay in UTC.
    pub time_zone: String,
    /// Backups: recipients and destinations (docs/backups.md).
    pub backup: BackupConfig,
    /// Passkeys (WebAuthn): relying party and challenge lifetime (docs/passkeys.md).
    pub passkeys: PasskeysConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://...`. Defaults to `sqlite://<data_dir>/nyckel.db`.
    pub url: Option<String>,
    pub max_connections: u32,
    /// Seconds to wait for a connection before answering 503.
    pub acquire_timeout: u64,
    /// SQLite `synchronous`: `full` (default, no acknowledged write lost on power loss) or `normal`.
    pub sqlite_synchronous: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Generate (once) and use a self-signed certificate in `keys_dir`.
    SelfSigned,
    /// Use the certificate and key files named by `cert` and `key`.
    Files,
    /// Plain HTTP: behind a TLS-terminating proxy, or on loopback.
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub mode: TlsMode,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Seconds between checks of the certificate and key files; changed files are loaded
    /// without a restart (certificate renewal). 0: never reload.
    pub reload_interval: u64,
    /// A plain-HTTP address (e.g. `0.0.0.0:80`) that only redirects to the HTTPS issuer.
    pub redirect_listen: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// Minimum length in Unicode code points.
    pub min_length: usize,
    /// Maximum length in Unicode code points.
    pub max_length: usize,
    /// argon2id memory in KiB (floor 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations (floor 2).
    pub argon2_iterations: u32,
    /// argon2id parallelism.
    pub argon2_parallelism: u32,
    /// How many hashes may run at once (0 = one per CPU core).
    pub max_concurrent_hashes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Seconds of inactivity after which a session ends.
    pub idle_timeout: i64,
    /// Seconds after login after which a session ends regardless of activity.
    pub absolute_timeout: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Authorization code lifetime in seconds.
    pub code_ttl: i64,
    /// Access token lifetime in seconds.
    pub access_token_ttl: i64,
    /// ID token lifetime in seconds.
    pub id_token_ttl: i64,
    /// A refresh token not used for this many seconds expires.
    pub refresh_idle_ttl: i64,
    /// A refresh token family ends this many seconds after login, however it is used.
    pub refresh_absolute_ttl: i64,
    /// How long a pending login (authorization request) stays valid, in seconds.
    pub login_request_ttl: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// Seconds a new signing key is published in JWKS before it signs anything.
    pub prepublish: i64,
    /// Seconds a superseded key stays in JWKS beyond the longest token lifetime.
    pub retain_extra: i64,
    /// Seconds a signing key signs before the scheduled rotation replaces it (its successor is
    /// pre-published `prepublish` seconds earlier); 0 turns the schedule off.
    pub rotate_every: i64,
    /// Seconds between reloads of signing keys (and the master key file) on every node.
    pub reload_interval: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Consecutive failures per account after which logins stop until `hard_stop_window` passes.
    pub account_hard_stop: i64,
    /// Seconds the hard stop lasts after the last failure (never permanent).
    pub hard_stop_window: i64,
    /// Failures from one IP address before that address is slowed down.
    pub ip_free_failures: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `nyckel=debug,info`. `RUST_LOG` wins when set.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Whether a superadmin may set a person's password (the person must change it at next
    /// login). Off by default: admins send a reset key instead.
    pub allow_set_password: bool,
    /// Seconds an invitation link stays valid.
    pub invitation_ttl: i64,
    /// Seconds a password-reset key sent by an admin stays valid.
    pub reset_ttl: i64,
    /// Seconds the link of `nyckel admin setup-link` stays valid.
    pub setup_link_ttl: i64,
    /// At most this many rows per second of a member import (`nyckel org import`, the admin
    /// UI), so that an import shares the database with the logins beside it.
    pub import_rows_per_second: u32,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            allow_set_password: false,
            invitation_ttl: 24 * 3600,
            reset_ttl: 30 * 60,
            setup_link_ttl: 3600,
            import_rows_per_second: 100,
        }
    }
}

/// `[mail]`. Its `Debug` leaves out the SMTP password.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The From address of every message, e.g. `Nyckel <id@example.org>`.
    pub from: String,
    /// Where messages are written as `.eml` files when no SMTP relay is configured.
    /// Defaults to `<data_dir>/outbox`.
    pub outbox_dir: Option<PathBuf>,
    /// The SMTP relay's host name or IP address; unset: the `.eml` file outbox.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// `starttls` (required, never falls back to plain), `implicit` (TLS from the first
    /// byte, usually port 465) or `none` (only to a loopback relay with
    /// `smtp_allow_plain_loopback`).
    pub smtp_tls: String,
    pub smtp_username: Option<String>,
    /// A secret: use `NYCKEL_MAIL__SMTP_PASSWORD_FILE`.
    pub smtp_password: Option<String>,
    /// Seconds for connecting and for each SMTP command.
    pub smtp_timeout: u64,
    /// The explicit opt-in to plain SMTP to a relay on loopback.
    pub smtp_allow_plain_loopback: bool,
    /// A PEM file of extra CA certificates to trust for the relay (besides the webpki roots).
    pub smtp_ca_file: Option<PathBuf>,
    /// DKIM signing domain (`d=`), usually the domain of `from`. The three `dkim_*` keys
    /// are set together (every message is signed) or not at all.
    pub dkim_domain: Option<String>,
    /// DKIM selector (`s=`): receivers find the public key in DNS at
    /// `<selector>._domainkey.<domain>`.
    pub dkim_selector: Option<String>,
    /// The DKIM private key: PEM PKCS#8, RSA of 2048 to 4096 bits or Ed25519. Read at start.
    pub dkim_key_file: Option<PathBuf>,
    /// The DKIM private key's PEM text itself, a secret. Set by the environment variable
    /// `NYCKEL_MAIL__DKIM_KEY_FILE` (the `*_FILE` rule reads the file into this key); in
    /// `nyckel.toml` use `dkim_key_file`. Never both.
    pub dkim_key: Option<String>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Nyckel <nyckel@localhost>".into(),
            outbox_dir: None,
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_timeout: 10,
            smtp_allow_plain_loopback: false,
            smtp_ca_file: None,
            dkim_domain: None,
            dkim_selector: None,
            dkim_key_file: None,
            dkim_key: None,
        }
    }
}

crate::redact::debug_showing!(MailConfig {
    from, outbox_dir, smtp_host, smtp_port, smtp_tls, smtp_username, smtp_timeout,
    smtp_allow_plain_loopback, smtp_ca_file, dkim_domain, dkim_selector, dkim_key_file,
} redacted { smtp_password, dkim_key });

impl MailConfig {
    /// Checks the SMTP keys; messages name the key.
    fn validate_smtp(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if !matches!(self.smtp_tls.as_str(), "starttls" | "implicit" | "none") {
            return bad("mail.smtp_tls must be \"starttls\", \"implicit\" or \"none\"");
        }
        let Some(host) = &self.smtp_host else {
            return Ok(());
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return bad("mail.smtp_host must be a host name or IP address");
        }
        if self.smtp_port == 0 {
            return bad("mail.smtp_port must be a port number (1-65535)");
        }
        if self.smtp_timeout == 0 || self.smtp_timeout > 300 {
            return bad("mail.smtp_timeout must be between 1 and 300 seconds");
        }
        if self.smtp_username.is_some() != self.smtp_password.is_some() {
            return bad("mail.smtp_username and mail.smtp_password are set together or not at all");
        }
        if self.smtp_tls == "none" && !(self.smtp_allow_plain_loopback && is_loopback(host)) {
            return bad(
                "mail.smtp_tls = \"none\" (plain SMTP) is only accepted for a relay on loopback (mail.smtp_host = 127.0.0.1, ::1 or localhost) with mail.smtp_allow_plain_loopback = true; use \"starttls\" or \"implicit\"",
            );
        }
        Ok(())
    }

    /// Checks the DKIM keys: all three or none, a domain and a selector in DNS syntax.
    fn validate_dkim(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        if self.dkim_key.is_some() && self.dkim_key_file.is_some() {
            return bad(
                "mail.dkim_key_file is set twice: in nyckel.toml and as NYCKEL_MAIL__DKIM_KEY_FILE (which reads the file into mail.dkim_key); keep one",
            );
        }
        let key = self.dkim_key_file.is_some() || self.dkim_key.is_some();
        let (domain, selector) = match (&self.dkim_domain, &self.dkim_selector, key) {
            (None, None, false) => return Ok(()),
            (Some(d), Some(s), true) => (d, s),
            _ => {
                return bad(
                    "mail.dkim_domain, mail.dkim_selector and mail.dkim_key_file are set together or not at all",
                );
            }
        };
        if !is_dns_name(domain) {
            return bad("mail.dkim_domain must be a domain name such as example.org");
        }
        if !is_dns_name(selector) {
            return bad(
                "mail.dkim_selector must be letters, digits and hyphens (dot-separated labels), e.g. nyckel2025",
            );
        }
        if self
            .dkim_key_file
            .as_ref()
            .is_some_and(|f| f.as_os_str().is_empty())
        {
            return bad("mail.dkim_key_file must be the path of a PEM private key");
        }
        Ok(())
    }
}

/// Whether `name` is dot-separated labels of letters, digits and inner hyphens (1-63
/// characters each, at most 253 in all).
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `host` names this machine (`localhost` or a loopback address).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: None,
            listen: "127.0.0.1:8443".into(),
            data_dir: "data".into(),
            keys_dir: "keys".into(),
            database: DatabaseConfig::default(),
            tls: TlsConfig::default(),
            password: PasswordConfig::default(),
            session: SessionConfig::default(),
            tokens: TokenConfig::default(),
            keys: KeysConfig::default(),
            throttle: ThrottleConfig::default(),
            log: LogConfig::default(),
            admin: AdminConfig::default(),
            mail: MailConfig::default(),
            login: LoginConfig::default(),
            sms: SmsConfig::default(),
            metrics: MetricsConfig::default(),
            upkeep: UpkeepConfig::default(),
            trusted_proxies: Vec::new(),
            request_timeout: 30,
            time_zone: DEFAULT_TIME_ZONE.to_string(),
            backup: BackupConfig::default(),
            passkeys: PasskeysConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
            acquire_timeout: 5,
            sqlite_synchronous: "full".into(),
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            mode: TlsMode::SelfSigned,
            cert: None,
            key: None,
            reload_interval: 60,
            redirect_listen: None,
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            min_length: 15,
            max_length: 256,
            argon2_memory_kib: ARGON2_MIN_MEMORY_KIB,
            argon2_iterations: ARGON2_MIN_ITERATIONS,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: 30 * 60,
            absolute_timeout: 12 * 3600,
        }
    }
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            code_ttl: 60,
            access_token_ttl: 600,
            id_token_ttl: 3600,
            refresh_idle_ttl: 14 * 86400,
            refresh_absolute_ttl: 30 * 86400,
            login_request_ttl: 30 * 60,
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            prepublish: 86400,
            retain_extra: 86400,
            rotate_every: 30 * 86400,
            reload_interval: 60,
        }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            account_hard_stop: 100,
            hard_stop_window: 86400,
            ip_free_failures: 20,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            // PostgreSQL's NOTICEs (such as "relation … already exists, skipping" from the
            // migration table at every start and CLI command) are not worth an operator's eye.
            filter: "info,sqlx::postgres::notice=warn".into(),
        }
    }
}

/// The argon2id floor of SECURITY.md (OWASP / ASVS appendix C): 19 MiB, 2 passes.
pub const ARGON2_MIN_MEMORY_KIB: u32 = 19456;
/// See [`ARGON2_MIN_MEMORY_KIB`].
pub const ARGON2_MIN_ITERATIONS: u32 = 2;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Variables for the test suite (e.g. `NYCKEL_TEST_POSTGRES_URL`), not configuration.
const TEST_ENV_PREFIX: &str = "NYCKEL_TEST_";

impl Config {
    /// Loads defaults, then the file (the given path, or `./nyckel.toml` if it exists), then
    /// the environment, and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(path, std::env::vars())
    }

    /// [`Config::load`] with an explicit environment (for tests).
    pub fn load_from(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let config = Self::layered(path, env)?;
        config.validate()?;
        Ok(config)
    }

    /// Defaults, then the file, then the environment (each value typed by its field:
    /// `env.rs`), not yet validated.
    fn layered(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let default_path = Path::new("nyckel.toml");
        let file = match path {
            Some(p) => Some(p),
            None if default_path.exists() => Some(default_path),
            None => None,
        };
        let mut layers = env::Layers::default();
        if let Some(file) = file {
            let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
                path: file.display().to_string(),
                source,
            })?;
            let table = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    path: file.display().to_string(),
                    message: e.to_string(),
                })?;
            layers = env::Layers::from_file(table);
        }
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(env::ENV_PREFIX) && !k.starts_with(TEST_ENV_PREFIX))
            .collect();
        env.sort();
        for (var, value) in env {
            layers.set(&var, &value)?;
        }
        layers.read::<Config>().map_err(|e| {
            let mut message = e.to_string();
            if message.contains("unknown field") {
                message.push_str(
                    " (from nyckel.toml or a NYCKEL_* environment variable: NYCKEL_A__B sets key b of section [a]; NYCKEL_TEST_* is left alone)",
                );
            }
            match e.var {
                Some(var) => ConfigError::Env { var, message },
                None => ConfigError::Parse {
                    path: file.map_or("configuration".into(), |f| f.display().to_string()),
                    message,
                },
            }
        })
    }

    /// Checks values that serde cannot; messages name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        validate_issuer(&self.issuer())?;
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(format!(
                "listen = {:?} is not an address like 127.0.0.1:8443",
                self.listen
            ));
        }
        if self.tls.mode == TlsMode::Files && (self.tls.cert.is_none() || self.tls.key.is_none()) {
            return bad("tls.mode = \"files\" needs tls.cert and tls.key".into());
        }
        let url = self.database_url();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return bad("database.url must start with sqlite:// or postgres://".into());
        }
        if !(1..=600).contains(&self.request_timeout) {
            return bad("request_timeout must be between 1 and 600 seconds".into());
        }
        if self.time_zone != DEFAULT_TIME_ZONE && jiff::tz::TimeZone::get(&self.time_zone).is_err()
        {
            return bad(format!(
                "time_zone: {:?} is not a time zone in the system's time zone database (an IANA name such as \"Europe/Stockholm\", or \"UTC\")",
                self.time_zone
            ));
        }
        if !matches!(self.database.sqlite_synchronous.as_str(), "full" | "normal") {
            return bad("database.sqlite_synchronous must be \"full\" or \"normal\"".into());
        }
        let p = &self.password;
        if p.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB
            || p.argon2_iterations < ARGON2_MIN_ITERATIONS
        {
            return bad(format!(
                "password.argon2_memory_kib must be at least {ARGON2_MIN_MEMORY_KIB} and password.argon2_iterations at least {ARGON2_MIN_ITERATIONS}"
            ));
        }
        if p.argon2_parallelism == 0 {
            return bad("password.argon2_parallelism must be at least 1".into());
        }
        if p.min_length < 8 || p.max_length < 64 || p.min_length > p.max_length {
            return bad("password.min_length must be at least 8 and password.max_length at least 64 (and not below min_length)".into());
        }
        let t = &self.tokens;
        if t.code_ttl <= 0 || t.code_ttl > 600 {
            return bad("tokens.code_ttl must be between 1 and 600 seconds".into());
        }
        for (name, v) in [
            ("tokens.access_token_ttl", t.access_token_ttl),
            ("tokens.id_token_ttl", t.id_token_ttl),
            ("tokens.refresh_idle_ttl", t.refresh_idle_ttl),
            ("tokens.refresh_absolute_ttl", t.refresh_absolute_ttl),
            ("tokens.login_request_ttl", t.login_request_ttl),
            ("session.idle_timeout", self.session.idle_timeout),
            ("session.absolute_timeout", self.session.absolute_timeout),
        ] {
            if v <= 0 {
                return bad(format!("{name} must be a positive number of seconds"));
            }
        }
        let a = &self.admin;
        if a.import_rows_per_second == 0 || a.import_rows_per_second > 10_000 {
            return bad("admin.import_rows_per_second must be between 1 and 10000".into());
        }
        if a.invitation_ttl <= 0 || a.invitation_ttl > 7 * 24 * 3600 {
            return bad("admin.invitation_ttl must be between 1 second and 7 days".into());
        }
        if a.reset_ttl <= 0 || a.reset_ttl > 24 * 3600 {
            return bad("admin.reset_ttl must be between 1 second and 24 hours".into());
        }
        if a.setup_link_ttl <= 0 || a.setup_link_ttl > 24 * 3600 {
            return bad("admin.setup_link_ttl must be between 1 second and 24 hours".into());
        }
        if self.mail.from.trim().is_empty() || self.mail.from.contains(['\r', '\n']) {
            return bad("mail.from must be one line such as \"Nyckel <id@example.org>\"".into());
        }
        self.mail.validate_smtp()?;
        self.mail.validate_dkim()?;
        self.login.validate()?;
        self.sms.validate()?;
        self.metrics.validate()?;
        self.backup.validate()?;
        if let Some(r) = &self.tls.redirect_listen {
            if r.parse::<std::net::SocketAddr>().is_err() {
                return bad(format!(
                    "tls.redirect_listen = {r:?} is not an address such as \"0.0.0.0:80\""
                ));
            }
            if self.tls.mode == TlsMode::Off {
                return bad("tls.redirect_listen needs TLS on (tls.mode is \"off\")".into());
            }
        }
        if self.keys.prepublish < 0 || self.keys.retain_extra < 0 {
            return bad("keys.prepublish and keys.retain_extra must not be negative".into());
        }
        self.validate_key_schedule()?;
        self.upkeep.validate()?;
        self.passkeys.validate()?;
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad("log.format must be \"text\" or \"json\"".into());
        }
        for proxy in &self.trusted_proxies {
            if proxy.parse::<std::net::IpAddr>().is_err() {
                return bad(format!("trusted_proxies: {proxy:?} is not an IP address"));
            }
        }
        Ok(())
    }

    /// The issuer, configured or derived from `listen` and the TLS mode.
    pub fn issuer(&self) -> String {
        if let Some(issuer) = &self.issuer {
            return issuer.clone();
        }
        let port = self
            .listen
            .parse::<std::net::SocketAddr>()
            .map(|a| a.port())
            .unwrap_or(8443);
        let scheme = if self.tls.mode == TlsMode::Off {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://localhost:{port}")
    }

    /// The database URL, configured or the embedded default under `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("nyckel.db").display()),
        }
    }

    /// Whether mail and SMS go to the development outbox (no relay configured yet).
    pub fn is_development(&self) -> bool {
        self.tls.mode == TlsMode::SelfSigned
    }
}

/// Issuers must be https, except http for localhost / 127.0.0.1; no query or fragment.
fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let bad = |m: &str| Err(ConfigError::Invalid(format!("issuer = {issuer:?}: {m}")));
    let Ok(url) = url::Url::parse(issuer) else {
        return bad("not a URL");
    };
    if url.query().is_some() || url.fragment().is_some() {
        return bad("an issuer has no query or fragment");
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return bad("an issuer needs a host");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) => Ok(()),
        "http" => bad("http is only accepted for localhost and 127.0.0.1; use https"),
        _ => bad("the scheme must be https"),
    }
}

#[cfg(test)]
mod env_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = Config::load_from(None, env(&[])).expect("defaults load");
        assert_eq!(c.issuer(), "https://localhost:8443");
        assert_eq!(c.database_url(), "sqlite://data/nyckel.db");
        assert_eq!(c.tls.mode, TlsMode::SelfSigned);
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let c = Config::load_from(
            None,
            env(&[
                ("NYCKEL_ISSUER", "https://id.example.org"),
                ("NYCKEL_DATABASE__URL", "postgres://db/nyckel"),
                ("NYCKEL_TLS__MODE", "off"),
                ("NYCKEL_TOKENS__CODE_TTL", "30"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.issuer(), "https://id.example.org");
        assert_eq!(c.database_url(), "postgres://db/nyckel");
        assert_eq!(c.tls.mode, TlsMode::Off);
        assert_eq!(c.tokens.code_ttl, 30);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nyckel-cfg-{}", crate::crypto::random_id()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn file_secrets_are_read() {
        let dir = std::env::temp_dir().join(format!("nyckel-cfg-{}", crate::crypto::random_id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let secret = dir.join("db_url");
        std::fs::write(&secret, "postgres://u:pw@db/n\n").expect("write");
        let c = Config::load_from(
            None,
            env(&[("NYCKEL_DATABASE__URL_FILE", secret.to_str().expect("utf8"))]),
        )
        .expect("loads");
        assert_eq!(c.database_url(), "postgres://u:pw@db/n");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn path_keys_ending_in_file_take_the_path() {
        let c = Config::load_from(
            None,
            env(&[
                ("NYCKEL_MAIL__SMTP_CA_FILE", "/etc/nyckel/relay-ca.pem"),
                ("NYCKEL_MAIL__SMTP_HOST", "relay.example.org"),
            ]),
        )
        .expect("loads");
        assert_eq!(
            c.mail.smtp_ca_file.as_deref(),
            Some(Path::new("/etc/nyckel/relay-ca.pem"))
        );
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load_from(None, env(&[("NYCKEL_ISSUER", "http://id.example.org")]))
            .expect_err("http issuer refused");
        assert!(err.to_string().contains("issuer"), "{err}");
        let err = Config::load_from(None, env(&[("NYCKEL_LISTN", "x")])).expect_err("typo");
        assert!(err.to_string().contains("listn"), "{err}");
        let err = Config::load_from(None, env(&[("NYCKEL_PASSWORD__ARGON2_MEMORY_KIB", "1024")]))
            .expect_err("weak argon2");
        assert!(err.to_string().contains("argon2_memory_kib"), "{err}");
    }

    #[test]
    fn the_smtp_password_is_not_in_debug() {
        let c = Config::load_from(
            None,
            env(&[
                ("NYCKEL_MAIL__SMTP_HOST", "smtp.example.org"),
                ("NYCKEL_MAIL__SMTP_USERNAME", "nyckel"),
                ("NYCKEL_MAIL__SMTP_PASSWORD", "canary-smtp-pw-77"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.mail.smtp_port, 587);
        assert!(!format!("{c:?}").contains("canary-smtp-pw-77"));
    }

    #[test]
    fn dkim_keys_come_together_and_are_checked() {
        let dir = tempfile_dir();
        let file = dir.join("dkim.pem");
        let pem = "-----BEGIN PRIVATE KEY-----\ncanary-dkim-key-3f1a\n-----END PRIVATE KEY-----\n";
        std::fs::write(&file, pem).expect("write");
        let ok = Config::load_from(
            None,
            env(&[
                ("NYCKEL_MAIL__DKIM_DOMAIN", "example.org"),
                ("NYCKEL_MAIL__DKIM_SELECTOR", "nyckel2025"),
                ("NYCKEL_MAIL__DKIM_KEY_FILE", file.to_str().expect("utf8")),
            ]),
        )
        .expect("loads");
        assert_eq!(ok.mail.dkim_selector.as_deref(), Some("nyckel2025"));
        assert_eq!(ok.mail.dkim_key.as_deref(), Some(pem.trim_end()));
        assert!(!format!("{ok:?}").contains("canary-dkim-key-3f1a"));
        let toml = dir.join("nyckel.toml");
        std::fs::write(
            &toml,
            format!(
                "[mail]\ndkim_domain = \"example.org\"\ndkim_selector = \"s1\"\ndkim_key_file = {:?}\n",
                file.to_str().expect("utf8")
            ),
        )
        .expect("write");
        let ok = Config::load_from(Some(&toml), env(&[])).expect("loads");
        assert_eq!(ok.mail.dkim_key_file.as_deref(), Some(file.as_path()));
        let err = Config::load_from(
            Some(&toml),
            env(&[("NYCKEL_MAIL__DKIM_KEY_FILE", file.to_str().expect("utf8"))]),
        )
        .expect_err("twice");
        assert!(err.to_string().contains("mail.dkim_key_file"), "{err}");
        let err = Config::load_from(None, env(&[("NYCKEL_MAIL__DKIM_DOMAIN", "example.org")]))
            .expect_err("domain alone");
        assert!(err.to_string().contains("mail.dkim_key_file"), "{err}");
        for (key, value) in [
            ("NYCKEL_MAIL__DKIM_DOMAIN", "example.org."),
            ("NYCKEL_MAIL__DKIM_DOMAIN", "exa mple.org"),
            ("NYCKEL_MAIL__DKIM_SELECTOR", "-s"),
            ("NYCKEL_MAIL__DKIM_SELECTOR", "s;x=1"),
        ] {
            let mut vars = vec![
                ("NYCKEL_MAIL__DKIM_DOMAIN", "example.org"),
                ("NYCKEL_MAIL__DKIM_SELECTOR", "s1"),
                ("NYCKEL_MAIL__DKIM_KEY_FILE", file.to_str().expect("utf8")),
            ];
            vars.retain(|(k, _)| *k != key);
            vars.push((key, value));
            let err = Config::load_from(None, env(&vars)).expect_err(value);
            let named = key.trim_start_matches("NYCKEL_MAIL__").to_lowercase();
            assert!(err.to_string().contains(&named), "{err}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
