//! The second-factor settings: `users.second_factor` (the person requires a second factor of
//! themselves) and `organisations.require_two_factors` (the organisation requires it of its
//! members).

use crate::clock::UnixTime;
use crate::store::sql::{all, exec, optional, run};
use crate::store::{Conn, Db, from_json_list};

/// Whether the flag `sql` reads for `id` is set (a missing row: not set).
async fn flag_set(db: &Db, sql: &str, id: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = optional(db.pool(), sql, (id,)).await?;
    Ok(row.is_some_and(|(v,)| v != 0))
}

/// Whether the person requires a second factor of themselves.
pub async fn user_requires(db: &Db, user_id: &str) -> Result<bool, sqlx::Error> {
    flag_set(db, "select second_factor from users where id = $1", user_id).await
}

/// Sets the person's own requirement.
pub async fn set_user_requires(
    db: impl Into<Conn<'_>>,
    user_id: &str,
    on: bool,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let sql = "update users set second_factor = $1, updated_at = $2 where id = $3";
    exec(db, sql, (i64::from(on), now, user_id)).await
}

/// Whether the organisation requires two factors of its members.
pub async fn org_requires(db: &Db, organisation_id: &str) -> Result<bool, sqlx::Error> {
    let sql = "select require_two_factors from organisations where id = $1";
    flag_set(db, sql, organisation_id).await
}

/// Sets the organisation's requirement; false when there is no such organisation.
pub async fn set_org_requires(
    db: impl Into<Conn<'_>>,
    organisation_id: &str,
    on: bool,
    now: UnixTime,
) -> Result<bool, sqlx::Error> {
    let sql = "update organisations set require_two_factors = $1, updated_at = $2 where id = $3";
    Ok(run(db, sql, (i64::from(on), now, organisation_id)).await? == 1)
}

/// A person's memberships as the policy needs them: organisation id and name, the
/// organisation's requirement, and the person's roles there.
#[derive(Debug, Clone)]
pub struct PolicyMembership {
    pub organisation_id: String,
    pub name: String,
    pub requires_two_factors: bool,
    pub roles: Vec<String>,
}

/// Every membership of a person with its organisation's requirement, by name.
pub async fn memberships(db: &Db, user_id: &str) -> Result<Vec<PolicyMembership>, sqlx::Error> {
    let sql = "select o.id, o.name, o.require_two_factors, m.roles from memberships m
         join organisations o on o.id = m.organisation_id
         where m.user_id = $1 order by o.name, o.id";
    let rows: Vec<(String, String, i64, String)> = all(db.pool(), sql, (user_id,)).await?;
    Ok(rows
        .into_iter()
        .map(|(organisation_id, name, req, roles)| PolicyMembership {
            organisation_id,
            name,
            requires_two_factors: req != 0,
            roles: from_json_list(&roles),
        })
        .collect())
}
