//! `organisations` and `memberships`: who belongs where, with which roles.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::{Conn, Db, from_json_list, to_json_list};

/// An organisation (tenant).
#[derive(Debug, Clone, FromRow)]
pub struct Organisation {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// The language of messages to people who have not chosen one (`sv` or `en`).
    pub default_locale: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const ORG_COLUMNS: &str = "id, slug, name, default_locale, created_at, updated_at";

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
pub async fn insert(db: impl Into<Conn<'_>>, org: &Organisation) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into organisations (id, slug, name, default_locale, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&org.id)
    .bind(&org.slug)
    .bind(&org.name)
    .bind(&org.default_locale)
    .bind(org.created_at)
    .execute(&mut *db.into().get().await?)
    .await?;
    Ok(())
}

/// Finds an organisation by id or by slug.
pub async fn find_by_id_or_slug(db: &Db, key: &str) -> Result<Option<Organisation>, sqlx::Error> {
    sqlx::query_as::<_, Organisation>(&format!(
        "select {ORG_COLUMNS} from organisations where id = $1 or slug = $1"
    ))
    .bind(key)
    .fetch_optional(db.pool())
    .await
}

/// [`find_by_id_or_slug`] inside a transaction.
pub async fn find_by_id_or_slug_in(
    tx: &mut crate::store::Tx<'_>,
    key: &str,
) -> Result<Option<Organisation>, sqlx::Error> {
    sqlx::query_as::<_, Organisation>(&format!(
        "select {ORG_COLUMNS} from organisations where id = $1 or slug = $1"
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
}

/// Adds roles to a membership, creating it when missing. Returns the resulting roles.
pub async fn add_member(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    organisation_id: &str,
    roles: &[String],
    now: UnixTime,
) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = db.into().begin().await?;
    let merged = add_member_in(&mut tx, user_id, organisation_id, roles, None, now).await?;
    tx.commit().await?;
    Ok(merged)
}

/// [`add_member`] inside a transaction, recording who invited the member (kept when the
/// membership existed).
pub async fn add_member_in(
    tx: &mut crate::store::Tx<'_>,
    user_id: &str,
    organisation_id: &str,
    roles: &[String],
    invited_by: Option<&str>,
    now: UnixTime,
) -> Result<Vec<String>, sqlx::Error> {
    let existing: Option<(String,)> =
        sqlx::query_as("select roles from memberships where user_id = $1 and organisation_id = $2")
            .bind(user_id)
            .bind(organisation_id)
            .fetch_optional(&mut **tx)
            .await?;
    let mut merged = existing.map(|(r,)| from_json_list(&r)).unwrap_or_default();
    for role in roles {
        if !merged.contains(role) {
            merged.push(role.clone());
        }
    }
    sqlx::query(
        "insert into memberships (user_id, organisation_id, roles, created_at, updated_at, invited_by)
         values ($1, $2, $3, $4, $4, $5)
         on conflict (user_id, organisation_id) do update set roles = excluded.roles, updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(organisation_id)
    .bind(to_json_list(&merged))
    .bind(now)
    .bind(invited_by)
    .execute(&mut **tx)
    .await?;
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

/// Organisations in slug order, after `after_slug`; only `ids` when given.
pub async fn list(
    db: &Db,
    ids: Option<&[String]>,
    after_slug: Option<&str>,
    limit: i64,
) -> Result<Vec<Organisation>, sqlx::Error> {
    let mut orgs = sqlx::query_as::<_, Organisation>(&format!(
        "select {ORG_COLUMNS} from organisations where slug > $1 order by slug limit $2"
    ))
    .bind(after_slug.unwrap_or(""))
    .bind(if ids.is_some() { MAX_SCAN } else { limit + 1 })
    .fetch_all(db.pool())
    .await?;
    if let Some(ids) = ids {
        orgs.retain(|o| ids.contains(&o.id));
        orgs.truncate(limit as usize + 1);
    }
    Ok(orgs)
}

/// The most rows read when filtering in memory (a person administers few organisations).
const MAX_SCAN: i64 = 10_000;

/// Changes an organisation's name, slug and default language.
pub async fn update(
    db: impl Into<Conn<'_>>,
    org: &Organisation,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update organisations set slug = $1, name = $2, default_locale = $3, updated_at = $4 where id = $5",
    )
    .bind(&org.slug)
    .bind(&org.name)
    .bind(&org.default_locale)
    .bind(now)
    .bind(&org.id)
    .execute(&mut *db.into().get().await?)
    .await?;
    Ok(())
}

/// Deletes an organisation (memberships, roles, its clients and invitations go with it).
pub async fn delete(db: impl Into<Conn<'_>>, id: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query("delete from organisations where id = $1")
        .bind(id)
        .execute(&mut *db.into().get().await?)
        .await?
        .rows_affected()
        > 0)
}

/// A role of an organisation's own list.
#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Role {
    pub name: String,
    pub description: String,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub created_at: i64,
}

/// The organisation's roles, by name.
pub async fn roles(db: &Db, organisation_id: &str) -> Result<Vec<Role>, sqlx::Error> {
    sqlx::query_as::<_, Role>(
        "select name, description, created_at from organisation_roles where organisation_id = $1 order by name",
    )
    .bind(organisation_id)
    .fetch_all(db.pool())
    .await
}

/// Adds a role or changes its description.
pub async fn put_role(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    name: &str,
    description: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into organisation_roles (organisation_id, name, description, created_at) values ($1, $2, $3, $4)
         on conflict (organisation_id, name) do update set description = excluded.description",
    )
    .bind(organisation_id)
    .bind(name)
    .bind(description)
    .bind(now)
    .execute(&mut *db.into().get().await?)
    .await?;
    Ok(())
}

/// Adds roles that are missing from the list (with empty descriptions).
pub async fn ensure_roles(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    names: &[String],
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let mut conn = db.into().get().await?;
    for name in names {
        sqlx::query(
            "insert into organisation_roles (organisation_id, name, description, created_at) values ($1, $2, '', $3)
             on conflict (organisation_id, name) do nothing",
        )
        .bind(organisation_id)
        .bind(name)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes a role from the list and from every membership that held it, in one transaction.
pub async fn delete_role(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    name: &str,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.into().begin().await?;
    let deleted =
        sqlx::query("delete from organisation_roles where organisation_id = $1 and name = $2")
            .bind(organisation_id)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
    let holders: Vec<(String, String)> =
        sqlx::query_as("select user_id, roles from memberships where organisation_id = $1")
            .bind(organisation_id)
            .fetch_all(&mut *tx)
            .await?;
    for (user_id, roles) in holders {
        let roles = from_json_list(&roles);
        if roles.iter().any(|r| r == name) {
            let kept: Vec<String> = roles.into_iter().filter(|r| r != name).collect();
            sqlx::query(
                "update memberships set roles = $1, updated_at = $2 where user_id = $3 and organisation_id = $4",
            )
            .bind(to_json_list(&kept))
            .bind(now)
            .bind(&user_id)
            .bind(organisation_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(deleted)
}

/// A member as an organisation sees them: only what the organisation needs.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    pub user_id: String,
    pub name: Option<String>,
    pub email: String,
    pub email_normalized: String,
    pub phone: Option<String>,
    pub roles: String,
    pub since: i64,
    pub invited_by: Option<String>,
}

const MEMBER_SELECT: &str = "select u.id as user_id, u.name, u.email, u.email_normalized, u.phone,
        m.roles, m.created_at as since, m.invited_by
    from memberships m join users u on u.id = m.user_id";

/// Members of an organisation by email, after the cursor `(email_normalized, user_id)`,
/// optionally only those whose name or email contains `search` (a like pattern).
pub async fn members(
    db: &Db,
    organisation_id: &str,
    search: Option<&str>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let (after_email, after_id) = after.unwrap_or(("", ""));
    sqlx::query_as::<_, MemberRow>(&format!(
        "{MEMBER_SELECT}
         where m.organisation_id = $1
           and ($2 = '' or lower(coalesce(u.name, '')) like $2 escape '\\' or u.email_normalized like $2 escape '\\')
           and (u.email_normalized > $3 or (u.email_normalized = $3 and u.id > $4))
         order by u.email_normalized, u.id
         limit $5"
    ))
    .bind(organisation_id)
    .bind(search.unwrap_or(""))
    .bind(after_email)
    .bind(after_id)
    .bind(limit + 1)
    .fetch_all(db.pool())
    .await
}

/// One member of an organisation; `None` when the person is not a member there.
pub async fn member(
    db: &Db,
    organisation_id: &str,
    user_id: &str,
) -> Result<Option<MemberRow>, sqlx::Error> {
    sqlx::query_as::<_, MemberRow>(&format!(
        "{MEMBER_SELECT} where m.organisation_id = $1 and m.user_id = $2"
    ))
    .bind(organisation_id)
    .bind(user_id)
    .fetch_optional(db.pool())
    .await
}

/// Replaces a member's roles; false when they are not a member.
pub async fn set_roles(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    user_id: &str,
    roles: &[String],
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update memberships set roles = $1, updated_at = $2 where organisation_id = $3 and user_id = $4",
    )
    .bind(to_json_list(roles))
    .bind(now)
    .bind(organisation_id)
    .bind(user_id)
    .execute(&mut *db.into().get().await?)
    .await?
    .rows_affected()
        > 0)
}

/// Removes a membership; false when there was none.
pub async fn remove_member(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("delete from memberships where organisation_id = $1 and user_id = $2")
            .bind(organisation_id)
            .bind(user_id)
            .execute(&mut *db.into().get().await?)
            .await?
            .rows_affected()
            > 0,
    )
}

/// How many members hold `admin`.
pub async fn count_admins(db: &Db, organisation_id: &str) -> Result<i64, sqlx::Error> {
    let rows: Vec<(String,)> =
        sqlx::query_as("select roles from memberships where organisation_id = $1")
            .bind(organisation_id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .iter()
        .filter(|(r,)| from_json_list(r).iter().any(|x| x == "admin"))
        .count() as i64)
}
