//! What is sealed with the master keys, and under which key: signing keys' private parts
//! (`signing_keys`, context = kid) and queued messages (`outbox`, context = `outbox:<id>`).
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
                context: format!("outbox:{id}"),
                id,
                payload,
            }),
    );
    Ok(rows)
}

/// Counts rows per master key that opens them. A signing key no key opens is an error.
pub async fn census(db: &Db, master: &MasterKey) -> Result<Census> {
    let mut census = Census::default();
    for row in sealed_rows(db).await? {
        match master.open_with_id(&row.payload, &row.context) {
            Ok((_, id)) => *census.by_key.entry(id).or_default() += 1,
            Err(_) if row.table == "outbox" => census.unopenable += 1,
            Err(e) => return Err(Error::Crypto(format!("signing key {}: {e}", row.id))),
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
            Err(_) if row.table == "outbox" => {}
            Err(e) => return Err(Error::Crypto(format!("signing key {}: {e}", row.id))),
        }
    }
    let mut tx = db.begin().await?;
    let mut changed = 0;
    for (row, new) in &updates {
        let done = match row.table {
            "signing_keys" => store::keys::reseal(&mut tx, &row.id, &row.payload, new).await?,
            _ => store::outbox::reseal(&mut tx, &row.id, &row.payload, new).await?,
        };
        changed += u64::from(done);
    }
    tx.commit().await?;
    Ok(changed)
}
