//! A short-lived per-node cache of clients for the endpoints that authenticate a client on
//! every request (token, revocation, introspection, userinfo). Entries live
//! [`CLIENT_CACHE_TTL`]; a change to a client (secret, grant types, deletion) therefore reaches
//! every node within that time. Misses are not cached, so a new client works at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::{self, Db, clients::Client};

/// How long a cached client is trusted.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(5);
/// Entries kept at most (cleared when full: cheap, and misses only cost a query).
const MAX_ENTRIES: usize = 10_000;

/// Clients by id, with the instant they were read.
#[derive(Debug)]
pub struct ClientCache {
    db: Db,
    entries: Mutex<HashMap<String, (Instant, Arc<Client>)>>,
}

impl ClientCache {
    /// An empty cache over `db`.
    pub fn new(db: Db) -> Self {
        Self {
            db,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The client with `id`, from the cache when fresh, else from the database.
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Client>>, sqlx::Error> {
        if let Some((at, client)) = self.lock().get(id)
            && at.elapsed() < CLIENT_CACHE_TTL
        {
            return Ok(Some(client.clone()));
        }
        let Some(client) = store::clients::find(&self.db, id).await? else {
            self.lock().remove(id);
            return Ok(None);
        };
        let client = Arc::new(client);
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id.to_string(), (Instant::now(), client.clone()));
        Ok(Some(client))
    }

    /// Forgets a client (after this node changed it).
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Arc<Client>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
