//! Shared fixtures for the token endpoint tests: grants and codes written straight into the
//! database (as /authorize would after a login), token requests over HTTP, PKCE pairs, and
//! verification of our JWTs against the published JWKS with the `openidconnect` crate.

use nyckel::admin::clients::CreateClient;
use nyckel::crypto::{random_id, secret_token, sha256_b64};
use nyckel::store::{codes::CodeRow, grants::GrantRow};
use openidconnect::core::CoreJsonWebKeySet;
use serde_json::Value;

use crate::helpers::api::{Reply, read};
use crate::helpers::flows::Pkce;
use crate::helpers::{REDIRECT_URI, TestApp};

/// What /authorize would have recorded.
pub struct CodeSpec<'a> {
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub scope: &'a str,
    pub organisation_id: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<String>,
    pub redirect_uri: &'a str,
    /// A login of two factors (password and SMS code) rather than a password alone.
    pub two_factors: bool,
}

impl<'a> CodeSpec<'a> {
    /// A code for `client_id` and `user_id` with scope `openid email profile`.
    pub fn new(client_id: &'a str, user_id: &'a str) -> Self {
        Self {
            client_id,
            user_id,
            scope: "openid email profile",
            organisation_id: None,
            nonce: Some("n-0S6_WzA2Mj"),
            code_challenge: None,
            redirect_uri: REDIRECT_URI,
            two_factors: false,
        }
    }
}

/// Inserts a grant and a code for it in one transaction; returns `(code, grant_id)`.
pub async fn issue_code(app: &TestApp, spec: CodeSpec<'_>) -> (String, String) {
    let now = app.state.now();
    let grant = GrantRow {
        id: random_id(),
        client_id: spec.client_id.into(),
        user_id: Some(spec.user_id.into()),
        sid: Some(random_id()),
        scope: spec.scope.into(),
        organisation_id: spec.organisation_id.map(str::to_string),
        auth_time: Some(now - 5),
        amr: if spec.two_factors {
            r#"["pwd","sms","mfa"]"#.into()
        } else {
            r#"["pwd"]"#.into()
        },
        acr: if spec.two_factors {
            "urn:nyckel:acr:2fa".into()
        } else {
            "urn:nyckel:acr:1fa".into()
        },
        created_at: now,
        expires_at: now + app.state.config.tokens.refresh_absolute_ttl,
        revoked_at: None,
    };
    let code = secret_token();
    let row = CodeRow {
        code_hash: sha256_b64(&code),
        grant_id: grant.id.clone(),
        client_id: spec.client_id.into(),
        redirect_uri: spec.redirect_uri.into(),
        nonce: spec.nonce.map(str::to_string),
        code_challenge: spec.code_challenge,
        created_at: now,
        expires_at: now + app.state.config.tokens.code_ttl,
    };
    let mut tx = app.state.db.begin().await.expect("begin");
    nyckel::store::grants::insert(&mut tx, &grant)
        .await
        .expect("grant");
    nyckel::store::codes::insert(&mut tx, &row)
        .await
        .expect("code");
    tx.commit().await.expect("commit");
    (code, grant.id)
}

/// How a request authenticates its client.
pub enum Auth<'a> {
    Basic(&'a str, &'a str),
    Post(&'a str, &'a str),
    /// A public client: `client_id` in the body.
    Public(&'a str),
    None,
}

/// POSTs a form to `path` with client authentication.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    auth: Auth<'_>,
    fields: &[(&str, &str)],
) -> Reply {
    let mut fields: Vec<(&str, &str)> = fields.to_vec();
    let mut req = app.http().post(app.url(path));
    match auth {
        Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
        Auth::Post(id, secret) => {
            fields.push(("client_id", id));
            fields.push(("client_secret", secret));
        }
        Auth::Public(id) => fields.push(("client_id", id)),
        Auth::None => {}
    }
    read(req.form(&fields).send().await.expect("POST")).await
}

/// POSTs to /token.
pub async fn token(app: &TestApp, auth: Auth<'_>, fields: &[(&str, &str)]) -> Reply {
    post_form(app, "/token", auth, fields).await
}

/// A new web client and a new person (`email`) who got tokens for `scope` through a code
/// exchange; returns `(client_id, secret, sub, the token response)`.
pub async fn web_client_tokens(
    app: &TestApp,
    email: &str,
    scope: &'static str,
) -> (String, String, String, Reply) {
    let (id, secret) = app.web_client().await;
    let sub = app.create_user(email).await;
    let spec = CodeSpec {
        scope,
        ..CodeSpec::new(&id, &sub)
    };
    let (code, _) = issue_code(app, spec).await;
    let res = redeem(app, Auth::Basic(&id, &secret), &code, None).await;
    assert_eq!(res.status, 200, "{}", res.json);
    (id, secret, sub, res)
}

/// The test web client and a code for a new person (`email`, scope `openid email profile`);
/// returns `(client_id, secret, sub, code)`.
pub async fn web_client_code(app: &TestApp, email: &str) -> (String, String, String, String) {
    let (id, secret) = app.web_client().await;
    let sub = app.create_user(email).await;
    let (code, _) = issue_code(app, CodeSpec::new(&id, &sub)).await;
    (id, secret, sub, code)
}

/// Exchanges a code at /token.
pub async fn redeem(app: &TestApp, auth: Auth<'_>, code: &str, verifier: Option<&str>) -> Reply {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(v) = verifier {
        fields.push(("code_verifier", v));
    }
    token(app, auth, &fields).await
}

/// A public client's whole code exchange with PKCE: a code for `sub`, redeemed with its
/// verifier and the client id.
pub async fn public_redeem(app: &TestApp, client_id: &str, sub: &str) -> Reply {
    let Pkce {
        verifier,
        challenge,
    } = Pkce::new();
    let (code, _) = issue_code(
        app,
        CodeSpec {
            code_challenge: Some(challenge),
            ..CodeSpec::new(client_id, sub)
        },
    )
    .await;
    redeem(app, Auth::Public(client_id), &code, Some(&verifier)).await
}

/// A public client signing ID tokens with `alg`, a new person (`email`) and the answer to
/// their code exchange with PKCE; returns `(client_id, sub, answer)`.
pub async fn public_tokens(app: &TestApp, alg: &str, email: &str) -> (String, String, Reply) {
    let id = public_client(app, alg).await;
    let sub = app.create_user(email).await;
    let res = public_redeem(app, &id, &sub).await;
    (id, sub, res)
}

/// Uses a refresh token.
pub async fn refresh(app: &TestApp, auth: Auth<'_>, refresh_token: &str) -> Reply {
    refresh_with(app, auth, refresh_token, &[]).await
}

/// Uses a refresh token with more fields (a `scope`).
pub async fn refresh_with(
    app: &TestApp,
    auth: Auth<'_>,
    refresh_token: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    fields.extend_from_slice(extra);
    token(app, auth, &fields).await
}

/// Introspects a token as the given (confidential) client.
pub async fn introspect(app: &TestApp, auth: Auth<'_>, token: &str) -> Reply {
    post_form(app, "/introspect", auth, &[("token", token)]).await
}

/// Whether introspection by the given client calls `token` active (the answer is a 200).
pub async fn active(app: &TestApp, auth: Auth<'_>, token: &str) -> bool {
    let res = introspect(app, auth, token).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.json["active"] == true
}

/// Calls userinfo with a Bearer token (GET).
pub async fn userinfo(app: &TestApp, access_token: &str) -> Reply {
    bearer(app, reqwest::Method::GET, "/userinfo", access_token).await
}

/// Sends `method path` with a Bearer token.
pub async fn bearer(app: &TestApp, method: reqwest::Method, path: &str, token: &str) -> Reply {
    let req = app.http().request(method.clone(), app.url(path));
    let res = req.bearer_auth(token).send().await;
    read(res.unwrap_or_else(|e| panic!("{method} {path}: {e}"))).await
}

/// A confidential client with the given grant types; returns `(id, secret)`.
pub async fn confidential_client(app: &TestApp, grant_types: &[&str]) -> (String, String) {
    let (id, secret) = app
        .create_client(CreateClient {
            name: "Confidential".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            grant_types: grant_types.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        })
        .await;
    (id, secret.expect("confidential client has a secret"))
}

/// A public client (authorization_code + refresh_token) signing ID tokens with `alg`.
pub async fn public_client(app: &TestApp, alg: &str) -> String {
    app.create_client(CreateClient {
        name: "Native app".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        public: true,
        id_token_alg: Some(alg.into()),
        ..Default::default()
    })
    .await
    .0
}

/// The published JWKS, as the `openidconnect` crate reads it.
pub async fn jwks(app: &TestApp) -> CoreJsonWebKeySet {
    let text = crate::helpers::api::fetch(app, "/jwks").await.text;
    serde_json::from_str(&text).expect("JWKS parses as openidconnect's CoreJsonWebKeySet")
}

/// The header and claims of a JWT (not verified).
pub fn decode(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut part = || {
        let p = parts.next().expect("JWT part");
        serde_json::from_slice(&nyckel::crypto::b64_decode(p).expect("base64url")).expect("JSON")
    };
    (part(), part())
}

/// Verifies a JWT's signature with the JWKS key named by its `kid` (openidconnect's JWK
/// implementation, not ours); returns `(header, claims)`.
pub async fn verify_with_jwks(app: &TestApp, jwt: &str) -> (Value, Value) {
    let (header, claims) = decode(jwt);
    let set = jwks(app).await;
    crate::helpers::nodes::verify_signature(&set, jwt)
        .unwrap_or_else(|e| panic!("signature verifies with the published key: {e}"));
    (header, claims)
}
