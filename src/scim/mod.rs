//! SCIM 2.0 service provider (RFC 7643 core schema, RFC 7644 protocol), one per
//! organisation, so that a membership platform or an identity provider (Entra ID, Okta, ...)
//! can provision the organisation's members and roles. No axum types here: `src/http/scim`
//! turns requests into these use-cases and their results into responses.
//!
//! - [`filter`]: the `filter` expression language, with length and depth limits.
//! - [`patch_path`] and [`patch`]: PATCH paths, and applying PATCH operations to a document.
//! - [`error`]: SCIM error responses: status, `scimType` and the RFC's JSON body.
//! - [`schema`]: the discovery documents.
//! - [`users`] and [`groups`]: the resources; [`membership`]: what a User record does to the
//!   person's membership (invitation, roles, suspension); [`list`]: paging, filtering and
//!   attribute selection; [`bulk`]: `/Bulk`; [`import`]: members from a CSV file, as
//!   records.
//!
//! The caller is a service client of the organisation ([`Scim::caller`]); every change is
//! made through the same in-transaction steps as the admin API's (audit, webhooks, the
//! person's notice), so SCIM can do nothing an org admin could not.

pub mod bulk;
pub mod error;
pub mod filter;
mod filter_eval;
pub mod groups;
pub mod import;
pub mod list;
pub mod membership;
pub mod patch;
pub mod patch_path;
pub mod resource;
pub mod schema;
pub mod users;

use serde_json::{Map, Value, json};

use crate::admin::{AdminError, Caller};
use crate::clock::{UnixTime, instant};
use crate::crypto::sha256_b64;
use crate::state::AppState;
use crate::store::orgs::Organisation;
use error::{ScimError, ScimErrorKind};

/// One request's context: the organisation whose endpoint was called and the caller (a
/// service client owned by it, checked by the HTTP layer).
pub struct Scim<'a> {
    pub state: &'a AppState,
    pub caller: Caller,
    pub org: Organisation,
    /// The endpoint's absolute base URL, without a trailing slash.
    pub base: String,
}

impl<'a> Scim<'a> {
    /// The context for `org`'s endpoint.
    pub fn new(state: &'a AppState, caller: Caller, org: Organisation) -> Self {
        let base = state.url(&format!("/scim/v2/orgs/{}", org.slug));
        Scim {
            state,
            caller,
            org,
            base,
        }
    }
}

/// The organisation an endpoint names (by id or slug).
pub async fn organisation(state: &AppState, key: &str) -> Result<Option<Organisation>, ScimError> {
    Ok(crate::store::orgs::find_by_id_or_slug(&state.db, key).await?)
}

/// The `Schemas` of this organisation's endpoint (its roles are the canonical role values).
pub async fn schemas(s: &Scim<'_>) -> Result<Vec<Value>, ScimError> {
    let roles: Vec<String> = crate::store::orgs::roles(&s.state.db, &s.org.id)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    Ok(schema::schemas(&s.base, &roles))
}

impl From<sqlx::Error> for ScimError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::from(e).into()
    }
}

impl From<crate::error::Error> for ScimError {
    fn from(e: crate::error::Error) -> Self {
        AdminError::Internal(e).into()
    }
}

impl From<AdminError> for ScimError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(m) => ScimError::new(ScimErrorKind::InvalidValue, m),
            AdminError::Conflict(m) => ScimError::new(ScimErrorKind::Conflict, m),
            AdminError::NotFound(m) => ScimError::new(ScimErrorKind::NotFound, m),
            AdminError::Forbidden(m) => ScimError::new(ScimErrorKind::Forbidden, m),
            AdminError::Unauthenticated => ScimError::bare(ScimErrorKind::Unauthorized),
            AdminError::Internal(e) => {
                let kind = if e.is_unavailable() {
                    ScimErrorKind::Unavailable
                } else {
                    ScimErrorKind::Internal
                };
                tracing::error!(error = %crate::error::Chain(&e), "SCIM request failed");
                ScimError::bare(kind)
            }
        }
    }
}

/// The version of a resource (`meta.version` and the `ETag`): a digest of its content, so
/// it changes exactly when the resource does (members of a group included).
pub fn version_of(resource: &Value) -> String {
    let mut content = resource.clone();
    if let Some(map) = content.as_object_mut() {
        map.remove("meta");
    }
    let digest = sha256_b64(&content.to_string());
    format!("W/\"{}\"", &digest[..22])
}

/// Adds `meta` (with the version) to a rendered resource.
pub fn with_meta(
    mut resource: Map<String, Value>,
    kind: &str,
    location: String,
    created: UnixTime,
    modified: UnixTime,
) -> Value {
    let version = version_of(&Value::Object(resource.clone()));
    resource.insert(
        "meta".into(),
        json!({
            "resourceType": kind,
            "created": instant(created).to_string(),
            "lastModified": instant(modified).to_string(),
            "location": location,
            "version": version,
        }),
    );
    Value::Object(resource)
}

/// Checks an `If-Match` precondition against the current resource (`*` matches any).
pub fn check_if_match(if_match: Option<&str>, current: &Value) -> Result<(), ScimError> {
    let Some(wanted) = if_match else {
        return Ok(());
    };
    let have = current["meta"]["version"].as_str().unwrap_or_default();
    let strip = |v: &str| v.trim().trim_start_matches("W/").to_string();
    let ok = wanted
        .split(',')
        .any(|w| w.trim() == "*" || strip(w) == strip(have));
    if ok {
        Ok(())
    } else {
        Err(ScimError::new(
            ScimErrorKind::PreconditionFailed,
            "the resource changed since that version",
        ))
    }
}

/// Records a SCIM change in the organisation's audit log, with the service client as actor.
pub async fn record(
    tx: &mut crate::store::Tx<'_>,
    s: &Scim<'_>,
    kind: &str,
    user_id: Option<&str>,
    detail: Value,
) -> Result<(), ScimError> {
    crate::admin::record(
        tx,
        &s.caller,
        s.state.now(),
        kind,
        Some(&s.org.id),
        user_id,
        detail,
    )
    .await?;
    Ok(())
}

/// A JSON object body, or 400 `invalidSyntax`.
pub fn object(body: &Value) -> Result<&Map<String, Value>, ScimError> {
    body.as_object().ok_or_else(|| {
        ScimError::new(
            ScimErrorKind::InvalidSyntax,
            "the body must be a JSON object",
        )
    })
}

/// The key of `obj` that names `name` (SCIM attribute names match case-insensitively).
pub fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The value of `name` in `obj`, matched case-insensitively (SCIM attribute names are).
pub fn field<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// An optional string attribute of at most `max` characters without control characters.
pub fn text(obj: &Map<String, Value>, name: &str, max: usize) -> Result<Option<String>, ScimError> {
    match field(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > max || s.chars().any(char::is_control) {
                return Err(ScimError::new(
                    ScimErrorKind::InvalidValue,
                    format!("{name} must be at most {max} characters without control characters"),
                ));
            }
            Ok(Some(s.clone()))
        }
        Some(_) => Err(ScimError::new(
            ScimErrorKind::InvalidValue,
            format!("{name} must be a string"),
        )),
    }
}

/// A boolean attribute; Entra ID sends `"True"` and `"False"` strings.
pub fn boolean(obj: &Map<String, Value>, name: &str) -> Result<Option<bool>, ScimError> {
    match field(obj, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ScimError::new(
            ScimErrorKind::InvalidValue,
            format!("{name} must be true or false"),
        )),
    }
}

/// Removes `name` (any case) from `obj`.
pub fn take(obj: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_of(obj, name)?;
    obj.remove(&key)
}
