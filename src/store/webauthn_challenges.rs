//! `webauthn_challenges`: the server side of WebAuthn ceremonies in progress (registration
//! and login). A challenge is used at most once, only by the browser context it was issued
//! to (`binding`) and only before it expires: [`consume`] is one atomic statement, so two
//! requests (or two nodes) finishing the same challenge cannot both get its state. `state`
//! (the serialised ceremony state) is never logged; the row's `Debug` leaves it out.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{exec, optional, run};
use crate::store::{Conn, Db};

/// The purpose of a registration challenge.
pub const REGISTER: &str = "register";
/// The purpose of a login challenge.
pub const AUTHENTICATE: &str = "authenticate";

/// A challenge as issued.
#[derive(Clone, FromRow)]
pub struct ChallengeRow {
    pub id: String,
    pub purpose: String,
    pub user_id: Option<String>,
    pub binding: String,
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

crate::redact::debug_showing!(ChallengeRow {
    id,
    purpose,
    user_id,
    expires_at
});

const COLUMNS: &str = "id, purpose, user_id, binding, state, created_at, expires_at";

/// Stores a new challenge.
pub async fn insert(db: impl Into<Conn<'_>>, row: &ChallengeRow) -> Result<(), sqlx::Error> {
    let sql = "insert into webauthn_challenges (id, purpose, user_id, binding, state, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)";
    let r = row;
    let binds = (
        &r.id,
        &r.purpose,
        &r.user_id,
        &r.binding,
        &r.state,
        r.created_at,
        r.expires_at,
    );
    exec(db, sql, binds).await
}

/// Uses the challenge `id` of `purpose` issued to `binding`: marks it used and returns it, in
/// one statement, only when it was unused and has not expired. `None`: unknown, another
/// binding or purpose, used, or expired (nothing changes then).
pub async fn consume(
    db: impl Into<Conn<'_>>,
    id: &str,
    purpose: &str,
    binding: &str,
    now: UnixTime,
) -> Result<Option<ChallengeRow>, sqlx::Error> {
    let sql = format!(
        "update webauthn_challenges set used_at = $1
         where id = $2 and purpose = $3 and binding = $4 and used_at is null and expires_at > $1
         returning {COLUMNS}"
    );
    let mut conn = db.into().get().await?;
    optional(&mut *conn, &sql, (now, id, purpose, binding)).await
}

/// Deletes used and expired challenges (cleanup job). Returns how many went.
pub async fn delete_spent(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    let sql = "delete from webauthn_challenges where used_at is not null or expires_at <= $1";
    run(db, sql, (now,)).await
}
