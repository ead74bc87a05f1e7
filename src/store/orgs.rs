//! `organisations` and `memberships`: who belongs where, with which roles.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::{Db, from_json_list, to_json_list};

/// An organisation (tenant).
#[derive(Debug, Clone, FromRow)]
pub struct Organisation {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
}

/// One of a person's memberships, with the organisation's names.
#[derive(Debug, Clone)]
pub struct Membership {
    pub organisation_id: String,
    pub slug: String,
    pub name: String,
    pub roles: Vec<String>,
}

/// The unique constraint on slugs.
pub const SLUG_UNIQUE: &str = "organisations_slug_key";

/// Inserts an organisation; fails with [`SLUG_UNIQUE`] when the slug is taken.
pub async fn insert(db: &Db, org: &Organisation) -> Result<(), sqlx::Error> {
    sqlx::query("insert into organisations (id, slug, name, created_at) values ($1, $2, $3, $4)")
        .bind(&org.id)
        .bind(&org.slug)
        .bind(&org.name)
        .bind(org.created_at)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Finds an organisation by id or by slug.
pub async fn find_by_id_or_slug(db: &Db, key: &str) -> Result<Option<Organisation>, sqlx::Error> {
    sqlx::query_as::<_, Organisation>(
        "select id, slug, name, created_at from organisations where id = $1 or slug = $1",
    )
    .bind(key)
    .fetch_optional(db.pool())
    .await
}

/// Adds roles to a membership, creating it when missing. Returns the resulting roles.
pub async fn add_member(
    db: &Db,
    user_id: &str,
    organisation_id: &str,
    roles: &[String],
    now: UnixTime,
) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    let existing: Option<(String,)> =
        sqlx::query_as("select roles from memberships where user_id = $1 and organisation_id = $2")
            .bind(user_id)
            .bind(organisation_id)
            .fetch_optional(&mut *tx)
            .await?;
    let mut merged = existing.map(|(r,)| from_json_list(&r)).unwrap_or_default();
    for role in roles {
        if !merged.contains(role) {
            merged.push(role.clone());
        }
    }
    sqlx::query(
        "insert into memberships (user_id, organisation_id, roles, created_at, updated_at)
         values ($1, $2, $3, $4, $4)
         on conflict (user_id, organisation_id) do update set roles = excluded.roles, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(organisation_id)
    .bind(to_json_list(&merged))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(merged)
}

/// All of a person's memberships.
pub async fn memberships_of(db: &Db, user_id: &str) -> Result<Vec<Membership>, sqlx::Error> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "select o.id, o.slug, o.name, m.roles from memberships m
         join organisations o on o.id = m.organisation_id
         where m.user_id = $1 order by o.slug",
    )
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(organisation_id, slug, name, roles)| Membership {
            organisation_id,
            slug,
            name,
            roles: from_json_list(&roles),
        })
        .collect())
}

/// A person's roles in one organisation, inside a transaction; `None` when they are not a
/// member (any more).
pub async fn roles_in(
    tx: &mut crate::store::Tx<'_>,
    user_id: &str,
    organisation_id: &str,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let row: Option<(String,)> =
        sqlx::query_as("select roles from memberships where user_id = $1 and organisation_id = $2")
            .bind(user_id)
            .bind(organisation_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(r,)| from_json_list(&r)))
}
