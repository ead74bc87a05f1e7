//! Where backups are kept: a named place that stores, returns, lists and deletes objects by
//! key. Implementations: a local or mounted directory (`dir`), S3-compatible storage (`s3`).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// Why a destination operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DestinationError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Io(String),
}

/// The future a destination operation returns.
pub type DestFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DestinationError>> + Send + 'a>>;

/// One place backups are copied to.
pub trait Destination: Send + Sync {
    /// The name from the configuration, for logs, metrics and listings.
    fn name(&self) -> &str;
    /// Stores `data` under `key`, replacing any object there; durable when it returns Ok.
    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> DestFuture<'a, ()>;
    /// The object under `key`.
    fn get<'a>(&'a self, key: &'a str) -> DestFuture<'a, Bytes>;
    /// Every key that starts with `prefix`, in no particular order.
    fn list<'a>(&'a self, prefix: &'a str) -> DestFuture<'a, Vec<String>>;
    /// Deletes the object under `key`; deleting a missing key is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> DestFuture<'a, ()>;
}
