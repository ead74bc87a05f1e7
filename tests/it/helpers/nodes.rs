//! The OpenID Connect flow against a real `nyckel serve` process (or several on one
//! database), as a browser and a relying party drive it: a password login through the
//! authorization endpoint, the code redeemed, refresh tokens rotated, tokens checked at
//! `/userinfo` and `/introspect`.

use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyId};
use serde_json::Value;

use super::browser::{Browser, query};
use super::ops::get_text;
use super::token::decode;
use super::{PASSWORD, REDIRECT_URI};
use crate::helpers::flows::{Pkce, authorize_url, post_token};

/// A confidential client: `(client_id, secret)`.
pub type Client = (String, String);

/// Logs `email` in with the test password through the authorization endpoint at `base` for
/// `client_id`; returns the code handed to the client and its PKCE verifier.
pub async fn code_at(
    browser: &Browser,
    base: &str,
    client_id: &str,
    email: &str,
) -> (String, Pkce) {
    let pkce = Pkce::new();
    let page = browser
        .authorize_and_login(
            &authorize_url(base, client_id, "openid", "s", Some(&pkce), &[]),
            email,
            PASSWORD,
        )
        .await;
    let loc = page.location.expect("redirect to the client");
    assert!(loc.starts_with(REDIRECT_URI), "{loc}");
    (query(&loc)["code"].clone(), pkce)
}

/// Redeems `code` at `base`; the token response (whatever the status).
pub async fn redeem(
    http: &reqwest::Client,
    base: &str,
    client: &Client,
    (code, pkce): &(String, Pkce),
) -> Value {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", &pkce.verifier),
    ];
    post_token(http, base, &client.0, &client.1, &form).await
}

/// Rotates `refresh_token` at `base`; the token response (whatever the status).
pub async fn refresh(
    http: &reqwest::Client,
    base: &str,
    client: &Client,
    refresh_token: &str,
) -> Value {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    post_token(http, base, &client.0, &client.1, &form).await
}

/// A string field of a token response (the test fails, showing the response, without it).
#[track_caller]
pub fn field(tokens: &Value, name: &str) -> String {
    tokens[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {tokens}"))
        .to_string()
}

/// `GET /userinfo` at `base` with `access_token`.
pub async fn userinfo(http: &reqwest::Client, base: &str, access_token: &str) -> reqwest::Response {
    http.get(format!("{base}/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
}

/// Whether `/introspect` at `base` says the token is active.
pub async fn active_at(http: &reqwest::Client, base: &str, client: &Client, token: &str) -> bool {
    let answer: Value = http
        .post(format!("{base}/introspect"))
        .basic_auth(&client.0, Some(&client.1))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect")
        .json()
        .await
        .expect("json");
    answer["active"] == true
}

/// The `(kid, alg)` of every key the node at `base` publishes.
pub async fn jwks_keys(http: &reqwest::Client, base: &str) -> Vec<(String, String)> {
    let jwks: Value =
        serde_json::from_str(&get_text(http, &format!("{base}/jwks")).await).expect("JWKS is JSON");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| (field(k, "kid"), field(k, "alg")))
        .collect()
}

/// Verifies `jwt`'s signature with the key its kid names in the JWKS of the node at `base`
/// (openidconnect's JWK implementation, not ours).
pub async fn verify_at(http: &reqwest::Client, base: &str, jwt: &str) {
    let text = get_text(http, &format!("{base}/jwks")).await;
    let set: CoreJsonWebKeySet = serde_json::from_str(&text).expect("JWKS");
    verify_signature(&set, jwt).unwrap_or_else(|e| panic!("{base}: {e}"));
}

/// Verifies `jwt`'s signature with the key of `set` its kid names (openidconnect's JWK
/// implementation, not ours).
pub fn verify_signature(set: &CoreJsonWebKeySet, jwt: &str) -> Result<(), String> {
    let (header, _) = decode(jwt);
    let kid = JsonWebKeyId::new(header["kid"].as_str().expect("kid").to_string());
    let key: &CoreJsonWebKey = set
        .keys()
        .iter()
        .find(|k| k.key_id() == Some(&kid))
        .ok_or_else(|| format!("kid {} is not published", kid.as_str()))?;
    let alg: CoreJwsSigningAlgorithm =
        serde_json::from_value(header["alg"].clone()).expect("known alg");
    let (signed, sig) = jwt.rsplit_once('.').expect("three parts");
    key.verify_signature(
        &alg,
        signed.as_bytes(),
        &nyckel::crypto::b64_decode(sig).expect("sig"),
    )
    .map_err(|e| format!("the signature of kid {} does not verify: {e}", kid.as_str()))
}
