//! Every answer the admin-API tests receive is checked against the generated OpenAPI
//! document (`nyckel::http::api::doc`): its status must be documented for the operation
//! (or covered by `default`), and its body must match that response's schema (JSON against
//! the JSON Schema, each line of an `application/x-ndjson` export against `Event`, no body
//! where none is documented). Answers to paths or methods the API does not have must be
//! `Error` bodies. The schemas are validated by `jsonschema` (OpenAPI 3.1 schemas are JSON
//! Schema 2020-12).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use nyckel::http::api::table::{Method, ROUTES, Route};
use serde_json::{Value, json};

/// The document, as JSON.
static DOC: LazyLock<Value> = LazyLock::new(|| {
    serde_json::to_value(nyckel::http::api::doc::document()).expect("the document is JSON")
});

/// Compiled validators by schema (as JSON text).
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(Default::default);

/// Panics when the answer `status`/`body` to `method path` does not match the document.
#[track_caller]
pub fn check(method: Method, path: &str, status: u16, body: &str) {
    if let Err(problem) = problems(method, path, status, body) {
        panic!(
            "{} {path} answered {status}, which the OpenAPI document does not allow: {problem}\nbody: {body}",
            method.as_str()
        );
    }
}

/// [`check`] for any HTTP method: one the route table has no method for (`OPTIONS`,
/// `HEAD`, ...) names no endpoint of the API, so only an `Error` may answer it.
#[track_caller]
pub fn check_http(method: &reqwest::Method, path: &str, status: u16, body: &str) {
    let routed = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ]
    .into_iter()
    .find(|m| m.as_str().eq_ignore_ascii_case(method.as_str()));
    let found = match routed {
        Some(m) => return check(m, path, status, body),
        None => unrouted(status, body),
    };
    if let Err(problem) = found {
        panic!(
            "{method} {path} answered {status}, which the OpenAPI document does not allow: {problem}\nbody: {body}"
        );
    }
}

/// What is wrong with the answer `status`/`body` to `method path`, if anything.
pub fn problems(method: Method, path: &str, status: u16, body: &str) -> Result<(), String> {
    let path = path.split('?').next().unwrap_or(path);
    let Some(route) = route_of(method, path) else {
        return unrouted(status, body);
    };
    let op = &DOC["paths"][route.path][method.as_str()];
    let responses = &op["responses"];
    let response = match responses.get(status.to_string()) {
        Some(r) => r,
        None if status >= 400 => responses
            .get("default")
            .ok_or("the status is not documented (and there is no default)")?,
        None => return Err("the status is not documented".into()),
    };
    let response = resolve(response);
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        return match body.is_empty() {
            true => Ok(()),
            false => Err("a body where the document has none".into()),
        };
    };
    if let Some(media) = content.get("application/json") {
        return json_matches(&media["schema"], body);
    }
    if content.contains_key("application/x-ndjson") {
        let event = json!({ "$ref": "#/components/schemas/Event" });
        return body.lines().try_for_each(|line| json_matches(&event, line));
    }
    Err(format!("no check for the media types {:?}", content.keys()))
}

/// An answer to a request the API has no endpoint for: only an error in the API's shape.
fn unrouted(status: u16, body: &str) -> Result<(), String> {
    if status < 400 {
        return Err("a success for an endpoint the document does not have".into());
    }
    json_matches(&json!({ "$ref": "#/components/schemas/Error" }), body)
}

/// The route `method path` is an instance of.
fn route_of(method: Method, path: &str) -> Option<&'static Route> {
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES.iter().find(|r| {
        let template: Vec<&str> = r.path.split('/').collect();
        r.method == method
            && template.len() == segments.len()
            && template
                .iter()
                .zip(&segments)
                .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
    })
}

/// Follows a `$ref` into the document.
fn resolve(v: &Value) -> &Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => DOC
            .pointer(r.trim_start_matches('#'))
            .map(resolve)
            .unwrap_or(v),
        None => v,
    }
}

/// Whether `body` is JSON that matches `schema` (references into the document's
/// components resolve).
fn json_matches(schema: &Value, body: &str) -> Result<(), String> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let validator = validator(schema)?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors.join("; ")),
    }
}

/// The compiled validator of `schema`, with the document's schemas as `$defs`.
fn validator(schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
    let key = schema.to_string();
    let mut cache = VALIDATORS.lock().expect("validators");
    if let Some(v) = cache.get(&key) {
        return Ok(v.clone());
    }
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": DOC["components"]["schemas"],
        "allOf": [schema],
    });
    let root: Value = serde_json::from_str(
        &root
            .to_string()
            .replace("#/components/schemas/", "#/$defs/"),
    )
    .expect("JSON");
    let compiled = Arc::new(
        jsonschema::validator_for(&root)
            .map_err(|e| format!("the schema does not compile: {e}"))?,
    );
    cache.insert(key, compiled.clone());
    Ok(compiled)
}
