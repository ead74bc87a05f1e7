//! The admin API's OpenAPI document as the code generates it (`nyckel::http::api::doc`):
//! written out for the spec validator of `.ci/run`, and the check that every answer the
//! admin-API tests received matches it (`helpers::openapi_check`).

use std::path::PathBuf;

/// Writes the generated document to `$NYCKEL_OPENAPI_OUT` (default
/// `$CARGO_TARGET_TMPDIR/openapi.json`), where `.ci/run` validates it.
#[test]
fn the_generated_openapi_document_is_written_for_the_validator() {
    let out = std::env::var_os("NYCKEL_OPENAPI_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openapi.json"));
    let json = nyckel::http::api::doc::openapi_json();
    let doc: serde_json::Value = serde_json::from_str(json).expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    std::fs::write(&out, json).expect("write the document");
}

/// The check of answers refuses what the document does not allow (so the admin-API tests,
/// whose every answer goes through it, cannot pass on an answer outside the contract).
#[test]
fn the_answer_check_refuses_what_the_document_does_not_allow() {
    use crate::helpers::openapi_check::problems;
    use nyckel::http::api::table::Method;

    let org = r#"{"id":"o1","slug":"club","name":"Club","default_locale":"sv","created_at":1}"#;
    let error = r#"{"error":{"code":"not_found","message":"no such organisation"}}"#;
    problems(Method::Get, "/orgs/club", 200, org).expect("a valid organisation");
    problems(Method::Get, "/orgs/club", 404, error).expect("a documented error");
    problems(Method::Get, "/orgs/club", 503, error).expect("default covers 503");
    problems(Method::Delete, "/orgs/club", 204, "").expect("no body");
    problems(Method::Get, "/nowhere", 404, error).expect("an unknown path");

    let refused = [
        (
            Method::Get,
            "/orgs/club",
            201,
            org,
            "an undocumented success status",
        ),
        (
            Method::Post,
            "/orgs",
            200,
            org,
            "200 where 201 is documented",
        ),
        (
            Method::Get,
            "/orgs/club",
            200,
            r#"{"id":"o1"}"#,
            "missing fields",
        ),
        (
            Method::Get,
            "/orgs/club",
            200,
            r#"{"id":"o1","slug":"club","name":"Club","default_locale":"de","created_at":1}"#,
            "a value outside the enum",
        ),
        (
            Method::Get,
            "/orgs/club",
            200,
            r#"{"id":"o1","slug":"club","name":"Club","default_locale":"sv","created_at":"1"}"#,
            "a wrong type",
        ),
        (
            Method::Get,
            "/orgs/club",
            404,
            r#"{"error":"x"}"#,
            "an error of another shape",
        ),
        (
            Method::Get,
            "/orgs/club",
            200,
            "not json",
            "a body that is not JSON",
        ),
        (
            Method::Delete,
            "/orgs/club",
            204,
            "{}",
            "a body where none is documented",
        ),
        (
            Method::Get,
            "/nowhere",
            200,
            "{}",
            "a success of an unknown path",
        ),
    ];
    for (method, path, status, body, what) in refused {
        assert!(
            problems(method, path, status, body).is_err(),
            "{what} passes the check"
        );
    }
}
