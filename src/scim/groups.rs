//! The `/Groups` resource: the organisation's roles. A group's `id` is the role's name (a new
//! group's role is named after its `displayName`, in lower case with `-` for anything but
//! a-z, 0-9, `_` and `-`); its `displayName` and `externalId` are kept in `scim_groups`; its
//! `members` are the SCIM Users holding the role. Members added outside SCIM are members of
//! the organisation but not SCIM Users, so a group lists only the Users the platform
//! provisioned, and replacing a group's members never touches anyone else.

use serde_json::{Map, Value, json};

use crate::admin::principal::ADMIN_ROLE;
use crate::orgs::valid_role;
use crate::store::scim::{GroupRow, Lookup, UserRow};
use crate::store::{self, from_json_list};

use super::error::{ScimError, ScimErrorKind};
use super::filter::COMMON_CASE_EXACT;
use super::list::{self, Query};
use super::membership::After;
use super::schema::GROUP;
use super::users;
use super::{Scim, check_if_match, field, object, text, with_meta};

/// Attributes compared case-sensitively in filters.
const CASE_EXACT: &[&str] = &["members.value"];

/// What a group is made of, loaded once per request.
struct Loaded {
    roles: Vec<store::orgs::Role>,
    rows: Vec<GroupRow>,
    users: Vec<UserRow>,
}

async fn load_all(s: &Scim<'_>, tx: &mut store::Tx<'_>) -> Result<Loaded, ScimError> {
    Ok(Loaded {
        roles: store::orgs::all_roles_in(tx, &s.org.id).await?,
        rows: store::scim::groups_in(tx, &s.org.id).await?,
        users: store::scim::users_in(tx, &s.org.id, Lookup::All).await?,
    })
}

fn render(s: &Scim<'_>, all: &Loaded, role: &store::orgs::Role) -> Value {
    let row = all.rows.iter().find(|g| g.role == role.name);
    let mut doc = Map::new();
    doc.insert("schemas".into(), json!([GROUP]));
    doc.insert("id".into(), json!(role.name));
    doc.insert(
        "displayName".into(),
        json!(row.map_or(role.name.as_str(), |g| g.display_name.as_str())),
    );
    if let Some(ext) = row.and_then(|g| g.external_id.as_deref()) {
        doc.insert("externalId".into(), json!(ext));
    }
    let members: Vec<Value> = all
        .users
        .iter()
        .filter(|u| from_json_list(&u.roles).iter().any(|r| r == &role.name))
        .map(|u| {
            json!({
                "value": u.id,
                "$ref": format!("{}/Users/{}", s.base, u.id),
                "type": "User",
            })
        })
        .collect();
    if !members.is_empty() {
        doc.insert("members".into(), Value::Array(members));
    }
    let modified = row.map_or(role.created_at, |g| g.updated_at);
    with_meta(
        doc,
        "Group",
        format!("{}/Groups/{}", s.base, role.name),
        role.created_at,
        modified,
    )
}

fn case_exact() -> Vec<&'static str> {
    let mut all = CASE_EXACT.to_vec();
    all.extend_from_slice(COMMON_CASE_EXACT);
    all
}

/// `GET /Groups`.
pub async fn list(s: &Scim<'_>, q: &Query) -> Result<Value, ScimError> {
    q.check_supported()?;
    let filter = q.filter()?;
    let (offset, count) = q.window()?;
    let mut tx = s.state.db.begin().await?;
    let all = load_all(s, &mut tx).await?;
    tx.commit().await?;
    let case_exact = case_exact();
    let matched: Vec<Value> = all
        .roles
        .iter()
        .map(|r| render(s, &all, r))
        .filter(|g| filter.as_ref().is_none_or(|f| f.matches(g, &case_exact)))
        .collect();
    let total = matched.len();
    let resources = matched
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|g| q.project(g))
        .collect();
    Ok(list::response(total, offset, resources))
}

fn not_found(id: &str) -> ScimError {
    ScimError::new(ScimErrorKind::NotFound, format!("no Group {id:?}"))
}

/// `GET /Groups/{id}`.
pub async fn get(s: &Scim<'_>, id: &str) -> Result<Value, ScimError> {
    let mut tx = s.state.db.begin().await?;
    let (all, role) = load_one(s, &mut tx, id).await?;
    tx.commit().await?;
    Ok(render(s, &all, &role))
}

/// Everything, and the role `id` (404 when the organisation has no such role).
async fn load_one(
    s: &Scim<'_>,
    tx: &mut store::Tx<'_>,
    id: &str,
) -> Result<(Loaded, store::orgs::Role), ScimError> {
    let all = load_all(s, tx).await?;
    let role = all
        .roles
        .iter()
        .find(|r| r.name == id)
        .cloned()
        .ok_or_else(|| not_found(id))?;
    Ok((all, role))
}

/// [`load_one`] for a write: also checks `If-Match`; returns the group as it is.
async fn load_for_write(
    s: &Scim<'_>,
    tx: &mut store::Tx<'_>,
    id: &str,
    if_match: Option<&str>,
) -> Result<(Loaded, store::orgs::Role, Value), ScimError> {
    let (all, role) = load_one(s, tx, id).await?;
    let current = render(s, &all, &role);
    check_if_match(if_match, &current)?;
    Ok((all, role, current))
}

/// A checked Group document.
struct Written {
    display_name: String,
    external_id: Option<String>,
    /// SCIM User ids.
    members: Vec<String>,
}

fn written(body: &Value) -> Result<Written, ScimError> {
    let invalid = |m: &str| ScimError::new(ScimErrorKind::InvalidValue, m.to_string());
    let doc = object(body)?;
    let display_name = text(doc, "displayName", 200)?
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| invalid("displayName is required"))?;
    let external_id = text(doc, "externalId", 256)?.filter(|e| !e.is_empty());
    let members = match field(doc, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|m| {
                m.as_object()
                    .and_then(|o| field(o, "value"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| invalid("each member needs a value (a User's id)"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("members must be a list")),
    };
    Ok(Written {
        display_name,
        external_id,
        members,
    })
}

/// The role a new group's `displayName` names: lower case, `-` for anything else.
pub fn role_name(display_name: &str) -> Option<String> {
    let mut name = String::new();
    for c in display_name.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '-'
        };
        if !(c == '-' && name.ends_with('-')) {
            name.push(c);
        }
    }
    let name: String = name.trim_matches('-').chars().take(64).collect();
    let name = name.trim_end_matches('-').to_string();
    valid_role(&name).then_some(name)
}

/// Stores the group row and gives the role to exactly `w.members`.
async fn store_written(
    tx: &mut store::Tx<'_>,
    s: &Scim<'_>,
    role: &str,
    created_at: i64,
    w: &Written,
) -> Result<After, ScimError> {
    let now = s.state.now();
    let rows = store::scim::groups_in(tx, &s.org.id).await?;
    if let Some(ext) = &w.external_id
        && rows
            .iter()
            .any(|g| g.role != role && g.external_id.as_deref() == Some(ext))
    {
        return Err(ScimError::new(
            ScimErrorKind::Uniqueness,
            "another Group has this externalId",
        ));
    }
    store::scim::put_group(
        tx,
        &GroupRow {
            organisation_id: s.org.id.clone(),
            role: role.to_string(),
            display_name: w.display_name.clone(),
            external_id: w.external_id.clone(),
            created_at,
            updated_at: now,
        },
    )
    .await?;
    let users = store::scim::users_in(tx, &s.org.id, Lookup::All).await?;
    if let Some(unknown) = w
        .members
        .iter()
        .find(|m| !users.iter().any(|u| &u.id == *m))
    {
        return Err(ScimError::new(
            ScimErrorKind::InvalidValue,
            format!("no User {unknown:?} in this organisation"),
        ));
    }
    let mut after = After::default();
    for user in &users {
        let hold = w.members.iter().any(|m| m == &user.id);
        if let Some(roles) = users::with_role(user, role, hold) {
            after.merge(users::set_roles_in(tx, s, user, &roles).await?);
        }
    }
    Ok(after)
}

/// `POST /Groups`: a new role (or an existing role the platform now manages).
pub async fn create(s: &Scim<'_>, body: &Value) -> Result<Value, ScimError> {
    let w = written(body)?;
    let role = role_name(&w.display_name).ok_or_else(|| {
        ScimError::new(
            ScimErrorKind::InvalidValue,
            "the displayName must contain a letter or digit",
        )
    })?;
    let now = s.state.now();
    let mut tx = s.state.db.begin().await?;
    let roles = store::orgs::all_roles_in(&mut tx, &s.org.id).await?;
    let existing = roles.iter().find(|r| r.name == role);
    let managed = store::scim::groups_in(&mut tx, &s.org.id).await?;
    if existing.is_some() && managed.iter().any(|g| g.role == role) {
        return Err(ScimError::new(
            ScimErrorKind::Uniqueness,
            format!("the Group {role:?} exists"),
        ));
    }
    let created_at = existing.map_or(now, |r| r.created_at);
    if existing.is_none() {
        store::orgs::put_role(&mut tx, &s.org.id, &role, "", now).await?;
    }
    let after = store_written(&mut tx, s, &role, created_at, &w).await?;
    audit(&mut tx, s, "scim.group_saved", &role, &w).await?;
    tx.commit().await?;
    after.finish(s).await;
    get(s, &role).await
}

/// `PUT /Groups/{id}`.
pub async fn replace(
    s: &Scim<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Value, ScimError> {
    let w = written(body)?;
    let mut tx = s.state.db.begin().await?;
    let (_, role, _) = load_for_write(s, &mut tx, id, if_match).await?;
    let after = store_written(&mut tx, s, id, role.created_at, &w).await?;
    audit(&mut tx, s, "scim.group_saved", id, &w).await?;
    tx.commit().await?;
    after.finish(s).await;
    get(s, id).await
}

/// `PATCH /Groups/{id}`: the operations applied to the writable document, then as a PUT.
pub async fn patch(
    s: &Scim<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Value, ScimError> {
    let mut tx = s.state.db.begin().await?;
    let (_, role, current) = load_for_write(s, &mut tx, id, if_match).await?;
    let mut doc = Map::new();
    for name in ["displayName", "externalId"] {
        if let Some(v) = current.get(name) {
            doc.insert(name.into(), v.clone());
        }
    }
    let members: Vec<Value> = current
        .get("members")
        .and_then(Value::as_array)
        .map(|m| m.iter().map(|m| json!({ "value": m["value"] })).collect())
        .unwrap_or_default();
    doc.insert("members".into(), Value::Array(members));
    let mut case_exact = case_exact();
    case_exact.push("value");
    super::patch::apply(&mut doc, body, &case_exact)?;
    let w = written(&Value::Object(doc))?;
    let after = store_written(&mut tx, s, id, role.created_at, &w).await?;
    audit(&mut tx, s, "scim.group_saved", id, &w).await?;
    tx.commit().await?;
    after.finish(s).await;
    get(s, id).await
}

/// `DELETE /Groups/{id}`: deletes the role (taking it from every member who held it). The
/// built-in `admin` role cannot be deleted.
pub async fn delete(s: &Scim<'_>, id: &str, if_match: Option<&str>) -> Result<(), ScimError> {
    if id == ADMIN_ROLE {
        return Err(ScimError::new(
            ScimErrorKind::Mutability,
            "the admin role is built in and cannot be deleted",
        ));
    }
    let mut tx = s.state.db.begin().await?;
    let (all, _, _) = load_for_write(s, &mut tx, id, if_match).await?;
    store::orgs::delete_role(&mut tx, &s.org.id, id, s.state.now()).await?;
    let mut after = After::default();
    for user in &all.users {
        if let Some(roles) = users::with_role(user, id, false) {
            after.merge(users::set_roles_in(&mut tx, s, user, &roles).await?);
        }
    }
    super::record(
        &mut tx,
        s,
        "admin.role_deleted",
        None,
        json!({ "role": id }),
    )
    .await?;
    tx.commit().await?;
    after.finish(s).await;
    Ok(())
}

async fn audit(
    tx: &mut store::Tx<'_>,
    s: &Scim<'_>,
    kind: &str,
    role: &str,
    w: &Written,
) -> Result<(), ScimError> {
    super::record(
        tx,
        s,
        kind,
        None,
        json!({ "role": role, "display_name": w.display_name, "members": w.members.len() }),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::role_name;

    #[test]
    fn role_names_follow_display_names() {
        assert_eq!(role_name("Board Members").as_deref(), Some("board-members"));
        assert_eq!(
            role_name("  styrelse / Ordförande ").as_deref(),
            Some("styrelse-ordf-rande")
        );
        assert_eq!(role_name("admin").as_deref(), Some("admin"));
        assert_eq!(role_name("---"), None);
        assert_eq!(role_name(&"x".repeat(100)).map(|n| n.len()), Some(64));
    }
}
