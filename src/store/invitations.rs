//! `invitations`: an organisation's invitation of a person by email, with roles. The link key
//! is stored as a SHA-256 hash; accepting is one atomic statement, so a link works once.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{optional, run};
use crate::store::{Conn, Db, Tx};

/// An invitation row (the key itself is never stored).
#[derive(Debug, Clone, FromRow)]
pub struct Invitation {
    pub id: String,
    pub organisation_id: String,
    pub email: String,
    pub roles: String,
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_by: Option<String>,
    pub revoked_at: Option<i64>,
}

impl Invitation {
    /// Whether the link can still be accepted: not accepted, not revoked, not expired.
    pub fn is_open(&self, now: UnixTime) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

const COLUMNS: &str = "id, organisation_id, email, roles, invited_by, created_at, expires_at, accepted_at, accepted_by, revoked_at";

/// A new invitation.
pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub key_hash: &'a str,
    pub organisation_id: &'a str,
    pub email: &'a str,
    pub roles: &'a [String],
    pub invited_by: Option<&'a str>,
    pub expires_at: i64,
}

/// Inserts an invitation. Earlier open invitations of the same email to the same
/// organisation are revoked: only the newest link works.
pub async fn insert(
    db: impl Into<Conn<'_>>,
    inv: &NewInvitation<'_>,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let normalized = crate::store::users::normalize_email(inv.email);
    let mut tx = db.into().begin().await?;
    let sql = "update invitations set revoked_at = $1
         where organisation_id = $2 and email_normalized = $3 and accepted_at is null and revoked_at is null";
    run(&mut tx, sql, (now, inv.organisation_id, &normalized)).await?;
    let sql = "insert into invitations (id, key_hash, organisation_id, email, email_normalized, roles, invited_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let (email, roles) = (inv.email.trim(), crate::store::to_json_list(inv.roles));
    let binds = (
        inv.id,
        inv.key_hash,
        inv.organisation_id,
        email,
        &normalized,
        roles,
        inv.invited_by,
        now,
        inv.expires_at,
    );
    run(&mut tx, sql, binds).await?;
    tx.commit().await
}

/// An organisation's invitations, newest first, after the cursor `(created_at, id)`.
pub async fn list(
    db: &Db,
    organisation_id: &str,
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let (before_at, before_id) = before.unwrap_or((i64::MAX, ""));
    let sql = format!(
        "select {COLUMNS} from invitations
         where organisation_id = $1 and (created_at < $2 or (created_at = $2 and id < $3))
         order by created_at desc, id desc limit $4"
    );
    let binds = (organisation_id, before_at, before_id, limit + 1);
    crate::store::sql::all(db.pool(), &sql, binds).await
}

/// Finds an invitation by id, inside a transaction.
pub async fn find_in(tx: &mut Tx<'_>, id: &str) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from invitations where id = $1");
    optional(&mut **tx, &sql, (id,)).await
}

/// Finds an invitation by id.
pub async fn find(db: &Db, id: &str) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from invitations where id = $1");
    optional(db.pool(), &sql, (id,)).await
}

/// Finds an open (not accepted, not revoked, not expired) invitation by its key hash.
pub async fn find_open(
    db: &Db,
    key_hash: &str,
    now: UnixTime,
) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from invitations
         where key_hash = $1 and accepted_at is null and revoked_at is null and expires_at > $2"
    );
    optional(db.pool(), &sql, (key_hash, now)).await
}

/// Marks an open invitation accepted by `user_id`, atomically: `None` when it was not open
/// (used, revoked or expired), so a link works once even when clicked twice at once.
pub async fn accept(
    tx: &mut Tx<'_>,
    key_hash: &str,
    user_id: &str,
    now: UnixTime,
) -> Result<Option<Invitation>, sqlx::Error> {
    let sql = format!(
        "update invitations set accepted_at = $1, accepted_by = $2
         where key_hash = $3 and accepted_at is null and revoked_at is null and expires_at > $1
         returning {COLUMNS}"
    );
    optional(&mut **tx, &sql, (now, user_id, key_hash)).await
}

/// Revokes an open invitation of an organisation; false when there was none open.
pub async fn revoke(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    id: &str,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    let sql = "update invitations set revoked_at = $1
         where id = $2 and organisation_id = $3 and accepted_at is null and revoked_at is null";
    Ok(run(db, sql, (now, id, organisation_id)).await? > 0)
}

/// Removes invitations that ended (expired, accepted or revoked) before `cutoff`.
pub async fn delete_ended(db: &Db, cutoff: UnixTime) -> Result<u64, sqlx::Error> {
    let sql =
        "delete from invitations where expires_at < $1 or accepted_at < $1 or revoked_at < $1";
    run(db, sql, (cutoff,)).await
}
