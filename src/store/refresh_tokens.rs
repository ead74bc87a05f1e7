//! `refresh_tokens`: rotated refresh tokens, stored as SHA-256 hashes. Each use consumes the
//! token in one atomic statement; presenting a used token is reuse and revokes the family
//! (the grant).

use crate::clock::UnixTime;
use crate::store::sql::{exec, optional, run};
use crate::store::{Db, Tx};

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum Taken {
    /// Live and now used; the grant it belongs to.
    Fresh { grant_id: String },
    /// Used before: the family must be revoked.
    Reused { grant_id: String },
    /// Unknown or expired.
    Invalid,
}

/// Inserts a refresh token hash.
pub async fn insert(
    tx: &mut Tx<'_>,
    token_hash: &str,
    grant_id: &str,
    now: UnixTime,
    expires_at: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into refresh_tokens (token_hash, grant_id, created_at, expires_at) values ($1, $2, $3, $4)";
    exec(tx, sql, (token_hash, grant_id, now, expires_at)).await
}

/// Consumes a refresh token in one atomic statement.
pub async fn take(tx: &mut Tx<'_>, token_hash: &str, now: UnixTime) -> Result<Taken, sqlx::Error> {
    let sql = "update refresh_tokens set used_at = $1
         where token_hash = $2 and used_at is null and expires_at > $1
         returning grant_id";
    if let Some((grant_id,)) = optional(&mut **tx, sql, (now, token_hash)).await? {
        return Ok(Taken::Fresh { grant_id });
    }
    let sql = "select grant_id, used_at from refresh_tokens where token_hash = $1";
    let used: Option<(String, Option<i64>)> = optional(&mut **tx, sql, (token_hash,)).await?;
    Ok(match used {
        Some((grant_id, Some(_))) => Taken::Reused { grant_id },
        _ => Taken::Invalid,
    })
}

/// Looks a refresh token up without consuming it (introspection, revocation).
pub async fn find(
    db: &Db,
    token_hash: &str,
) -> Result<Option<(String, i64, Option<i64>)>, sqlx::Error> {
    let sql = "select grant_id, expires_at, used_at from refresh_tokens where token_hash = $1";
    optional(db.pool(), sql, (token_hash,)).await
}

/// Removes refresh tokens past their expiry (used ones are kept until then, so reuse is
/// still detected while the token could have been valid).
pub async fn delete_expired(db: &Db, now: UnixTime) -> Result<u64, sqlx::Error> {
    run(
        db,
        "delete from refresh_tokens where expires_at <= $1",
        (now,),
    )
    .await
}

/// Everything a refresh needs, read in one query: the token's state, its grant, whether the
/// person may still log in, and their roles in the grant's active organisation.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub grant: crate::store::grants::GrantRow,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// `users.disabled`, `None` when the person is gone.
    pub user_disabled: Option<i64>,
    /// The membership's roles (JSON) in the grant's organisation, if any.
    pub org_roles: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LookupRow {
    #[sqlx(flatten)]
    grant: crate::store::grants::GrantRow,
    token_expires_at: i64,
    token_used_at: Option<i64>,
    user_disabled: Option<i64>,
    org_roles: Option<String>,
}

/// Looks a refresh token up with its grant, person and organisation roles (no lock taken).
pub async fn lookup(db: &Db, token_hash: &str) -> Result<Option<Lookup>, sqlx::Error> {
    let sql = "select g.id, g.client_id, g.user_id, g.sid, g.scope, g.organisation_id, g.auth_time,
                g.amr, g.acr, g.created_at, g.expires_at, g.revoked_at,
                rt.expires_at as token_expires_at, rt.used_at as token_used_at,
                u.disabled as user_disabled, m.roles as org_roles
         from refresh_tokens rt
         join grants g on g.id = rt.grant_id
         left join users u on u.id = g.user_id
         left join memberships m on m.user_id = g.user_id and m.organisation_id = g.organisation_id
         where rt.token_hash = $1";
    let row: Option<LookupRow> = optional(db.pool(), sql, (token_hash,)).await?;
    Ok(row.map(|r| Lookup {
        grant: r.grant,
        expires_at: r.token_expires_at,
        used_at: r.token_used_at,
        user_disabled: r.user_disabled,
        org_roles: r.org_roles,
    }))
}
