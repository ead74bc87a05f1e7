//! The `/Users` resource: an organisation's provisioning records of its members
//! (`store::scim::UserRow`). A record keeps the platform's document as written (what it reads
//! back is what it wrote), except what Nyckel owns: `id`, `meta`, `groups` (the roles as
//! groups), and `password`, which is never accepted over SCIM (a person's password is
//! theirs) and is dropped. What the record does to the membership is `membership.rs`.

use serde_json::{Map, Value, json};

use crate::admin::users::valid_email;
use crate::crypto::random_id;
use crate::store::scim::{Lookup, UserRow};
use crate::store::{self, from_json_list, to_json_list};

use super::error::{ScimError, ScimErrorKind};
use super::filter::{COMMON_CASE_EXACT, simple_equality};
use super::list::{self, Query};
use super::membership::{self, After};
use super::schema::{ENTERPRISE_USER, USER};
use super::{Scim, boolean, check_if_match, field, object, take, text, with_meta};

/// Attributes compared case-sensitively in filters.
pub const CASE_EXACT: &[&str] = &[
    "id",
    "externalId",
    "meta.resourceType",
    "meta.version",
    "roles.value",
    "groups.value",
];

/// The largest document a record keeps, bytes.
const MAX_DOCUMENT: usize = 64 * 1024;

/// Renders a record as the platform reads it.
pub fn render(s: &Scim<'_>, row: &UserRow, group_names: &[(String, String)]) -> Value {
    let mut doc: Map<String, Value> = serde_json::from_str(&row.resource).unwrap_or_default();
    let mut schemas = vec![json!(USER)];
    if let Some(k) = doc
        .keys()
        .find(|k| k.eq_ignore_ascii_case(ENTERPRISE_USER))
        .cloned()
    {
        let ext = doc.remove(&k).unwrap_or(Value::Null);
        doc.insert(ENTERPRISE_USER.into(), ext);
        schemas.push(json!(ENTERPRISE_USER));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    doc.insert("id".into(), json!(row.id));
    let roles = from_json_list(&row.roles);
    if !roles.is_empty() {
        doc.insert(
            "roles".into(),
            roles.iter().map(|r| json!({ "value": r })).collect(),
        );
        let groups: Vec<Value> = roles
            .iter()
            .map(|r| {
                let display = group_names
                    .iter()
                    .find(|(role, _)| role == r)
                    .map_or(r.as_str(), |(_, d)| d.as_str());
                json!({ "value": r, "display": display, "$ref": format!("{}/Groups/{r}", s.base) })
            })
            .collect();
        doc.insert("groups".into(), Value::Array(groups));
    }
    with_meta(
        doc,
        "User",
        format!("{}/Users/{}", s.base, row.id),
        row.created_at,
        row.updated_at,
    )
}

/// `(role, display name)` of the organisation's groups with a display name of their own.
pub async fn group_names(s: &Scim<'_>) -> Result<Vec<(String, String)>, ScimError> {
    Ok(store::scim::groups(&s.state.db, &s.org.id)
        .await?
        .into_iter()
        .map(|g| (g.role, g.display_name))
        .collect())
}

/// A checked document, with what the store indexes and acts on.
struct Written {
    doc: Map<String, Value>,
    user_name: String,
    external_id: Option<String>,
    email: String,
    active: bool,
    roles: Vec<String>,
}

/// Checks a User document (a POST or PUT body, or the result of a PATCH).
async fn written(s: &Scim<'_>, body: &Value) -> Result<Written, ScimError> {
    let invalid = |m: String| ScimError::new(ScimErrorKind::InvalidValue, m);
    let mut doc = object(body)?.clone();
    for owned in ["id", "meta", "groups", "schemas", "password"] {
        take(&mut doc, owned);
    }
    let user_name = text(&doc, "userName", 256)?
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| invalid("userName is required".into()))?;
    let external_id = text(&doc, "externalId", 256)?.filter(|e| !e.is_empty());
    // Absent means active; the platform's own value is kept as written (normalised).
    let given = boolean(&doc, "active")?;
    take(&mut doc, "active");
    if let Some(a) = given {
        doc.insert("active".into(), json!(a));
    }
    let active = given.unwrap_or(true);
    let roles = match take(&mut doc, "roles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut names = Vec::new();
            for item in items {
                let name = match &item {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => field(o, "value")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    _ => None,
                };
                names.push(name.ok_or_else(|| invalid("each role needs a value".into()))?);
            }
            crate::admin::members::check_roles(s.state, &s.org.id, &names).await?
        }
        Some(_) => return Err(invalid("roles must be a list".into())),
    };
    let email = contact_email(&doc, &user_name)?;
    // Canonical names for the attributes Nyckel reads, as the platform's case may differ.
    for canonical in [
        "userName",
        "externalId",
        "name",
        "displayName",
        "emails",
        "phoneNumbers",
    ] {
        if let Some(v) = take(&mut doc, canonical) {
            doc.insert(canonical.into(), v);
        }
    }
    doc.insert("userName".into(), json!(user_name));
    if Value::Object(doc.clone()).to_string().len() > MAX_DOCUMENT {
        return Err(ScimError::new(
            ScimErrorKind::PayloadTooLarge,
            format!("a User document is at most {MAX_DOCUMENT} bytes"),
        ));
    }
    Ok(Written {
        doc,
        user_name,
        external_id,
        email,
        active,
        roles,
    })
}

/// Where the invitation goes: the primary email, else the first, else `userName` when it
/// is an email address; empty when there is none (the record waits for one).
fn contact_email(doc: &Map<String, Value>, user_name: &str) -> Result<String, ScimError> {
    let invalid = |m: String| ScimError::new(ScimErrorKind::InvalidValue, m);
    let emails = match field(doc, "emails") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(invalid("emails must be a list".into())),
    };
    let value = |e: &Value| {
        e.get("value")
            .and_then(Value::as_str)
            .map(str::trim)
            .map(str::to_string)
    };
    let chosen = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(value);
    let email = match chosen {
        Some(e) => e,
        None if valid_email(user_name) => user_name.to_string(),
        // No address yet: the record waits, uninvited, until one is given.
        None => return Ok(String::new()),
    };
    if !valid_email(&email) {
        return Err(invalid(format!("{email:?} is not an email address")));
    }
    Ok(email.to_lowercase())
}

/// Refuses a userName or externalId another record of the organisation has.
async fn check_unique(
    tx: &mut store::Tx<'_>,
    s: &Scim<'_>,
    id: &str,
    w: &Written,
) -> Result<(), ScimError> {
    let taken = |m: &str| ScimError::new(ScimErrorKind::Uniqueness, m.to_string());
    let same_name = store::scim::users_in(tx, &s.org.id, Lookup::UserName(&w.user_name)).await?;
    if same_name.iter().any(|r| r.id != id) {
        return Err(taken("another User has this userName"));
    }
    if let Some(ext) = &w.external_id {
        let same = store::scim::users_in(tx, &s.org.id, Lookup::ExternalId(ext)).await?;
        if same.iter().any(|r| r.id != id) {
            return Err(taken("another User has this externalId"));
        }
    }
    Ok(())
}

fn apply(row: &mut UserRow, w: Written, now: i64) {
    row.user_name_key = w.user_name.to_lowercase();
    row.user_name = w.user_name;
    row.external_id = w.external_id;
    row.email = w.email;
    row.active = i64::from(w.active);
    row.roles = to_json_list(&w.roles);
    row.resource = Value::Object(w.doc).to_string();
    row.updated_at = now;
}

/// `GET /Users`.
pub async fn list(s: &Scim<'_>, q: &Query) -> Result<Value, ScimError> {
    q.check_supported()?;
    let filter = q.filter()?;
    let (offset, count) = q.window()?;
    let names = group_names(s).await?;
    let Some(filter) = filter else {
        let total = store::scim::count_users(&s.state.db, &s.org.id).await? as usize;
        let rows =
            store::scim::users_page(&s.state.db, &s.org.id, offset as i64, count as i64).await?;
        let resources = rows
            .iter()
            .map(|r| q.project(render(s, r, &names)))
            .collect();
        return Ok(list::response(total, offset, resources));
    };
    let lookup = match simple_equality(&filter) {
        Some(("username", v)) => Lookup::UserName(v),
        Some(("externalid", v)) => Lookup::ExternalId(v),
        _ => Lookup::All,
    };
    let rows = store::scim::users(&s.state.db, &s.org.id, lookup).await?;
    let mut case_exact = CASE_EXACT.to_vec();
    case_exact.extend_from_slice(COMMON_CASE_EXACT);
    let matched: Vec<Value> = rows
        .iter()
        .map(|r| render(s, r, &names))
        .filter(|r| filter.matches(r, &case_exact))
        .collect();
    let total = matched.len();
    let resources = matched
        .into_iter()
        .skip(offset)
        .take(count)
        .map(|r| q.project(r))
        .collect();
    Ok(list::response(total, offset, resources))
}

/// The record, or 404.
async fn load(s: &Scim<'_>, tx: &mut store::Tx<'_>, id: &str) -> Result<UserRow, ScimError> {
    store::scim::user_in(tx, &s.org.id, id)
        .await?
        .ok_or_else(|| ScimError::new(ScimErrorKind::NotFound, format!("no User {id:?}")))
}

/// The record `id` for a write, and how the platform reads it now, after the `If-Match`
/// check.
async fn load_for_write(
    s: &Scim<'_>,
    tx: &mut store::Tx<'_>,
    id: &str,
    if_match: Option<&str>,
) -> Result<(UserRow, Value), ScimError> {
    let names = group_names(s).await?;
    let row = load(s, tx, id).await?;
    let current = render(s, &row, &names);
    check_if_match(if_match, &current)?;
    Ok((row, current))
}

/// What the platform may write of a rendered record: all but what Nyckel owns.
pub fn writable(current: &Value) -> Map<String, Value> {
    let mut doc = current.as_object().cloned().unwrap_or_default();
    for owned in ["id", "meta", "groups", "schemas"] {
        doc.remove(owned);
    }
    doc
}

/// `GET /Users/{id}`.
pub async fn get(s: &Scim<'_>, id: &str) -> Result<Value, ScimError> {
    let row = store::scim::user(&s.state.db, &s.org.id, id)
        .await?
        .ok_or_else(|| ScimError::new(ScimErrorKind::NotFound, format!("no User {id:?}")))?;
    Ok(render(s, &row, &group_names(s).await?))
}

/// `POST /Users`: a new record, linked to the member with its email or inviting them.
pub async fn create(s: &Scim<'_>, body: &Value) -> Result<Value, ScimError> {
    let w = written(s, body).await?;
    let now = s.state.now();
    let mut row = UserRow {
        id: random_id(),
        organisation_id: s.org.id.clone(),
        user_id: None,
        user_name: String::new(),
        user_name_key: String::new(),
        external_id: None,
        email: String::new(),
        active: 1,
        roles: String::new(),
        resource: String::new(),
        invitation_id: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = s.state.db.begin().await?;
    check_unique(&mut tx, s, &row.id, &w).await?;
    apply(&mut row, w, now);
    membership::link_existing(&mut tx, s, &mut row).await?;
    let after = membership::settle(&mut tx, s, None, &mut row).await?;
    store::scim::insert_user(&mut tx, &row)
        .await
        .map_err(unique)?;
    audit(&mut tx, s, "scim.user_created", &row).await?;
    tx.commit().await?;
    after.finish(s).await;
    get(s, &row.id).await
}

/// `PUT /Users/{id}`: replaces the record.
pub async fn replace(
    s: &Scim<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Value, ScimError> {
    let w = written(s, body).await?;
    let mut tx = s.state.db.begin().await?;
    let (before, _) = load_for_write(s, &mut tx, id, if_match).await?;
    let after = store_written(&mut tx, s, &before, w).await?;
    tx.commit().await?;
    after.finish(s).await;
    get(s, id).await
}

/// `PATCH /Users/{id}`: the operations applied to the writable document, then as a PUT.
pub async fn patch(
    s: &Scim<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Value, ScimError> {
    let mut tx = s.state.db.begin().await?;
    let (before, current) = load_for_write(s, &mut tx, id, if_match).await?;
    let mut doc = writable(&current);
    let mut case_exact = CASE_EXACT.to_vec();
    case_exact.extend_from_slice(COMMON_CASE_EXACT);
    super::patch::apply(&mut doc, body, &case_exact)?;
    let w = written(s, &Value::Object(doc)).await?;
    let after = store_written(&mut tx, s, &before, w).await?;
    tx.commit().await?;
    after.finish(s).await;
    get(s, id).await
}

async fn store_written(
    tx: &mut store::Tx<'_>,
    s: &Scim<'_>,
    before: &UserRow,
    w: Written,
) -> Result<After, ScimError> {
    check_unique(tx, s, &before.id, &w).await?;
    let mut row = before.clone();
    apply(&mut row, w, s.state.now());
    let after = membership::settle(tx, s, Some(before), &mut row).await?;
    store::scim::update_user(tx, &row).await.map_err(unique)?;
    audit(tx, s, "scim.user_updated", &row).await?;
    Ok(after)
}

/// `DELETE /Users/{id}`: forgets the record and ends the membership (never the account).
pub async fn delete(s: &Scim<'_>, id: &str, if_match: Option<&str>) -> Result<(), ScimError> {
    let mut tx = s.state.db.begin().await?;
    let (row, _) = load_for_write(s, &mut tx, id, if_match).await?;
    let after = membership::end(&mut tx, s, &row).await?;
    store::scim::delete_user(&mut tx, &s.org.id, id).await?;
    audit(&mut tx, s, "scim.user_deleted", &row).await?;
    tx.commit().await?;
    after.finish(s).await;
    Ok(())
}

/// A unique index that a concurrent request won: 409 `uniqueness`.
fn unique(e: sqlx::Error) -> ScimError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => ScimError::new(
            ScimErrorKind::Uniqueness,
            "another User has this userName, externalId or member",
        ),
        _ => e.into(),
    }
}

async fn audit(
    tx: &mut store::Tx<'_>,
    s: &Scim<'_>,
    kind: &str,
    row: &UserRow,
) -> Result<(), ScimError> {
    super::record(
        tx,
        s,
        kind,
        row.user_id.as_deref(),
        json!({
            "scim_user": row.id,
            "user_name": row.user_name,
            "external_id": row.external_id,
            "active": row.active != 0,
            "roles": from_json_list(&row.roles),
        }),
    )
    .await?;
    Ok(())
}

/// A record's roles with `role` added (`hold`) or removed (for `groups.rs`), or `None` when
/// they already are as asked.
pub fn with_role(row: &UserRow, role: &str, hold: bool) -> Option<Vec<String>> {
    let mut roles = from_json_list(&row.roles);
    let has = roles.iter().any(|r| r == role);
    if has == hold {
        return None;
    }
    if hold {
        roles.push(role.to_string());
        roles.sort();
    } else {
        roles.retain(|r| r != role);
    }
    Some(roles)
}

/// Gives a record new roles inside `tx` (a group's members changed), settling the membership.
pub async fn set_roles_in(
    tx: &mut store::Tx<'_>,
    s: &Scim<'_>,
    before: &UserRow,
    roles: &[String],
) -> Result<After, ScimError> {
    let mut row = before.clone();
    row.roles = to_json_list(roles);
    row.updated_at = s.state.now();
    let after = membership::settle(tx, s, Some(before), &mut row).await?;
    store::scim::update_user(tx, &row).await?;
    audit(tx, s, "scim.user_updated", &row).await?;
    Ok(after)
}
