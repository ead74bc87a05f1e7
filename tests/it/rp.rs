//! Whole flows with the `openidconnect` crate as the relying party (a strict, widely used RP):
//! discovery, code flow with PKCE for confidential and public clients, ID token verification
//! (signature, nonce, at_hash) for every algorithm, userinfo, refresh rotation and reuse,
//! and the organisation claims.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use nyckel::admin::clients::CreateClient;

use crate::helpers::browser::query;
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

/// The claims of a JWT, without verification (the RP verified it already).
pub fn payload(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&nyckel::crypto::b64_decode(part).expect("base64url")).expect("JSON")
}

pub async fn rp_client(
    app: &TestApp,
    id: &str,
    secret: Option<&str>,
) -> (
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    reqwest::Client,
) {
    let http = app.http();
    let meta = CoreProviderMetadata::discover_async(
        IssuerUrl::new(app.issuer.clone()).expect("issuer"),
        &http,
    )
    .await
    .expect("discovery is valid for openidconnect");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(id.to_string()),
        secret.map(|s| ClientSecret::new(s.to_string())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_string()).expect("redirect"));
    (client, http)
}

/// Runs a full login for `client_id` with the RP and returns (id token claims JSON, token response).
async fn full_login(
    app: &TestApp,
    client_id: &str,
    secret: Option<&str>,
    email: &str,
    extra: &[(&str, &str)],
) -> (serde_json::Value, openidconnect::core::CoreTokenResponse) {
    let (client, http) = rp_client(app, client_id, secret).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("orgs".into()))
        .set_pkce_challenge(challenge);
    for (k, v) in extra {
        req = req.add_extra_param(*k, *v);
    }
    let (url, csrf, nonce) = req.url();
    let browser = app.browser();
    let page = browser
        .authorize_and_login(url.as_str(), email, PASSWORD)
        .await;
    let loc = page
        .location
        .unwrap_or_else(|| panic!("no redirect to the client: {}", page.body));
    let q = query(&loc);
    assert_eq!(
        q["state"],
        *csrf.secret(),
        "state returned unmodified (O24)"
    );
    assert_eq!(
        q["iss"], app.issuer,
        "iss in the authorization response (O8, RFC 9207)"
    );
    let token = client
        .exchange_code(AuthorizationCode::new(q["code"].clone()))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = token.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verifies: signature, iss, aud, exp, nonce");
    let expected = claims.access_token_hash().expect("at_hash present");
    let actual = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(&actual, expected, "at_hash matches");
    assert!(claims.auth_time().is_some(), "auth_time present");
    (payload(&id_token.to_string()), token)
}

#[tokio::test]
async fn confidential_client_code_flow_userinfo_and_refresh_with_openidconnect() {
    let app = TestApp::spawn().await;
    let sub = app.create_user("rp@example.org").await;
    let (id, secret) = app.web_client().await;
    let (claims, token) = full_login(&app, &id, Some(&secret), "rp@example.org", &[]).await;
    assert_eq!(claims["sub"], sub);
    assert_eq!(
        claims["iss"], app.issuer,
        "iss equals discovery issuer byte for byte (O17)"
    );
    assert_eq!(claims["email"], "rp@example.org");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["sid"].is_string());

    let (client, http) = rp_client(&app, &id, Some(&secret)).await;
    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(token.access_token().clone(), None)
        .expect("userinfo endpoint")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(
        info.subject().as_str(),
        sub,
        "userinfo sub equals ID token sub (O23)"
    );

    let r1 = token.refresh_token().expect("refresh token").clone();
    let t2 = client
        .exchange_refresh_token(&r1)
        .expect("token endpoint")
        .request_async(&http)
        .await
        .expect("refresh");
    let r2 = t2.refresh_token().expect("rotated").clone();
    assert_ne!(r1.secret(), r2.secret(), "refresh tokens rotate");
    // Reusing R1 fails and kills R2 (10.4.5).
    assert!(
        client
            .exchange_refresh_token(&r1)
            .expect("endpoint")
            .request_async(&http)
            .await
            .is_err()
    );
    assert!(
        client
            .exchange_refresh_token(&r2)
            .expect("endpoint")
            .request_async(&http)
            .await
            .is_err(),
        "the whole family is revoked"
    );
}

#[tokio::test]
async fn public_client_with_pkce_and_every_signing_algorithm_verify_with_openidconnect() {
    let app = TestApp::spawn().await;
    app.create_user("pub@example.org").await;
    let (public_id, _) = app
        .create_client(CreateClient {
            name: "SPA".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            public: true,
            first_party: true,
            ..Default::default()
        })
        .await;
    let (claims, _) = full_login(&app, &public_id, None, "pub@example.org", &[]).await;
    assert_eq!(claims["aud"], public_id);
    for alg in ["ES256", "EdDSA", "RS256"] {
        let (id, secret) = app
            .create_client(CreateClient {
                name: format!("{alg} app"),
                redirect_uris: vec![REDIRECT_URI.into()],
                first_party: true,
                id_token_alg: Some(alg.into()),
                ..Default::default()
            })
            .await;
        let (claims, token) =
            full_login(&app, &id, secret.as_deref(), "pub@example.org", &[]).await;
        let header: serde_json::Value = serde_json::from_slice(
            &nyckel::crypto::b64_decode(
                token
                    .id_token()
                    .expect("id")
                    .to_string()
                    .split('.')
                    .next()
                    .expect("h"),
            )
            .expect("b64"),
        )
        .expect("json");
        assert_eq!(header["alg"], alg);
        assert_eq!(claims["aud"], id);
    }
}

#[tokio::test]
async fn organisation_claims_follow_the_contract() {
    let app = TestApp::spawn_password_only_admins("an organisation admin logs in with a password to a relying party; the claims are under test").await;
    app.create_user("coach@example.org").await;
    let ifk = app.create_org("IFK", "ifk").await;
    let gais = app.create_org("GAIS", "gais").await;
    app.add_member("ifk", "coach@example.org", &["admin", "coach"])
        .await;
    app.add_member("gais", "coach@example.org", &["member"])
        .await;
    let (id, secret) = app.web_client().await;

    // All memberships with scope orgs; no active organisation without one being asked for.
    let (claims, token) = full_login(&app, &id, Some(&secret), "coach@example.org", &[]).await;
    assert_eq!(
        claims["orgs"][&ifk],
        serde_json::json!({"slug": "ifk", "name": "IFK", "roles": ["admin", "coach"]})
    );
    assert_eq!(
        claims["orgs"][&gais]["roles"],
        serde_json::json!(["member"])
    );
    assert!(claims.get("org_id").is_none());
    assert!(
        payload(token.access_token().secret()).get("orgs").is_none(),
        "access tokens never carry other organisations' roles"
    );

    // An active organisation by slug: org_id and org_roles in ID token and access token.
    let (claims, token) = full_login(
        &app,
        &id,
        Some(&secret),
        "coach@example.org",
        &[("organization", "gais")],
    )
    .await;
    assert_eq!(claims["org_id"], gais);
    assert_eq!(claims["org_roles"], serde_json::json!(["member"]));
    let at = payload(token.access_token().secret());
    assert_eq!(at["org_id"], gais);
    assert_eq!(at["org_roles"], serde_json::json!(["member"]));
    assert!(at.get("orgs").is_none());
}
