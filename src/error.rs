//! The internal error type for unexpected failures (database, I/O, crypto, templates).
//! Expected outcomes (bad credentials, protocol errors) have their own enums at the edges.

/// An error and its sources for the log: `outer: cause: root cause`. A source whose text the
/// message already holds (`#[error("database: {0}")]` wraps its source's text) is not
/// repeated. Log errors as `error = %Chain(&e)`, not only their own `Display`, so the root
/// cause (an I/O error under a TLS failure, a refused connection under a pool timeout)
/// reaches the log.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let more = cause.to_string();
            if !more.is_empty() && !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            source = cause.source();
        }
        f.write_str(&text)
    }
}

/// Whether a database error means the database is unavailable (a passing condition: 503
/// with `Retry-After`), as [`crate::store::is_unavailable`] decides, for the layers above
/// the store.
pub fn db_unavailable(e: &sqlx::Error) -> bool {
    crate::store::is_unavailable(e)
}

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
    /// A provisioning step failed inside (its cause was logged where it happened).
    #[error("provisioning: {0}")]
    Scim(#[from] crate::scim::error::ScimError),
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

impl Error {
    /// Whether this is the database being unavailable right now ([`crate::store::is_unavailable`]):
    /// a passing condition, answered 503 with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Db(e) => crate::store::is_unavailable(e),
            Error::Scim(e) => e.kind == crate::scim::error::ScimErrorKind::Unavailable,
            _ => false,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Database errors as the drivers report them, for unit tests of their handling.
#[cfg(test)]
mod chain_tests {
    use super::{Chain, Error};

    #[test]
    fn the_chain_names_every_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::Io(io);
        assert_eq!(Chain(&e).to_string(), "i/o: refused");
        #[derive(Debug, thiserror::Error)]
        #[error("pool timed out")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(Chain(&e).to_string(), "pool timed out: connection refused");
    }
}

#[cfg(test)]
pub(crate) mod test_errors {
    use std::borrow::Cow;

    /// A database error with a SQLSTATE (as PostgreSQL reports them).
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "database error {}", self.0)
        }
    }

    impl std::error::Error for Coded {}

    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            "a test error"
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }

        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    /// A database error with the SQLSTATE `code`.
    pub fn sqlstate(code: &'static str) -> sqlx::Error {
        sqlx::Error::Database(Box::new(Coded(code)))
    }

    /// The error of a closed connection (the server went away mid-query).
    pub fn closed() -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "expected to read 5 bytes, got 0 bytes at EOF",
        ))
    }

    /// SQLite's "database is locked" after its busy timeout, from a real SQLite file: one
    /// connection holds the write lock, another gives up at once (`busy_timeout = 0`).
    pub async fn sqlite_busy() -> sqlx::Error {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let mut holder = sqlx::AnyConnection::connect(&url).await.expect("connect");
        let mut other = sqlx::AnyConnection::connect(&url).await.expect("connect");
        holder
            .execute("create table t (x integer)")
            .await
            .expect("table");
        holder.execute("begin immediate").await.expect("lock");
        other
            .execute("pragma busy_timeout = 0")
            .await
            .expect("pragma");
        let e = other
            .execute("insert into t (x) values (1)")
            .await
            .expect_err("locked");
        let _ = holder.execute("rollback").await;
        e
    }
}
