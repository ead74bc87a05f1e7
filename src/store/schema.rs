//! Schema versions for rolling upgrades: which migrations this binary knows, which the
//! database has applied, and what a node does when they differ.
//!
//! Migrations are expand-then-contract: a migration that removes or changes something an
//! older version still uses has `contract` in its file name (its description). A node facing
//! a database with migrations it does not know keeps serving when all of them are expand
//! migrations (the previous version runs beside the new one during a rolling upgrade), and
//! refuses to start, saying what to do, when one of them is a contract migration.

use sqlx::migrate::Migrator;

use crate::store::{Backend, Db, POSTGRES_MIGRATOR, SQLITE_MIGRATOR};

/// One migration: version and description.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub version: i64,
    pub description: String,
}

impl Step {
    /// Whether this migration removes something older versions use.
    pub fn is_contract(&self) -> bool {
        self.description.to_ascii_lowercase().contains("contract")
    }
}

/// Where the database stands against this binary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// Known here, not applied yet.
    pub pending: Vec<Step>,
    /// Applied, but unknown to this binary (a newer version migrated).
    pub newer: Vec<Step>,
}

/// The embedded migrations for `backend`.
pub fn embedded(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE_MIGRATOR,
        Backend::Postgres => &POSTGRES_MIGRATOR,
    }
}

/// A runnable copy of `known` (the migrations a binary carries) that tolerates newer applied
/// migrations.
pub fn tolerant(known: &Migrator) -> Migrator {
    let m = known;
    Migrator {
        migrations: m.migrations.clone(),
        ignore_missing: true,
        locking: m.locking,
        no_tx: m.no_tx,
    }
}

/// The migrations applied to the database (none when it has no migration table yet).
async fn applied(db: &Db) -> Result<Vec<Step>, sqlx::Error> {
    let exists = sqlx::query_as::<_, (i64, String)>(
        "select version, description from _sqlx_migrations where success = true order by version",
    )
    .fetch_all(db.pool())
    .await;
    match exists {
        Ok(rows) => Ok(rows
            .into_iter()
            .map(|(version, description)| Step {
                version,
                description,
            })
            .collect()),
        Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// Compares the database with this binary.
pub async fn status(db: &Db) -> Result<Status, sqlx::Error> {
    status_against(db, embedded(db.backend())).await
}

/// Compares the database with the migrations in `known` (see [`Db::migrate_with`]).
pub async fn status_against(db: &Db, known: &Migrator) -> Result<Status, sqlx::Error> {
    let applied = applied(db).await?;
    let pending = known
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .map(|m| Step {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect();
    let newer = applied
        .into_iter()
        .filter(|a| !known.iter().any(|m| m.version == a.version))
        .collect();
    Ok(Status { pending, newer })
}
