//! `scim_users` and `scim_groups` (issue 18): the provisioning records an organisation's
//! platform keeps through SCIM. The protocol (documents, filters, PATCH) is `crate::scim`;
//! this module only stores and finds rows, always within one organisation.

use sqlx::FromRow;

use crate::store::sql::{all, exec, optional, run};
use crate::store::{Conn, Db, Tx};

/// A SCIM User as stored.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: String,
    pub organisation_id: String,
    /// The person's account, once they are a member.
    pub user_id: Option<String>,
    pub user_name: String,
    /// `user_name` in lower case (userName is not case-exact, RFC 7643 section 4.1.1).
    pub user_name_key: String,
    pub external_id: Option<String>,
    /// Where the invitation goes (lower case).
    pub email: String,
    pub active: i64,
    /// JSON list of role names.
    pub roles: String,
    /// The platform's document (JSON).
    pub resource: String,
    pub invitation_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const USER_COLUMNS: &str = "id, organisation_id, user_id, user_name, user_name_key, external_id, email, active, roles, resource, invitation_id, created_at, updated_at";

/// Stores a new record.
pub async fn insert_user(tx: &mut Tx<'_>, u: &UserRow) -> Result<(), sqlx::Error> {
    let sql = format!(
        "insert into scim_users ({USER_COLUMNS})
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    let binds = (
        u.id.as_str(),
        u.organisation_id.as_str(),
        u.user_id.as_deref(),
        u.user_name.as_str(),
        u.user_name_key.as_str(),
        u.external_id.as_deref(),
        u.email.as_str(),
        u.active,
        u.roles.as_str(),
        u.resource.as_str(),
        u.invitation_id.as_deref(),
        u.created_at,
        u.updated_at,
    );
    exec(&mut *tx, &sql, binds).await
}

/// Rewrites a record (everything but its id, organisation and creation time).
pub async fn update_user(tx: &mut Tx<'_>, u: &UserRow) -> Result<(), sqlx::Error> {
    let sql = "update scim_users set user_id = $1, user_name = $2, user_name_key = $3,
                external_id = $4, email = $5, active = $6, roles = $7, resource = $8,
                invitation_id = $9, updated_at = $10
         where id = $11 and organisation_id = $12";
    let binds = (
        u.user_id.as_deref(),
        u.user_name.as_str(),
        u.user_name_key.as_str(),
        u.external_id.as_deref(),
        u.email.as_str(),
        u.active,
        u.roles.as_str(),
        u.resource.as_str(),
        u.invitation_id.as_deref(),
        u.updated_at,
        u.id.as_str(),
        u.organisation_id.as_str(),
    );
    run(&mut *tx, sql, binds).await.map(|_| ())
}

/// One record of the organisation.
pub async fn user(db: &Db, org: &str, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql =
        format!("select {USER_COLUMNS} from scim_users where organisation_id = $1 and id = $2");
    optional(db.pool(), &sql, (org, id)).await
}

/// [`user`] inside a transaction.
pub async fn user_in(tx: &mut Tx<'_>, org: &str, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql =
        format!("select {USER_COLUMNS} from scim_users where organisation_id = $1 and id = $2");
    optional(&mut **tx, &sql, (org, id)).await
}

/// An indexable lookup of the organisation's records.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// Every record.
    All,
    /// By `userName` (compared in lower case).
    UserName(&'a str),
    /// By `externalId` (case-exact).
    ExternalId(&'a str),
    /// By contact email (compared in lower case).
    Email(&'a str),
    /// By linked account.
    Person(&'a str),
}

/// The organisation's records matching `lookup`, in creation order.
pub async fn users(db: &Db, org: &str, lookup: Lookup<'_>) -> Result<Vec<UserRow>, sqlx::Error> {
    let (clause, value) = lookup_clause(lookup);
    let sql = format!(
        "select {USER_COLUMNS} from scim_users where organisation_id = $1 {clause}
         order by created_at, id"
    );
    all(db.pool(), &sql, (org, value)).await
}

/// [`users`] inside a transaction.
pub async fn users_in(
    tx: &mut Tx<'_>,
    org: &str,
    lookup: Lookup<'_>,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let (clause, value) = lookup_clause(lookup);
    let sql = format!(
        "select {USER_COLUMNS} from scim_users where organisation_id = $1 {clause}
         order by created_at, id"
    );
    all(&mut **tx, &sql, (org, value)).await
}

fn lookup_clause(lookup: Lookup<'_>) -> (&'static str, String) {
    match lookup {
        Lookup::All => ("and $2 = ''", String::new()),
        Lookup::UserName(v) => ("and user_name_key = $2", v.to_lowercase()),
        Lookup::ExternalId(v) => ("and external_id = $2", v.to_string()),
        Lookup::Email(v) => ("and email = $2", v.to_lowercase()),
        Lookup::Person(v) => ("and user_id = $2", v.to_string()),
    }
}

/// A page of the organisation's records in creation order (`offset` from 0).
pub async fn users_page(
    db: &Db,
    org: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<UserRow>, sqlx::Error> {
    let sql = format!(
        "select {USER_COLUMNS} from scim_users where organisation_id = $1
         order by created_at, id limit $2 offset $3"
    );
    all(db.pool(), &sql, (org, limit, offset)).await
}

/// How many records the organisation has.
pub async fn count_users(db: &Db, org: &str) -> Result<i64, sqlx::Error> {
    let sql = "select count(*) from scim_users where organisation_id = $1";
    let row: Option<(i64,)> = optional(db.pool(), sql, (org,)).await?;
    Ok(row.map_or(0, |(n,)| n))
}

/// Deletes a record; false when there was none.
pub async fn delete_user(tx: &mut Tx<'_>, org: &str, id: &str) -> Result<bool, sqlx::Error> {
    let sql = "delete from scim_users where organisation_id = $1 and id = $2";
    Ok(run(&mut *tx, sql, (org, id)).await? > 0)
}

/// Forgets the record of a membership that ended outside SCIM (an admin removed the member,
/// or the person left): the platform learns it from a 404 and from the `member.removed`
/// webhook, and provisions again if it wants the person back.
pub async fn forget_member(
    db: impl Into<Conn<'_>>,
    org: &str,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    let sql = "delete from scim_users where organisation_id = $1 and user_id = $2";
    run(db, sql, (org, user_id)).await.map(|_| ())
}

/// A SCIM Group's extra data as stored.
#[derive(Debug, Clone, FromRow)]
pub struct GroupRow {
    pub organisation_id: String,
    pub role: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const GROUP_COLUMNS: &str =
    "organisation_id, role, display_name, external_id, created_at, updated_at";

/// The organisation's group rows.
pub async fn groups(db: &Db, org: &str) -> Result<Vec<GroupRow>, sqlx::Error> {
    let sql = format!("select {GROUP_COLUMNS} from scim_groups where organisation_id = $1");
    all(db.pool(), &sql, (org,)).await
}

/// [`groups`] inside a transaction.
pub async fn groups_in(tx: &mut Tx<'_>, org: &str) -> Result<Vec<GroupRow>, sqlx::Error> {
    let sql = format!("select {GROUP_COLUMNS} from scim_groups where organisation_id = $1");
    all(&mut **tx, &sql, (org,)).await
}

/// Stores a group row, replacing the role's previous one.
pub async fn put_group(tx: &mut Tx<'_>, g: &GroupRow) -> Result<(), sqlx::Error> {
    let sql = "insert into scim_groups (organisation_id, role, display_name, external_id, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (organisation_id, role) do update set display_name = excluded.display_name,
             external_id = excluded.external_id, updated_at = excluded.updated_at";
    let binds = (
        g.organisation_id.as_str(),
        g.role.as_str(),
        g.display_name.as_str(),
        g.external_id.as_deref(),
        g.created_at,
        g.updated_at,
    );
    exec(&mut *tx, sql, binds).await
}
