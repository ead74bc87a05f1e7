//! Administrative use-cases shared by the CLI and (later) the admin API: creating people,
//! organisations, memberships and clients. Validation lives here, not in the callers.

pub mod clients;
pub mod orgs;
pub mod principal;
pub mod users;

/// Why an administrative action was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Internal(#[from] crate::error::Error),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Internal(e.into())
    }
}
