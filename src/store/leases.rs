//! `job_leases`: scheduled jobs (cleanup, later key rotation and backups) run once across all
//! nodes on one database. A node runs a job only when [`acquire`] gives it the job's lease:
//! one conditional update, so two nodes asking at the same moment cannot both get it.

use crate::clock::UnixTime;
use crate::store::Db;
use crate::store::sql::run;

/// Takes the lease of job `name` for `holder` until `now + ttl` if nobody holds it now;
/// returns whether it was taken (and the job should run).
pub async fn acquire(
    db: &Db,
    name: &str,
    holder: &str,
    now: UnixTime,
    ttl: i64,
) -> Result<bool, sqlx::Error> {
    let sql = "insert into job_leases (name, holder, leased_until) values ($1, $2, 0)
         on conflict (name) do nothing";
    run(db, sql, (name, holder)).await?;
    let sql = "update job_leases set holder = $1, leased_until = $2, last_run_at = $3
         where name = $4 and leased_until <= $3";
    let taken = run(db, sql, (holder, now + ttl, now, name)).await?;
    Ok(taken == 1)
}
