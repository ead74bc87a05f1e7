//! Refresh-token rotation writes, committed in groups. Every rotation is two statements: the
//! atomic consume of the presented token and the insert of its successor. One task per node
//! runs them in batches, one transaction (one fsync) per batch, instead of one transaction
//! per refresh: SQLite has a single writer and `synchronous = full` syncs on every commit, so
//! this is what lets refresh throughput exceed the disk's sync rate. Each consume is still a
//! single atomic `update ... where used_at is null ... returning`, safe across nodes; a crash
//! before the commit loses only rotations nobody was answered for: a caller is answered only
//! after its batch committed. A batch that takes longer than twice `database.acquire_timeout`
//! (a database that stopped answering) is abandoned and rolled back, so one hung connection
//! cannot stall every later rotation.

use tokio::sync::{mpsc, oneshot};

use crate::clock::UnixTime;
use crate::store::refresh_tokens::{self, Taken};
use crate::store::{Db, Tx};

/// Most rotations committed together.
const MAX_BATCH: usize = 128;

/// One rotation to perform.
struct Rotation {
    presented_hash: String,
    grant_id: String,
    successor_hash: String,
    now: UnixTime,
    expires_at: UnixTime,
    reply: oneshot::Sender<Result<Taken, Failed>>,
}

/// Why a batch failed, as told to each of its callers (sqlx errors cannot be cloned).
#[derive(Debug)]
struct Failed {
    /// The database could not be reached (the caller answers 503, not 500).
    unavailable: bool,
    message: String,
}

/// Hands rotations to the batching task.
#[derive(Debug, Clone)]
pub struct Rotator {
    tx: mpsc::Sender<Rotation>,
}

impl std::fmt::Debug for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rotation(..)")
    }
}

impl Rotator {
    /// Starts the batching task on the current runtime.
    pub fn spawn(db: Db) -> Self {
        let (tx, mut rx) = mpsc::channel::<Rotation>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let deadline = db.timeout() * 2;
                let outcome = match tokio::time::timeout(deadline, run(&db, &batch)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(sqlx::Error::PoolTimedOut),
                };
                match outcome {
                    Ok(results) => {
                        for (r, taken) in batch.into_iter().zip(results) {
                            let _ = r.reply.send(Ok(taken));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %crate::error::Chain(&e), size = batch.len(), "refresh rotation batch failed");
                        let unavailable = crate::store::is_unavailable(&e);
                        for r in batch {
                            let _ = r.reply.send(Err(Failed {
                                unavailable,
                                message: e.to_string(),
                            }));
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    /// Consumes the token with `presented_hash` (which must belong to `grant_id`) and stores
    /// `successor_hash` in the same grant. Returns what the consume found; the successor is
    /// stored only for [`Taken::Fresh`] of the expected grant.
    pub async fn rotate(
        &self,
        presented_hash: String,
        grant_id: String,
        successor_hash: String,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> crate::error::Result<Taken> {
        let (reply, answer) = oneshot::channel();
        let rotation = Rotation {
            presented_hash,
            grant_id,
            successor_hash,
            now,
            expires_at,
            reply,
        };
        let gone = || crate::error::Error::Corrupt("the refresh rotation task stopped".into());
        self.tx.send(rotation).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?.map_err(|f| {
            crate::error::Error::Db(if f.unavailable {
                sqlx::Error::Io(std::io::Error::other(f.message))
            } else {
                sqlx::Error::Protocol(f.message)
            })
        })
    }
}

async fn run(db: &Db, batch: &[Rotation]) -> Result<Vec<Taken>, sqlx::Error> {
    let mut tx: Tx<'static> = db.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for r in batch {
        let taken = refresh_tokens::take(&mut tx, &r.presented_hash, r.now).await?;
        if matches!(&taken, Taken::Fresh { grant_id } if *grant_id == r.grant_id) {
            refresh_tokens::insert(&mut tx, &r.successor_hash, &r.grant_id, r.now, r.expires_at)
                .await?;
        }
        results.push(taken);
    }
    tx.commit().await?;
    Ok(results)
}
