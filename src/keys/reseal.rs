//! What is sealed with the master keys, and under which key: signing keys' private parts
//! (`signing_keys`, context = kid), queued messages (`outbox`, context = `outbox:<id>`),
//! webhook signing secrets (`webhook_endpoints`, context = `webhook-secret:<id>`) and
//! webhook bodies (`webhook_messages`, context = `webhook:<id>`).
//! [`reseal_all`] moves everything under the current key in one transaction (master-key
//! promotion); [`census`] counts rows per key (a retired key may be forgotten only when none
//! is left under it).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::keys::master::MasterKey;
use crate::store::{self, Db};

/// Rows per master key id.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Census {
    /// Key id -> rows sealed under it.
    pub by_key: BTreeMap<String, u64>,
    /// Queued messages no key of the file opens (left alone; they cannot be delivered).
    pub unopenable: u64,
}

/// A sealed value and its authenticated context.
struct Sealed {
    table: &'static str,
    /// The column, for tables with more than one sealed column.
    column: String,
    id: String,
    context: String,
    payload: String,
}

async fn sealed_rows(db: &Db) -> Result<Vec<Sealed>> {
    let mut rows: Vec<Sealed> = store::keys::list(db)
        .await?
        .into_iter()
        .map(|k| Sealed {
            table: "signing_keys",
            column: String::new(),
            context: k.id.clone(),
            id: k.id,
            payload: k.private_key,
        })
        .collect();
    rows.extend(
        store::outbox::sealed_payloads(db)
            .await?
            .into_iter()
            .map(|(id, payload)| Sealed {
                table: "outbox",
                column: String::new(),
                context: format!("outbox:{id}"),
                id,
                payload,
            }),
    );
    for (id, column, payload) in store::webhooks::sealed_values(db).await? {
        let (table, context) = match column.as_str() {
            "payload" => (
                "webhook_messages",
                crate::webhooks::events::seal_context(&id),
            ),
            _ => (
                "webhook_endpoints",
                crate::webhooks::deliver::secret_context(&id),
            ),
        };
        rows.push(Sealed {
            table,
            column,
            id,
            context,
            payload,
        });
    }
    Ok(rows)
}

/// Whether a row that no key opens may be left alone (a message that cannot be delivered)
/// rather than stop everything (a signing key or a webhook secret).
fn may_stay_unopened(row: &Sealed) -> bool {
    matches!(row.table, "outbox" | "webhook_messages")
}

/// Counts rows per master key that opens them. A signing key no key opens is an error.
pub async fn census(db: &Db, master: &MasterKey) -> Result<Census> {
    let mut census = Census::default();
    for row in sealed_rows(db).await? {
        match master.open_with_id(&row.payload, &row.context) {
            Ok((_, id)) => *census.by_key.entry(id).or_default() += 1,
            Err(_) if may_stay_unopened(&row) => census.unopenable += 1,
            Err(e) => return Err(Error::Crypto(format!("{} {}: {e}", row.table, row.id))),
        }
    }
    Ok(census)
}

/// Re-seals every row not yet under the current key, in one transaction; returns how many
/// rows changed. A signing key that no key of the file opens stops it with an error (and
/// nothing changes); queued messages that do not open are left alone.
pub async fn reseal_all(db: &Db, master: &MasterKey) -> Result<u64> {
    let rows = sealed_rows(db).await?;
    let mut updates = Vec::new();
    for row in rows {
        match master.open_with_id(&row.payload, &row.context) {
            Ok((_, id)) if id == master.current_id() && row.payload.starts_with("v1.") => {}
            Ok((plain, _)) => {
                let new = master.seal(&plain, &row.context);
                updates.push((row, new));
            }
            Err(_) if may_stay_unopened(&row) => {}
            Err(e) => return Err(Error::Crypto(format!("{} {}: {e}", row.table, row.id))),
        }
    }
    let mut tx = db.begin().await?;
    let mut changed = 0;
    for (row, new) in &updates {
        let done = match row.table {
            "signing_keys" => store::keys::reseal(&mut tx, &row.id, &row.payload, new).await?,
            "outbox" => store::outbox::reseal(&mut tx, &row.id, &row.payload, new).await?,
            _ => {
                let at = (row.id.as_str(), row.column.as_str());
                store::webhooks::reseal(&mut tx, at, &row.payload, new).await?
            }
        };
        changed += u64::from(done);
    }
    tx.commit().await?;
    Ok(changed)
}
