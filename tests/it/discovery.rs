//! Discovery and JWKS.

use crate::helpers::TestApp;
use crate::helpers::api::fetch;

#[tokio::test]
async fn discovery_issuer_matches_byte_for_byte_and_lists_endpoints() {
    let app = TestApp::spawn().await;
    let res = fetch(&app, "/.well-known/openid-configuration").await;
    assert_eq!(res.status, 200);
    let doc = res.json;
    assert_eq!(doc["issuer"].as_str(), Some(app.issuer.as_str()));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{}/authorize", app.issuer)
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
}

#[tokio::test]
async fn jwks_publishes_one_key_per_algorithm_with_safe_sizes() {
    let app = TestApp::spawn().await;
    let jwks: serde_json::Value = app.get_json("/jwks").await;
    let keys = jwks["keys"].as_array().expect("keys");
    let mut algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    for k in keys {
        assert!(k.get("d").is_none(), "no private parts in JWKS");
        assert!(k["kid"].as_str().is_some_and(|kid| !kid.is_empty()));
        if k["kty"] == "RSA" {
            let n = nyckel::crypto::b64_decode(k["n"].as_str().expect("n")).expect("b64");
            assert!(n.len() * 8 >= 3072, "RSA keys are at least 3072 bits");
        }
    }
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = TestApp::spawn().await;
    let res = fetch(&app, "/no-such-page").await;
    assert_eq!(res.status, 404);
    let h = &res.headers;
    assert!(
        h["strict-transport-security"]
            .to_str()
            .expect("ascii")
            .contains("max-age=31536000")
    );
    assert!(
        h["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
}
