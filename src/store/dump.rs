//! Backend-neutral export and import of the whole database (backups, SQLite <-> PostgreSQL).
//!
//! Export reads one consistent snapshot, never a copy on disk: on SQLite one read transaction
//! (WAL), checked with `integrity_check` and `foreign_key_check` inside it; on PostgreSQL one
//! `REPEATABLE READ READ ONLY` transaction for every table. Tables and column
//! types are discovered from the database (everything but `_sqlx_migrations`, whose applied
//! versions are reported separately). Values are typed ([`Kind`]) so a SQLite integer flag
//! lands in a PostgreSQL SMALLINT and back.
//!
//! Import loads rows into an empty database in foreign-key order inside one transaction and
//! counts them.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use sqlx::{Any, AnyConnection, Executor, Row};

use crate::store::{Backend, Db};

/// Why an export or import failed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The neutral type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Int,
    Bool,
    Real,
    Text,
    Blob,
}

/// A column: name and neutral type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// A table of the schema with its columns in order.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
}

/// An applied migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Migration {
    pub version: i64,
    pub description: String,
}

/// One value in a row (JSON: null, number, string; blobs as base64 strings).
pub type Value = serde_json::Value;

/// An open, consistent snapshot of the database: one read-only transaction. Nothing is
/// copied to disk; rows are read from the database itself.
pub struct Snapshot {
    tx: sqlx::Transaction<'static, Any>,
    backend: Backend,
}

impl Snapshot {
    /// Takes the snapshot. SQLite: a read transaction on one connection (WAL: writers go on,
    /// readers see the database as it was when the transaction first read), checked with
    /// `integrity_check` and `foreign_key_check` inside it, so what is checked is what is read.
    /// PostgreSQL: one `REPEATABLE READ, READ ONLY` transaction for every table.
    pub async fn open(db: &Db) -> Result<Snapshot, DumpError> {
        // Dropped unfinished, the transaction rolls back.
        let mut tx = db.pool().begin().await?;
        match db.backend() {
            Backend::Sqlite => {
                // The first read fixes the snapshot; the checks read every page of it.
                check_sqlite(&mut tx).await?;
            }
            Backend::Postgres => {
                tx.execute("set transaction isolation level repeatable read, read only")
                    .await?;
            }
        }
        Ok(Snapshot {
            tx,
            backend: db.backend(),
        })
    }

    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The engine the snapshot was taken from.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The applied migrations.
    pub async fn migrations(&mut self) -> Result<Vec<Migration>, DumpError> {
        migrations(self.conn()).await
    }

    /// Every table but the migration table, by name.
    pub async fn tables(&mut self) -> Result<Vec<Table>, DumpError> {
        let backend = self.backend;
        tables(self.conn(), backend).await
    }

    /// Calls `each` with every row of `table` (values in column order); returns the count.
    pub async fn each_row(
        &mut self,
        table: &Table,
        mut each: impl FnMut(Vec<Value>) -> Result<(), DumpError>,
    ) -> Result<u64, DumpError> {
        let cols: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
        let sql = format!("select {} from {}", cols.join(", "), quote(&table.name));
        let mut rows = sqlx::query(&sql).fetch(self.conn());
        let mut n = 0;
        while let Some(row) = rows.try_next().await? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, c) in table.columns.iter().enumerate() {
                values.push(read_value(&row, i, c.kind)?);
            }
            each(values)?;
            n += 1;
        }
        Ok(n)
    }

    /// Ends the snapshot (the transaction changed nothing).
    pub async fn close(self) -> Result<(), DumpError> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// `PRAGMA integrity_check` and `foreign_key_check` on a SQLite connection.
pub async fn check_sqlite(conn: &mut AnyConnection) -> Result<(), DumpError> {
    let rows: Vec<(String,)> = sqlx::query_as("pragma integrity_check")
        .fetch_all(&mut *conn)
        .await?;
    if rows.len() != 1 || rows[0].0 != "ok" {
        let text: Vec<String> = rows.into_iter().map(|r| r.0).take(5).collect();
        return Err(DumpError::Invalid(format!(
            "integrity_check failed: {}",
            text.join("; ")
        )));
    }
    let fk = sqlx::query("pragma foreign_key_check")
        .fetch_all(&mut *conn)
        .await?;
    if !fk.is_empty() {
        return Err(DumpError::Invalid(format!(
            "foreign_key_check found {} rows pointing nowhere",
            fk.len()
        )));
    }
    Ok(())
}

/// Runs the integrity checks of `db` (SQLite: the pragmas; PostgreSQL enforces keys itself).
pub async fn check(db: &Db) -> Result<(), DumpError> {
    if db.backend() == Backend::Sqlite {
        let mut conn = db.pool().acquire().await?;
        check_sqlite(&mut conn).await?;
    }
    Ok(())
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn migrations(conn: &mut AnyConnection) -> Result<Vec<Migration>, DumpError> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select version, description from _sqlx_migrations where success = true order by version",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(version, description)| Migration {
            version,
            description,
        })
        .collect())
}

async fn tables(conn: &mut AnyConnection, backend: Backend) -> Result<Vec<Table>, DumpError> {
    let names: Vec<(String,)> = match backend {
        Backend::Sqlite => sqlx::query_as(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' and name <> '_sqlx_migrations' order by name",
        )
        .fetch_all(&mut *conn)
        .await?,
        Backend::Postgres => sqlx::query_as(
            "select table_name::text from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' and table_name <> '_sqlx_migrations' order by table_name",
        )
        .fetch_all(&mut *conn)
        .await?,
    };
    let mut out = Vec::with_capacity(names.len());
    for (name,) in names {
        let cols: Vec<(String, String)> = match backend {
            Backend::Sqlite => {
                sqlx::query_as("select name, type from pragma_table_info($1) order by cid")
                    .bind(&name)
                    .fetch_all(&mut *conn)
                    .await?
            }
            Backend::Postgres => sqlx::query_as(
                "select column_name::text, data_type::text from information_schema.columns where table_schema = current_schema() and table_name = $1 order by ordinal_position",
            )
            .bind(&name)
            .fetch_all(&mut *conn)
            .await?,
        };
        let mut columns = Vec::with_capacity(cols.len());
        for (col, ty) in cols {
            let kind = kind_of(backend, &ty).ok_or_else(|| {
                DumpError::Invalid(format!("{name}.{col}: unsupported column type {ty:?}"))
            })?;
            columns.push(Column { name: col, kind });
        }
        out.push(Table { name, columns });
    }
    Ok(out)
}

/// The neutral type of a declared column type (SQLite affinity rules; PostgreSQL names).
fn kind_of(backend: Backend, declared: &str) -> Option<Kind> {
    let t = declared.to_ascii_lowercase();
    match backend {
        Backend::Sqlite => Some(if t.contains("int") {
            Kind::Int
        } else if t.contains("char") || t.contains("clob") || t.contains("text") {
            Kind::Text
        } else if t.is_empty() || t.contains("blob") {
            Kind::Blob
        } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
            Kind::Real
        } else if t.contains("bool") {
            Kind::Int
        } else {
            return None;
        }),
        Backend::Postgres => match t.as_str() {
            "smallint" | "integer" | "bigint" => Some(Kind::Int),
            "boolean" => Some(Kind::Bool),
            "real" | "double precision" => Some(Kind::Real),
            "text" | "character varying" | "character" => Some(Kind::Text),
            "bytea" => Some(Kind::Blob),
            _ => None,
        },
    }
}

/// One column of a row as JSON, by its portable kind (a blob as base64url); shared with
/// `store::export`.
pub(crate) fn read_value(
    row: &sqlx::any::AnyRow,
    i: usize,
    kind: Kind,
) -> Result<serde_json::Value, sqlx::Error> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::from),
        Kind::Real => row.try_get::<Option<f64>, _>(i)?.map(Value::from),
        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
        Kind::Blob => row
            .try_get::<Option<Vec<u8>>, _>(i)?
            .map(|b| Value::from(crate::crypto::b64(&b))),
    }
    .unwrap_or(Value::Null))
}

/// Whether `db` holds no data: no tables but the migration table, or only empty ones.
pub async fn is_empty(db: &Db) -> Result<bool, DumpError> {
    let mut conn = db.pool().acquire().await?;
    for t in tables(&mut conn, db.backend()).await? {
        let sql = format!("select count(*) from {}", quote(&t.name));
        let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&mut *conn).await?;
        if n > 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The tables of `db` (after migrating).
pub async fn schema(db: &Db) -> Result<Vec<Table>, DumpError> {
    let mut conn = db.pool().acquire().await?;
    tables(&mut conn, db.backend()).await
}

/// Table names ordered so that every table comes after the tables it references.
pub async fn fk_order(db: &Db, names: &[String]) -> Result<Vec<String>, DumpError> {
    let edges: Vec<(String, String)> = match db.backend() {
        Backend::Sqlite => {
            let mut all = Vec::new();
            for n in names {
                let refs: Vec<(String,)> =
                    sqlx::query_as("select \"table\" from pragma_foreign_key_list($1)")
                        .bind(n)
                        .fetch_all(db.pool())
                        .await?;
                all.extend(refs.into_iter().map(|(r,)| (n.clone(), r)));
            }
            all
        }
        Backend::Postgres => {
            sqlx::query_as(
                "select cl.relname::text, ref.relname::text from pg_constraint c
             join pg_class cl on cl.oid = c.conrelid join pg_class ref on ref.oid = c.confrelid
             join pg_namespace ns on ns.oid = cl.relnamespace
             where c.contype = 'f' and ns.nspname = current_schema()",
            )
            .fetch_all(db.pool())
            .await?
        }
    };
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = names
        .iter()
        .map(|n| (n.as_str(), BTreeSet::new()))
        .collect();
    for (from, to) in &edges {
        if from != to
            && deps.contains_key(to.as_str())
            && let Some(d) = deps.get_mut(from.as_str())
        {
            d.insert(to.as_str());
        }
    }
    let mut order: Vec<String> = Vec::with_capacity(names.len());
    while !deps.is_empty() {
        let ready: Vec<&str> = deps
            .iter()
            .filter(|(_, d)| d.iter().all(|x| order.iter().any(|o| o == x)))
            .map(|(n, _)| *n)
            .collect();
        if ready.is_empty() {
            return Err(DumpError::Invalid(
                "the foreign keys between tables form a cycle".into(),
            ));
        }
        for n in ready {
            deps.remove(n);
            order.push(n.to_string());
        }
    }
    Ok(order)
}

/// Inserts rows into one table inside an open transaction, in multi-row statements.
pub struct Loader<'t> {
    table: Table,
    /// For each column of the part, the target column's kind.
    kinds: Vec<Kind>,
    batch: Vec<Vec<Value>>,
    per_statement: usize,
    tx: &'t mut crate::store::Tx<'static>,
    pub rows: u64,
}

impl<'t> Loader<'t> {
    /// A loader for `source` columns into the target table `target` (same names).
    pub fn new(
        tx: &'t mut crate::store::Tx<'static>,
        source: &Table,
        target: &Table,
    ) -> Result<Self, DumpError> {
        let mut kinds = Vec::with_capacity(source.columns.len());
        for c in &source.columns {
            let t = target
                .columns
                .iter()
                .find(|t| t.name == c.name)
                .ok_or_else(|| {
                    DumpError::Invalid(format!(
                        "{}.{}: the backup has a column the target schema lacks",
                        source.name, c.name
                    ))
                })?;
            kinds.push(t.kind);
        }
        if target.columns.len() != source.columns.len() {
            return Err(DumpError::Invalid(format!(
                "{}: the target schema has columns the backup lacks",
                source.name
            )));
        }
        let per_statement = (900 / source.columns.len().max(1)).max(1);
        Ok(Loader {
            table: source.clone(),
            kinds,
            batch: Vec::with_capacity(per_statement),
            per_statement,
            tx,
            rows: 0,
        })
    }

    /// Queues one row; writes when a statement's worth is queued.
    pub async fn push(&mut self, row: Vec<Value>) -> Result<(), DumpError> {
        if row.len() != self.kinds.len() {
            return Err(DumpError::Invalid(format!(
                "{}: a row has {} values for {} columns",
                self.table.name,
                row.len(),
                self.kinds.len()
            )));
        }
        self.batch.push(row);
        if self.batch.len() >= self.per_statement {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is queued; returns the number of rows written in all.
    pub async fn finish(mut self) -> Result<u64, DumpError> {
        self.flush().await?;
        Ok(self.rows)
    }

    async fn flush(&mut self) -> Result<(), DumpError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let n = self.kinds.len();
        let cols: Vec<String> = self.table.columns.iter().map(|c| quote(&c.name)).collect();
        let mut sql = format!(
            "insert into {} ({}) values ",
            quote(&self.table.name),
            cols.join(", ")
        );
        for r in 0..self.batch.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..n {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", r * n + c + 1));
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for row in &self.batch {
            for (v, kind) in row.iter().zip(&self.kinds) {
                q = bind(q, v, *kind)
                    .map_err(|m| DumpError::Invalid(format!("{}: {m}", self.table.name)))?;
            }
        }
        q.execute(&mut **self.tx).await?;
        self.rows += self.batch.len() as u64;
        self.batch.clear();
        Ok(())
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

fn bind<'q>(q: AnyQuery<'q>, v: &Value, kind: Kind) -> Result<AnyQuery<'q>, String> {
    let bad = || format!("value {v} does not fit a {kind:?} column");
    Ok(match kind {
        Kind::Int => q.bind(match v {
            Value::Null => None,
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Number(n) => Some(n.as_i64().ok_or_else(bad)?),
            _ => return Err(bad()),
        }),
        Kind::Bool => q.bind(match v {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_i64().ok_or_else(bad)? != 0),
            _ => return Err(bad()),
        }),
        Kind::Real => q.bind(match v {
            Value::Null => None,
            Value::Number(n) => Some(n.as_f64().ok_or_else(bad)?),
            _ => return Err(bad()),
        }),
        Kind::Text => q.bind(match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return Err(bad()),
        }),
        Kind::Blob => q.bind(match v {
            Value::Null => None,
            Value::String(s) => Some(crate::crypto::b64_decode(s).ok_or_else(bad)?),
            _ => return Err(bad()),
        }),
    })
}

/// Number of rows in `table`.
pub async fn count(tx: &mut crate::store::Tx<'static>, table: &str) -> Result<u64, DumpError> {
    let sql = format!("select count(*) from {}", quote(table));
    let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(&mut **tx).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes every row of `table` (rows a migration seeded, before a restore fills it).
pub async fn clear(tx: &mut crate::store::Tx<'static>, table: &str) -> Result<(), DumpError> {
    let sql = format!("delete from {}", quote(table));
    sqlx::query(&sql).execute(&mut **tx).await?;
    Ok(())
}

/// Applies the embedded migrations up to and including `version` (a restore brings the
/// target to the backup's schema before loading it).
pub async fn migrate_to(db: &Db, version: i64) -> Result<(), DumpError> {
    let m = crate::store::schema::embedded(db.backend());
    let migrator = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            m.migrations
                .iter()
                .filter(|x| x.version <= version)
                .cloned()
                .collect(),
        ),
        ignore_missing: false,
        locking: m.locking,
        no_tx: m.no_tx,
    };
    migrator
        .run(db.writer())
        .await
        .map_err(|e| DumpError::Invalid(format!("migrating the target: {e}")))?;
    Ok(())
}

/// The versions of the migrations this binary knows.
pub fn known_versions(backend: Backend) -> Vec<i64> {
    crate::store::schema::embedded(backend)
        .iter()
        .map(|m| m.version)
        .collect()
}
