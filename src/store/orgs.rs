//! `organisations` and `memberships`: who belongs where, with which roles.

use sqlx::FromRow;

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional, run};
use crate::store::{Conn, Db, Tx, from_json_list, to_json_list};

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
    let sql = "insert into organisations (id, slug, name, default_locale, created_at, updated_at) values ($1, $2, $3, $4, $5, $5)";
    let binds = (
        &org.id,
        &org.slug,
        &org.name,
        &org.default_locale,
        org.created_at,
    );
    exec(db, sql, binds).await
}

/// Finds an organisation by id or by slug.
pub async fn find_by_id_or_slug(db: &Db, key: &str) -> Result<Option<Organisation>, sqlx::Error> {
    let sql = format!("select {ORG_COLUMNS} from organisations where id = $1 or slug = $1");
    optional(db.pool(), &sql, (key,)).await
}

/// [`find_by_id_or_slug`] inside a transaction.
pub async fn find_by_id_or_slug_in(
    tx: &mut Tx<'_>,
    key: &str,
) -> Result<Option<Organisation>, sqlx::Error> {
    let sql = format!("select {ORG_COLUMNS} from organisations where id = $1 or slug = $1");
    optional(&mut **tx, &sql, (key,)).await
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
    tx: &mut Tx<'_>,
    user_id: &str,
    organisation_id: &str,
    roles: &[String],
    invited_by: Option<&str>,
    now: UnixTime,
) -> Result<Vec<String>, sqlx::Error> {
    let mut merged = roles_in(tx, user_id, organisation_id)
        .await?
        .unwrap_or_default();
    for role in roles {
        if !merged.contains(role) {
            merged.push(role.clone());
        }
    }
    let sql = "insert into memberships (user_id, organisation_id, roles, created_at, updated_at, invited_by)
         values ($1, $2, $3, $4, $4, $5)
         on conflict (user_id, organisation_id) do update set roles = excluded.roles, updated_at = excluded.updated_at";
    let binds = (
        user_id,
        organisation_id,
        to_json_list(&merged),
        now,
        invited_by,
    );
    run(tx, sql, binds).await?;
    Ok(merged)
}

/// All of a person's memberships.
pub async fn memberships_of(db: &Db, user_id: &str) -> Result<Vec<Membership>, sqlx::Error> {
    let sql = "select o.id, o.slug, o.name, m.roles from memberships m
         join organisations o on o.id = m.organisation_id
         where m.user_id = $1 order by o.slug";
    let rows: Vec<(String, String, String, String)> = all(db.pool(), sql, (user_id,)).await?;
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
    tx: &mut Tx<'_>,
    user_id: &str,
    organisation_id: &str,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let sql = "select roles from memberships where user_id = $1 and organisation_id = $2";
    let row: Option<(String,)> = optional(&mut **tx, sql, (user_id, organisation_id)).await?;
    Ok(row.map(|(r,)| from_json_list(&r)))
}

/// Organisations in slug order, after `after_slug`; only `ids` when given.
pub async fn list(
    db: &Db,
    ids: Option<&[String]>,
    after_slug: Option<&str>,
    limit: i64,
) -> Result<Vec<Organisation>, sqlx::Error> {
    let sql =
        format!("select {ORG_COLUMNS} from organisations where slug > $1 order by slug limit $2");
    let read = if ids.is_some() { MAX_SCAN } else { limit + 1 };
    let mut orgs: Vec<Organisation> =
        all(db.pool(), &sql, (after_slug.unwrap_or(""), read)).await?;
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
    let sql = "update organisations set slug = $1, name = $2, default_locale = $3, updated_at = $4 where id = $5";
    let binds = (&org.slug, &org.name, &org.default_locale, now, &org.id);
    exec(db, sql, binds).await
}

/// Deletes an organisation (memberships, roles, its clients and invitations go with it).
pub async fn delete(db: impl Into<Conn<'_>>, id: &str) -> Result<bool, sqlx::Error> {
    Ok(run(db, "delete from organisations where id = $1", (id,)).await? > 0)
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
    let sql = "select name, description, created_at from organisation_roles where organisation_id = $1 order by name";
    all(db.pool(), sql, (organisation_id,)).await
}

/// [`roles`] inside a transaction.
pub async fn all_roles_in(
    tx: &mut Tx<'_>,
    organisation_id: &str,
) -> Result<Vec<Role>, sqlx::Error> {
    let sql = "select name, description, created_at from organisation_roles where organisation_id = $1 order by name";
    all(&mut **tx, sql, (organisation_id,)).await
}

/// Adds a role or changes its description.
pub async fn put_role(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    name: &str,
    description: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "insert into organisation_roles (organisation_id, name, description, created_at) values ($1, $2, $3, $4)
         on conflict (organisation_id, name) do update set description = excluded.description";
    exec(db, sql, (organisation_id, name, description, now)).await
}

/// Adds roles that are missing from the list (with empty descriptions).
pub async fn ensure_roles(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    names: &[String],
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let mut conn = db.into().get().await?;
    let sql = "insert into organisation_roles (organisation_id, name, description, created_at) values ($1, $2, '', $3)
             on conflict (organisation_id, name) do nothing";
    for name in names {
        run(Conn::Tx(&mut conn), sql, (organisation_id, name, now)).await?;
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
    let sql = "delete from organisation_roles where organisation_id = $1 and name = $2";
    let deleted = run(&mut tx, sql, (organisation_id, name)).await? > 0;
    let sql = "select user_id, roles from memberships where organisation_id = $1";
    let holders: Vec<(String, String)> = all(&mut *tx, sql, (organisation_id,)).await?;
    for (user_id, roles) in holders {
        let roles = from_json_list(&roles);
        if roles.iter().any(|r| r == name) {
            let kept: Vec<String> = roles.into_iter().filter(|r| r != name).collect();
            let sql = "update memberships set roles = $1, updated_at = $2 where user_id = $3 and organisation_id = $4";
            run(
                &mut tx,
                sql,
                (to_json_list(&kept), now, &user_id, organisation_id),
            )
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
    let sql = format!(
        "{MEMBER_SELECT}
         where m.organisation_id = $1
           and ($2 = '' or lower(coalesce(u.name, '')) like $2 escape '\\' or u.email_normalized like $2 escape '\\')
           and (u.email_normalized > $3 or (u.email_normalized = $3 and u.id > $4))
         order by u.email_normalized, u.id
         limit $5"
    );
    let binds = (
        organisation_id,
        search.unwrap_or(""),
        after_email,
        after_id,
        limit + 1,
    );
    all(db.pool(), &sql, binds).await
}

/// One member of an organisation; `None` when the person is not a member there.
pub async fn member(
    db: &Db,
    organisation_id: &str,
    user_id: &str,
) -> Result<Option<MemberRow>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} where m.organisation_id = $1 and m.user_id = $2");
    optional(db.pool(), &sql, (organisation_id, user_id)).await
}

/// [`member`] inside a transaction.
pub async fn member_in(
    tx: &mut Tx<'_>,
    organisation_id: &str,
    user_id: &str,
) -> Result<Option<MemberRow>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} where m.organisation_id = $1 and m.user_id = $2");
    optional(&mut **tx, &sql, (organisation_id, user_id)).await
}

/// The ids of the organisations a person belongs to, inside a transaction.
pub async fn memberships_in(tx: &mut Tx<'_>, user_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let sql = "select organisation_id from memberships where user_id = $1 order by organisation_id";
    let rows: Vec<(String,)> = all(&mut **tx, sql, (user_id,)).await?;
    Ok(rows.into_iter().map(|(o,)| o).collect())
}

/// Replaces a member's roles; false when they are not a member.
pub async fn set_roles(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    user_id: &str,
    roles: &[String],
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    let sql = "update memberships set roles = $1, updated_at = $2 where organisation_id = $3 and user_id = $4";
    let binds = (to_json_list(roles), now, organisation_id, user_id);
    Ok(run(db, sql, binds).await? > 0)
}

/// Removes a membership; false when there was none.
pub async fn remove_member(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    let sql = "delete from memberships where organisation_id = $1 and user_id = $2";
    Ok(run(db, sql, (organisation_id, user_id)).await? > 0)
}

/// How many members hold `admin`.
pub async fn count_admins(db: &Db, organisation_id: &str) -> Result<i64, sqlx::Error> {
    let sql = "select roles from memberships where organisation_id = $1";
    let rows: Vec<(String,)> = all(db.pool(), sql, (organisation_id,)).await?;
    Ok(rows
        .iter()
        .filter(|(r,)| from_json_list(r).iter().any(|x| x == "admin"))
        .count() as i64)
}
