//! The admin API as a protocol: bearer authentication (RFC 6750 challenges, no cookies),
//! one error shape for every refusal and malformed request, `Cache-Control: no-store`, no
//! CORS, the caller's address in the audit log, and the OpenAPI document: served, every
//! reference resolving, and describing exactly the routed endpoints with the statuses they
//! answer.

use std::collections::BTreeSet;

use nyckel::http::api::table::{Method, PREFIX, ROUTES};
use reqwest::header::{CONTENT_TYPE, ORIGIN};
use serde_json::{Value, json};

use crate::helpers::admin::World;
use crate::helpers::api::Api;
use crate::helpers::token::{Auth, CodeSpec, issue_code, redeem};

#[tokio::test]
async fn bearer_tokens_only_with_the_admin_scope() {
    let w = World::new().await;
    let anonymous = Api::new(&w.app, None);

    // No token: 401, a challenge without an error code (RFC 6750 section 3).
    let r = anonymous.get("/orgs").await;
    r.expect(401);
    assert_eq!(r.code(), "unauthenticated");
    assert_eq!(
        r.header("www-authenticate"),
        "Bearer realm=\"nyckel\", scope=\"admin\""
    );

    // Garbage, and another scheme.
    let r = anonymous.with_token(Some("not-a-token")).get("/orgs").await;
    r.expect(401);
    assert!(
        r.header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );
    let r = anonymous
        .raw(reqwest::Method::GET, "/orgs", |req| {
            req.basic_auth(&w.console.0, Some(&w.console.1))
        })
        .await;
    r.expect(401);

    // A person's access token without the admin scope: not accepted.
    let (id, secret) = &w.console;
    let mut spec = CodeSpec::new(id, &w.admin_a.id);
    spec.scope = "openid email";
    let (code, _) = issue_code(&w.app, spec).await;
    let plain = redeem(&w.app, Auth::Basic(id, secret), &code, None).await;
    let plain_token = plain.str("access_token").to_string();
    let r = anonymous.with_token(Some(&plain_token)).get("/orgs").await;
    r.expect(401);
    assert!(
        r.header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );
    // Its ID token is no access token either.
    let r = anonymous
        .with_token(Some(plain.str("id_token")))
        .get("/orgs")
        .await;
    r.expect(401);

    // The same person with the admin scope is let in.
    let admin = anonymous.with_token(Some(&w.token(&w.admin_a).await));
    admin.get("/orgs").await.expect(200);

    // A signed-in browser's cookie is not an API credential.
    let browser = w.browser(&w.admin_a).await;
    let r = Api::over(&w.app, browser.client.clone(), None)
        .get("/orgs")
        .await;
    r.expect(401);

    // An expired token is refused.
    w.app
        .advance(w.app.state.config.tokens.access_token_ttl + 1);
    admin.get("/orgs").await.expect(401);
}

#[tokio::test]
async fn malformed_requests_get_400_in_the_error_shape() {
    let w = World::new().await;
    let api = w.api(&w.admin_a).await;
    let before = w.snapshot().await;
    let path = format!("/orgs/club-a/members/{}/roles", w.member_a.id);

    let send = |ct: Option<&'static str>, body: &'static str| {
        api.raw(reqwest::Method::PUT, &path, move |req| match ct {
            Some(ct) => req.body(body).header(CONTENT_TYPE, ct),
            None => req.body(body),
        })
    };
    for (ct, body, why) in [
        (Some("application/json"), "{\"roles\": [", "broken JSON"),
        (Some("application/json"), "", "empty body"),
        (Some("text/plain"), "{\"roles\": []}", "wrong content type"),
        (None, "{\"roles\": []}", "no content type"),
        (
            Some("application/json"),
            "{\"roles\": \"admin\"}",
            "wrong type",
        ),
        (Some("application/json"), "{}", "missing field"),
        (
            Some("application/json"),
            "{\"roles\": [], \"superadmin\": true}",
            "unknown field",
        ),
    ] {
        let r = send(ct, body).await;
        assert_eq!(r.status, 400, "{why}: {}", r.text);
        assert_eq!(r.code(), "invalid_request", "{why}");
        assert!(r.json["error"]["message"].is_string(), "{why}");
    }

    // Bad query parameters.
    for q in [
        "/orgs/club-a/members?limit=abc",
        "/orgs/club-a/members?limit=0",
        "/orgs/club-a/members?limit=100000",
        "/orgs/club-a/members?cursor=garbage",
        "/orgs/club-a/members?unknown=1",
        "/orgs/club-a/audit?since=yesterday",
        "/orgs/club-a/roles?cursor=%2F%2F",
        // A well-formed cursor of the wrong kind.
        &format!(
            "/orgs/club-a/members/{}/sessions?cursor={}",
            w.member_a.id,
            nyckel::paging::encode_cursor(&["yesterday", "x"])
        ),
    ] {
        let r = api.get(q).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert_eq!(r.code(), "invalid_request", "{q}");
    }

    // Too large a body.
    let huge = json!({ "roles": vec!["member"; 20_000] });
    let r = api.put(&path, &huge).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.code(), "too_large");

    // Unknown paths and methods under the API answer in the same shape.
    let r = api.get("/nothing/here").await;
    r.expect(404);
    assert_eq!(r.code(), "not_found");
    let r = api
        .call(Method::Patch, "/orgs/club-a/members", Some(&json!({})))
        .await;
    r.expect(405);
    assert_eq!(r.code(), "method_not_allowed");

    assert_eq!(w.snapshot().await, before, "nothing changed");
}

#[tokio::test]
async fn answers_are_not_cached_and_carry_no_cors() {
    let w = World::new().await;
    let api = w.api(&w.admin_a).await;
    for path in ["/orgs", "/orgs/club-b", "/audit", "/openapi.json"] {
        let r = api
            .raw(reqwest::Method::GET, path, |req| {
                req.header(ORIGIN, "https://evil.example")
            })
            .await;
        assert_eq!(r.header("cache-control"), "no-store", "{path}");
        assert_eq!(r.header("access-control-allow-origin"), "", "{path}");
    }
    let r = api
        .raw(reqwest::Method::OPTIONS, "/orgs", |req| {
            req.header(ORIGIN, "https://evil.example")
                .header("access-control-request-method", "DELETE")
        })
        .await;
    assert_eq!(r.header("access-control-allow-origin"), "");
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn the_audit_log_records_the_caller_and_address() {
    let w = World::new().await;
    let api = w.api(&w.admin_a).await;
    api.set_roles("club-a", &w.member_a.id, &["coach", "member"])
        .await
        .expect(200);
    let r = api.get("/orgs/club-a/audit?kind=admin.roles_changed").await;
    r.expect(200);
    let event = &r.json["items"][0];
    assert_eq!(event["actor_id"], w.admin_a.id.as_str());
    assert_eq!(event["user_id"], w.member_a.id.as_str());
    assert_eq!(event["ip"], "127.0.0.1");
    assert_eq!(event["detail"]["after"], json!(["coach", "member"]));

    // The export is JSON lines of the same events.
    let r = api.get("/orgs/club-a/audit/export").await;
    r.expect(200);
    assert_eq!(r.header("content-type"), "application/x-ndjson");
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(lines.iter().any(|e| e["kind"] == "admin.roles_changed"));
    assert!(
        lines
            .iter()
            .all(|e| e["organisation_id"] == w.org_a.as_str())
    );
}

/// The document as served.
async fn openapi(w: &World) -> Value {
    let r = Api::new(&w.app, None).get("/openapi.json").await;
    r.expect(200);
    assert!(r.header("content-type").starts_with("application/json"));
    r.json
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routed_endpoints() {
    let w = World::new().await;
    let doc = openapi(&w).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], PREFIX);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"][0]["bearer"], json!([]));

    let methods = [
        "get", "post", "put", "patch", "delete", "head", "options", "trace",
    ];
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (key, op) in item.as_object().expect("path item") {
            if methods.contains(&key.as_str()) {
                documented.insert((key.clone(), path.clone()));
                assert!(op["operationId"].is_string(), "{key} {path}: operationId");
                assert!(op["responses"].is_object(), "{key} {path}: responses");
            }
        }
    }
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.as_str().to_string(), r.path.to_string()))
        .collect();
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed but not documented"
    );
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not routed"
    );

    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.as_str()];
        let what = format!("{} {}", route.method.as_str(), route.path);
        assert_eq!(
            op["operationId"],
            route.op.operation_id().as_str(),
            "{what}"
        );
        let responses = op["responses"].as_object().expect("responses");
        let successes: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
        assert_eq!(
            successes,
            vec![&route.status.to_string()],
            "{what}: the documented success status"
        );
        if route.action.is_some() {
            assert!(op.get("security").is_none(), "{what} is protected");
            for refusal in ["401", "403"] {
                assert!(responses.contains_key(refusal), "{what}: {refusal}");
            }
            if route.path.contains("{org}") || route.path.contains("{client}") {
                assert!(responses.contains_key("404"), "{what}: 404");
            }
            if matches!(route.method, Method::Post | Method::Put | Method::Patch)
                && op.get("requestBody").is_some()
            {
                assert!(responses.contains_key("400"), "{what}: 400");
            }
        } else {
            assert_eq!(op["security"], json!([]), "{what} is public");
        }
        // Every path parameter of the template is declared (on the operation or the path).
        let declared: BTreeSet<String> = resolve_params(&doc, route.path, route.method.as_str());
        for name in route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            assert!(declared.contains(name), "{what}: path parameter {name}");
        }
    }

    // Every reference resolves.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 50);
    for r in refs {
        let pointer = r.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

/// The names of the path parameters declared for an operation.
fn resolve_params(doc: &Value, path: &str, method: &str) -> BTreeSet<String> {
    let item = &doc["paths"][path];
    let mut out = BTreeSet::new();
    for list in [&item["parameters"], &item[method]["parameters"]] {
        for p in list.as_array().into_iter().flatten() {
            let p = match p["$ref"].as_str() {
                Some(r) => doc
                    .pointer(r.trim_start_matches('#'))
                    .expect("parameter reference"),
                None => p,
            };
            if p["in"] == "path" {
                assert_eq!(p["required"], true, "{path}: path parameters are required");
                out.insert(p["name"].as_str().expect("name").to_string());
            }
        }
    }
    out
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
