//! The internal error type for unexpected failures (database, I/O, crypto, templates).
//! Expected outcomes (bad credentials, protocol errors) have their own enums at the edges.

/// An unexpected failure. Its details go to the log, never to a response.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("password hashing: {0}")]
    PasswordHash(String),
    #[error("task: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("invalid stored data: {0}")]
    Corrupt(String),
    #[error("mail: {0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("sms: {0}")]
    Sms(#[from] crate::sms::SmsError),
    /// `[passkeys]` was configured, and it does not make a WebAuthn relying party.
    #[error("passkeys: {0}")]
    RelyingParty(#[from] crate::auth::passkeys::RelyingPartyError),
    /// A passkey ceremony on an installation whose passkeys are off (an IP-address issuer).
    #[error("passkeys are not available on this installation")]
    PasskeysOff,
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
