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
