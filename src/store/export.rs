//! The rows Nyckel holds about one person (GDPR art. 15 "download my data", and what
//! [`crate::store::erasure`] removes), found from the LIVE schema so a table added later is
//! covered without a change here:
//!
//! - the account row (`users.id = sub`);
//! - every row of every table with a foreign key to a row already found, transitively
//!   (`sessions`, `grants` and through them `auth_codes` and `refresh_tokens`, ...). Keys
//!   declared `on delete set null` mark a row as mentioning the person but are not followed
//!   further (the row is not theirs: deleting the person keeps it);
//! - the references without a foreign key, declared in [`LOOSE`]: audit events about or by
//!   them, messages to their address or number, invitations to their address.
//!
//! Secrets never leave: every column of an exported table is either listed in [`DENIED`]
//! (never exported), or in [`ALLOWED`], or does not look secret ([`looks_secret`]). A column
//! that looks secret but is in neither list is withheld as well, and
//! [`unclassified`] names it so a test fails until someone decides (a new table cannot
//! silently leak).

use std::collections::{BTreeMap, BTreeSet};

use crate::store::dump::{self, Table};
use crate::store::{Backend, Db};

/// Columns that are never exported: hashes of tokens, codes, keys and cookies, CSRF tokens,
/// password hashes, sealed message bodies, PKCE challenges and nonces.
pub const DENIED: &[&str] = &[
    "users.password_hash",
    "sessions.id_hash",
    "sessions.csrf",
    "auth_codes.code_hash",
    "auth_codes.code_challenge",
    "auth_codes.nonce",
    "refresh_tokens.token_hash",
    "login_keys.key_hash",
    "login_keys.code_hash",
    "login_keys.binding_hash",
    "outbox.payload",
    "invitations.key_hash",
    "auth_requests.binding_hash",
    "auth_requests.csrf",
    "clients.secret_hash",
    "signing_keys.private_key",
    "message_sends.recipient_hash",
    "message_sends.person_hash",
    "login_throttle.key",
    // Passkeys and two-factor login (issue 5, other branches): credential blobs and ids,
    // ceremony state and its random id, browser bindings, step cookies' hashes.
    "passkeys.credential",
    "passkeys.credential_id",
    "webauthn_challenges.id",
    "webauthn_challenges.binding",
    "webauthn_challenges.state",
    "login_steps.id_hash",
    "login_steps.replaces",
    "login_steps.request_id",
    // Webhooks (issue 18): sealed signing secrets and message bodies.
    "webhook_endpoints.secret_sealed",
    "webhook_endpoints.previous_secret_sealed",
    "webhook_messages.payload",
];

/// Columns whose names look secret but hold nothing secret.
pub const ALLOWED: &[&str] = &[
    "users.must_change_password",
    "webhook_messages.state",
    "scim_users.user_name_key",
];

/// Parts of a column name that suggest a secret.
const SECRET_WORDS: &[&str] = &[
    "hash",
    "secret",
    "csrf",
    "credential",
    "state",
    "key",
    "token",
    "password",
    "cookie",
    "challenge",
    "nonce",
    "payload",
    "private",
    "public",
    "seal",
    "cipher",
    "otp",
    "code",
    "salt",
    "passkey",
    "binding",
];

/// Whether a column name looks like it could hold a secret.
pub fn looks_secret(column: &str) -> bool {
    let c = column.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| c.contains(w))
}

/// Whether `table.column` may be exported.
pub fn exportable(table: &str, column: &str) -> bool {
    let full = format!("{table}.{column}");
    if DENIED.contains(&full.as_str()) {
        return false;
    }
    ALLOWED.contains(&full.as_str()) || !looks_secret(column)
}

/// What a [`LOOSE`] reference matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The `sub`.
    Sub,
    /// The email address as stored on the account.
    Email,
    /// The email address normalised (`users.email_normalized`).
    EmailNormalized,
    /// The phone number as stored (E.164), when there is one.
    Phone,
    /// A new address or number they asked to change to and have not confirmed yet
    /// (`login_keys.email` / `login_keys.phone` of their keys).
    Pending(&'static str),
}

/// References to a person without a foreign key: `(table, column, what it holds)`. Tables or
/// columns missing from the live schema are skipped.
pub const LOOSE: &[(&str, &str, By)] = &[
    ("audit_events", "user_id", By::Sub),
    ("audit_events", "actor_id", By::Sub),
    ("outbox", "recipient", By::Email),
    ("outbox", "recipient", By::Phone),
    ("outbox", "recipient", By::Pending("email")),
    ("outbox", "recipient", By::Pending("phone")),
    ("invitations", "email_normalized", By::EmailNormalized),
    ("invitations", "accepted_by", By::Sub),
    ("webhook_messages", "subject", By::Sub),
];

/// A foreign key (single column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub table: String,
    pub column: String,
    pub ref_table: String,
    pub ref_column: String,
    /// `on delete set null` (or `set default`): the row only mentions the referenced one.
    pub set_null: bool,
}

/// Every single-column foreign key of the live schema.
pub async fn foreign_keys(db: &Db, tables: &[Table]) -> Result<Vec<ForeignKey>, sqlx::Error> {
    let mut out = Vec::new();
    match db.backend() {
        Backend::Sqlite => {
            for t in tables {
                let rows: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
                    "select seq, \"table\", \"from\", \"to\", on_delete from pragma_foreign_key_list($1)",
                )
                .bind(&t.name)
                .fetch_all(db.pool())
                .await?;
                for (seq, ref_table, column, to, on_delete) in rows {
                    if seq != 0 {
                        continue;
                    }
                    out.push(ForeignKey {
                        table: t.name.clone(),
                        column,
                        ref_table,
                        ref_column: to.unwrap_or_else(|| "id".into()),
                        set_null: on_delete.to_ascii_uppercase().starts_with("SET"),
                    });
                }
            }
        }
        Backend::Postgres => {
            let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
                "select cl.relname::text, a.attname::text, ref.relname::text, ra.attname::text,
                        c.confdeltype::text
                 from pg_constraint c
                 join pg_class cl on cl.oid = c.conrelid
                 join pg_class ref on ref.oid = c.confrelid
                 join pg_namespace ns on ns.oid = cl.relnamespace
                 join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
                 join pg_attribute ra on ra.attrelid = c.confrelid and ra.attnum = c.confkey[1]
                 where c.contype = 'f' and ns.nspname = current_schema()
                   and array_length(c.conkey, 1) = 1
                 order by 1, 2",
            )
            .fetch_all(db.pool())
            .await?;
            for (table, column, ref_table, ref_column, action) in rows {
                out.push(ForeignKey {
                    table,
                    column,
                    ref_table,
                    ref_column,
                    set_null: action == "n" || action == "d",
                });
            }
        }
    }
    Ok(out)
}

/// The values a person is found by. Bound as `$1` (sub), `$2` (email), `$3` (normalised
/// email), `$4` (phone, or a value no column holds).
#[derive(Debug, Clone)]
pub struct Person {
    pub sub: String,
    pub email: String,
    pub email_normalized: String,
    pub phone: Option<String>,
}

impl Person {
    fn param(by: By) -> &'static str {
        match by {
            By::Sub => "$1",
            By::Email => "$2",
            By::EmailNormalized => "$3",
            By::Phone => "$4",
            By::Pending(_) => "$1",
        }
    }
}

/// How to find one table's rows about the person.
#[derive(Debug, Clone)]
pub struct Selection {
    pub table: Table,
    /// A SQL condition on the table's rows using `$1..$4` ([`Person`]).
    pub condition: String,
    /// Steps from the account row (0: `users`, or a [`LOOSE`] table); deeper rows depend on
    /// shallower ones and are deleted first.
    pub depth: usize,
    /// Only mentions the person (a `set null` foreign key); nothing hangs off it.
    pub mention_only: bool,
}

/// Which rows of which tables are about a person: [`Selection`]s, shallowest first.
#[derive(Debug, Clone)]
pub struct Reach {
    pub selections: Vec<Selection>,
    pub keys: Vec<ForeignKey>,
    /// Every table of the live schema.
    pub tables: Vec<Table>,
}

impl Reach {
    /// Whether the live schema has `table.column`.
    pub fn has(&self, table: &str, column: &str) -> bool {
        self.tables
            .iter()
            .any(|t| t.name == table && t.columns.iter().any(|c| c.name == column))
    }
}

pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Finds the tables (and conditions) that hold rows about a person, from the live schema.
pub async fn reach(db: &Db) -> Result<Reach, dump::DumpError> {
    let tables = dump::schema(db).await?;
    let keys = foreign_keys(db, &tables).await?;
    let by_name: BTreeMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), t)).collect();
    let has = |t: &str, c: &str| {
        by_name
            .get(t)
            .is_some_and(|t| t.columns.iter().any(|x| x.name == c))
    };
    // table -> (conditions, depth, mention_only)
    let mut found: BTreeMap<String, (Vec<String>, usize, bool)> = BTreeMap::new();
    if has("users", "id") {
        found.insert("users".into(), (vec!["\"id\" = $1".into()], 0, false));
    }
    for (table, column, by) in LOOSE {
        if has(table, column) {
            let cond = match by {
                By::Pending(col) if has("login_keys", col) && has("login_keys", "user_id") => {
                    format!(
                        "{} in (select {c} from login_keys where user_id = $1 and {c} is not null)",
                        quote(column),
                        c = quote(col)
                    )
                }
                By::Pending(_) => continue,
                by => format!("{} = {}", quote(column), Person::param(*by)),
            };
            let e = found
                .entry(table.to_string())
                .or_insert((Vec::new(), 0, false));
            e.0.push(cond);
        }
    }
    // Follow foreign keys into the found rows until nothing new turns up. Each pass adds at
    // most one level; the schema has no cycles (dump::fk_order refuses them), so this ends.
    for depth in 1..=tables.len() {
        let mut added = false;
        for k in &keys {
            if k.table == k.ref_table {
                continue;
            }
            let Some((parent_conds, parent_depth, parent_mention)) =
                found.get(&k.ref_table).cloned()
            else {
                continue;
            };
            if parent_mention || parent_depth != depth - 1 {
                continue;
            }
            let cond = if k.ref_table == "users" && k.ref_column == "id" {
                format!("{} = $1", quote(&k.column))
            } else {
                format!(
                    "{} in (select {} from {} where {})",
                    quote(&k.column),
                    quote(&k.ref_column),
                    quote(&k.ref_table),
                    join_or(&parent_conds)
                )
            };
            let e = found
                .entry(k.table.clone())
                .or_insert((Vec::new(), depth, k.set_null));
            if !e.0.contains(&cond) {
                e.0.push(cond);
                e.1 = e.1.max(depth);
                e.2 = e.2 && k.set_null;
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    let mut selections: Vec<Selection> = found
        .into_iter()
        .filter_map(|(name, (conds, depth, mention_only))| {
            by_name.get(name.as_str()).map(|t| Selection {
                table: (*t).clone(),
                condition: join_or(&conds),
                depth,
                mention_only,
            })
        })
        .collect();
    selections.sort_by(|a, b| a.depth.cmp(&b.depth).then(a.table.name.cmp(&b.table.name)));
    Ok(Reach {
        selections,
        keys,
        tables,
    })
}

fn join_or(conds: &[String]) -> String {
    conds
        .iter()
        .map(|c| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Binds the [`Person`] as `$1..$4`.
pub(crate) fn bind_person<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    p: &Person,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    // A phone-less person matches no recipient: `$4` gets a value no column holds.
    let phone = p.phone.clone().unwrap_or_else(|| NOTHING.to_string());
    q.bind(p.sub.clone())
        .bind(p.email.clone())
        .bind(p.email_normalized.clone())
        .bind(phone)
}

/// A value no column holds (PostgreSQL refuses NUL in text, so not that): what a missing
/// phone number, or an address unknown after the account is gone, is matched with.
pub const NOTHING: &str = "\u{1}(none)";

/// The rows of one table about the person, exportable columns only.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableRows {
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Columns left out (secrets, or unclassified names that look secret).
    pub withheld: Vec<String>,
}

/// Reads every row about the person, table by table (exportable columns only). Audit events
/// the person caused about SOMEONE ELSE keep their kind, time, organisation and client, but
/// not whom they were about nor their details (another person's data).
pub async fn rows_about(
    db: &Db,
    reach: &Reach,
    person: &Person,
) -> Result<BTreeMap<String, TableRows>, dump::DumpError> {
    let mut out = BTreeMap::new();
    for s in &reach.selections {
        let (cols, withheld): (Vec<_>, Vec<_>) = s
            .table
            .columns
            .iter()
            .partition(|c| exportable(&s.table.name, &c.name));
        if cols.is_empty() {
            continue;
        }
        let names: Vec<String> = cols.iter().map(|c| quote(&c.name)).collect();
        let sql = format!(
            "select {} from {} where {}",
            names.join(", "),
            quote(&s.table.name),
            s.condition
        );
        let rows = bind_person(sqlx::query(&sql), person)
            .fetch_all(db.pool())
            .await?;
        let mut list = Vec::with_capacity(rows.len());
        for row in rows {
            let mut map = serde_json::Map::new();
            for (i, c) in cols.iter().enumerate() {
                map.insert(c.name.clone(), dump::read_value(&row, i, c.kind)?);
            }
            if s.table.name == "audit_events" {
                let about = map.get("user_id").and_then(|v| v.as_str());
                if about.is_some_and(|u| u != person.sub) {
                    map.insert("user_id".into(), serde_json::Value::Null);
                    map.insert(
                        "detail".into(),
                        serde_json::Value::from("(about another person: withheld)"),
                    );
                }
            }
            list.push(map);
        }
        out.insert(
            s.table.name.clone(),
            TableRows {
                rows: list,
                withheld: withheld.iter().map(|c| c.name.clone()).collect(),
            },
        );
    }
    Ok(out)
}

/// `table.column` of every column of the tables the export covers that looks secret but is
/// neither in [`DENIED`] nor in [`ALLOWED`] (such columns are withheld; a test asserts this
/// list is empty so every new one gets a decision).
pub fn unclassified(reach: &Reach) -> Vec<String> {
    let mut out = BTreeSet::new();
    for s in &reach.selections {
        for c in &s.table.columns {
            let full = format!("{}.{}", s.table.name, c.name);
            if looks_secret(&c.name)
                && !DENIED.contains(&full.as_str())
                && !ALLOWED.contains(&full.as_str())
            {
                out.insert(full);
            }
        }
    }
    out.into_iter().collect()
}

/// The newest applied migration (the export's schema version).
pub async fn schema_version(db: &Db) -> Result<i64, sqlx::Error> {
    let (v,): (Option<i64>,) =
        sqlx::query_as("select max(version) from _sqlx_migrations where success = true")
            .fetch_one(db.pool())
            .await?;
    Ok(v.unwrap_or(0))
}

/// The account's own lookup values, when the account exists.
pub async fn person(db: &Db, sub: &str) -> Result<Option<Person>, sqlx::Error> {
    let row: Option<(String, String, Option<String>)> =
        sqlx::query_as("select email, email_normalized, phone from users where id = $1")
            .bind(sub)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(email, email_normalized, phone)| Person {
        sub: sub.to_string(),
        email,
        email_normalized,
        phone,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_names_are_caught_and_decisions_hold() {
        for c in [
            "password_hash",
            "csrf",
            "credential_id",
            "state",
            "public_key",
            "token_hash",
            "challenge",
        ] {
            assert!(looks_secret(c), "{c}");
        }
        for c in ["email", "name", "created_at", "roles", "user_id", "ip"] {
            assert!(!looks_secret(c), "{c}");
        }
        assert!(!exportable("users", "password_hash"));
        assert!(exportable("users", "must_change_password"));
        assert!(
            !exportable("passkeys", "public_key"),
            "unclassified: withheld"
        );
        assert!(exportable("users", "email"));
    }
}
