//! `/Bulk` (RFC 7644 section 3.7): up to [`BULK_MAX_OPERATIONS`] operations on Users and
//! Groups, run in order, each exactly as its own request would be (each commits on its own:
//! a failed operation leaves the earlier ones done, as the RFC has it). `failOnErrors` stops
//! the run after that many errors. `bulkId:<id>` in a path or a value stands for the id of
//! the resource an earlier `POST` of the request created with that `bulkId`.

use serde_json::{Map, Value, json};

use super::error::{ScimError, ScimErrorKind};
use super::resource::{self, Kind};
use super::schema::{BULK_MAX_OPERATIONS, BULK_REQUEST, BULK_RESPONSE};
use super::{Scim, field, object};

/// Runs a bulk request; the answer is always a `BulkResponse` (200) unless the request
/// itself is malformed.
pub async fn run(s: &Scim<'_>, body: &Value) -> Result<Value, ScimError> {
    let invalid = |m: &str| ScimError::new(ScimErrorKind::InvalidSyntax, m.to_string());
    let req = object(body)?;
    let schemas_ok = field(req, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(BULK_REQUEST)));
    if !schemas_ok {
        return Err(invalid(&format!("schemas must list {BULK_REQUEST}")));
    }
    let ops = field(req, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("Operations must be a list"))?;
    if ops.len() > BULK_MAX_OPERATIONS {
        return Err(ScimError::new(
            ScimErrorKind::PayloadTooLarge,
            format!("at most {BULK_MAX_OPERATIONS} operations per request"),
        ));
    }
    let fail_on_errors = match field(req, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid("failOnErrors must be a positive integer"))?,
        ),
    };
    let mut created: Vec<(String, String)> = Vec::new();
    let mut results = Vec::new();
    let mut errors = 0;
    for op in ops {
        if fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
        let result = one(s, op, &mut created).await;
        if result["status"]
            .as_str()
            .is_some_and(|st| !st.starts_with('2'))
        {
            errors += 1;
        }
        results.push(result);
    }
    Ok(json!({ "schemas": [BULK_RESPONSE], "Operations": results }))
}

/// Replaces every `bulkId:<id>` string in `value` by the created resource's id.
fn resolve(value: &mut Value, created: &[(String, String)]) -> Result<(), ScimError> {
    match value {
        Value::String(s) => {
            if let Some(bulk_id) = s.strip_prefix("bulkId:") {
                let id = created
                    .iter()
                    .find(|(b, _)| b == bulk_id)
                    .map(|(_, id)| id.clone())
                    .ok_or_else(|| {
                        ScimError::new(
                            ScimErrorKind::InvalidValue,
                            format!("bulkId {bulk_id:?} names no resource created earlier in this request"),
                        )
                    })?;
                *s = id;
            }
        }
        Value::Array(items) => {
            for item in items {
                resolve(item, created)?;
            }
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                resolve(v, created)?;
            }
        }
        _ => {}
    }
    Ok(())
}

async fn one(s: &Scim<'_>, op: &Value, created: &mut Vec<(String, String)>) -> Value {
    let empty = Map::new();
    let o = op.as_object().unwrap_or(&empty);
    let method = field(o, "method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let bulk_id = field(o, "bulkId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let version = field(o, "version")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut answer = json!({ "method": method });
    if let Some(b) = &bulk_id {
        answer["bulkId"] = json!(b);
    }
    match dispatch(
        s,
        o,
        &method,
        bulk_id.as_deref(),
        version.as_deref(),
        created,
    )
    .await
    {
        Ok((status, resource)) => {
            answer["status"] = json!(status.to_string());
            if let Some(r) = resource {
                answer["location"] = r["meta"]["location"].clone();
                answer["version"] = r["meta"]["version"].clone();
            }
        }
        Err(e) => {
            answer["status"] = json!(e.status().to_string());
            answer["response"] = e.body();
        }
    }
    answer
}

async fn dispatch(
    s: &Scim<'_>,
    o: &Map<String, Value>,
    method: &str,
    bulk_id: Option<&str>,
    version: Option<&str>,
    created: &mut Vec<(String, String)>,
) -> Result<(u16, Option<Value>), ScimError> {
    let mut path = json!(field(o, "path").and_then(Value::as_str).unwrap_or_default());
    let mut data = field(o, "data").cloned().unwrap_or(Value::Null);
    // `/Users/bulkId:x`: resolve the id part.
    if let Some(p) = path.as_str().map(str::to_string)
        && let Some((head, id)) = p.rsplit_once('/')
    {
        let mut id = json!(id);
        resolve(&mut id, created)?;
        path = json!(format!("{head}/{}", id.as_str().unwrap_or_default()));
    }
    resolve(&mut data, created)?;
    let path = path
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let (kind, id) = match path.split_once('/') {
        Some((k, id)) => (k.to_string(), Some(id.to_string())),
        None => (path.clone(), None),
    };
    let bad = |m: &str| ScimError::new(ScimErrorKind::InvalidValue, m.to_string());
    let Some(kind) = Kind::from_segment(&kind) else {
        return Err(bad(
            "path must be /Users, /Groups or one of their resources",
        ));
    };
    match (method, id.as_deref()) {
        ("POST", None) => {
            let Some(bulk_id) = bulk_id else {
                return Err(bad("a POST needs a bulkId"));
            };
            let r = resource::create(kind, s, &data).await?;
            if let Some(id) = r["id"].as_str() {
                created.push((bulk_id.to_string(), id.to_string()));
            }
            Ok((201, Some(r)))
        }
        ("PUT", Some(id)) => Ok((
            200,
            Some(resource::replace(kind, s, id, &data, version).await?),
        )),
        ("PATCH", Some(id)) => Ok((
            200,
            Some(resource::patch(kind, s, id, &data, version).await?),
        )),
        ("DELETE", Some(id)) => {
            resource::delete(kind, s, id, version).await?;
            Ok((204, None))
        }
        _ => Err(bad(
            "method must be POST (to a collection), or PUT, PATCH or DELETE (to a resource)",
        )),
    }
}
