//! The authorization_code grant: happy paths verified with the `openidconnect` crate as the
//! relying party, PKCE (including the downgrade O3), code binding to client and redirect URI
//! (O7), single use with revocation on reuse (O6, 10.4.2), expiry (10.4.3), org claims.

use std::str::FromStr;

use openidconnect::core::{CoreIdToken, CoreIdTokenVerifier, CoreJwsSigningAlgorithm};
use openidconnect::{AccessToken, AccessTokenHash, ClientId, ClientSecret, IssuerUrl, Nonce};

use crate::helpers::REDIRECT_URI;
use crate::helpers::TestApp;
use crate::helpers::flows::Pkce;
use crate::helpers::login::audit;
use crate::helpers::token::{
    Auth, CodeSpec, active, confidential_client, decode, issue_code, jwks, public_client,
    public_tokens, redeem, refresh, token, verify_with_jwks, web_client_code,
};

#[tokio::test]
async fn confidential_client_code_exchange_verifies_with_openidconnect_including_nonce_and_at_hash()
{
    let app = TestApp::spawn().await;
    let (id, secret) = app.web_client().await;
    let sub = app.create_user("ada@example.org").await;
    let nonce = "n-0S6_WzA2Mj";
    let (code, grant_id) = issue_code(
        &app,
        CodeSpec {
            nonce: Some(nonce),
            ..CodeSpec::new(&id, &sub)
        },
    )
    .await;

    let res = redeem(&app, Auth::Basic(&id, &secret), &code, None).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res.assert_no_store();
    assert_eq!(res.headers["pragma"], "no-cache");
    assert_eq!(res.str("token_type"), "Bearer");
    assert_eq!(res.str("scope"), "openid email profile");
    assert!(res.str("refresh_token").len() >= 43);

    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(id.clone()),
        ClientSecret::new(secret.clone()),
        IssuerUrl::new(app.issuer.clone()).expect("issuer URL"),
        jwks(&app).await,
    )
    .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let id_token = CoreIdToken::from_str(res.str("id_token")).expect("ID token parses");
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce.to_string()))
        .expect("ID token verifies: signature, iss, aud, exp, nonce");
    assert_eq!(claims.subject().as_str(), sub);
    let access_token = AccessToken::new(res.str("access_token").to_string());
    let expected = AccessTokenHash::from_token(
        &access_token,
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(
        claims.access_token_hash(),
        Some(&expected),
        "at_hash matches"
    );
    // A wrong nonce fails verification (the check can fail).
    assert!(
        id_token
            .claims(&verifier, &Nonce::new("other".into()))
            .is_err()
    );

    let (_, raw) = decode(res.str("id_token"));
    assert_eq!(raw["email"], "ada@example.org");
    assert_eq!(raw["email_verified"], false);
    assert_eq!(raw["name"], "Test Person");
    assert_eq!(raw["amr"], serde_json::json!(["pwd"]));
    assert_eq!(raw["acr"], "urn:nyckel:acr:1fa");
    assert!(raw["sid"].is_string() && raw["auth_time"].is_i64());
    assert!(
        raw.get("orgs").is_none(),
        "no orgs claim without the orgs scope"
    );

    let (header, at) = verify_with_jwks(&app, res.str("access_token")).await;
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(at["sub"], sub.as_str());
    assert_eq!(at["client_id"], id.as_str());
    assert_eq!(at["gid"], grant_id.as_str());
    assert_eq!(at["scope"], "openid email profile");
    assert_eq!(at["sid"], raw["sid"]);
}

#[tokio::test]
async fn public_client_with_pkce_gets_an_eddsa_id_token_openidconnect_accepts() {
    let app = TestApp::spawn().await;
    let id = public_client(&app, "EdDSA").await;
    let sub = app.create_user("bo@example.org").await;
    let Pkce {
        verifier,
        challenge,
    } = Pkce::new();
    let (code, _) = issue_code(
        &app,
        CodeSpec {
            code_challenge: Some(challenge),
            nonce: Some("abc"),
            ..CodeSpec::new(&id, &sub)
        },
    )
    .await;
    let res = redeem(&app, Auth::Public(&id), &code, Some(&verifier)).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let (header, _) = decode(res.str("id_token"));
    assert_eq!(header["alg"], "EdDSA");
    let oidc = CoreIdTokenVerifier::new_public_client(
        ClientId::new(id.clone()),
        IssuerUrl::new(app.issuer.clone()).expect("issuer URL"),
        jwks(&app).await,
    )
    .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EdDsa]);
    let id_token = CoreIdToken::from_str(res.str("id_token")).expect("parses");
    let claims = id_token
        .claims(&oidc, &Nonce::new("abc".into()))
        .expect("verifies");
    let expected = AccessTokenHash::from_token(
        &AccessToken::new(res.str("access_token").to_string()),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&oidc).expect("key"),
    )
    .expect("hash");
    assert_eq!(
        claims.access_token_hash(),
        Some(&expected),
        "EdDSA at_hash uses SHA-512"
    );
}

#[tokio::test]
async fn es256_id_tokens_verify_too() {
    let app = TestApp::spawn().await;
    let (id, _, res) = public_tokens(&app, "ES256", "cy@example.org").await;
    assert_eq!(res.status, 200, "{}", res.json);
    let (header, claims) = verify_with_jwks(&app, res.str("id_token")).await;
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(claims["aud"], id.as_str());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
}

#[tokio::test]
async fn wrong_or_missing_pkce_verifier_is_invalid_grant_and_burns_the_code() {
    let app = TestApp::spawn().await;
    let id = public_client(&app, "RS256").await;
    let sub = app.create_user("di@example.org").await;
    let Pkce {
        verifier,
        challenge,
    } = Pkce::new();
    let (code, _) = issue_code(
        &app,
        CodeSpec {
            code_challenge: Some(challenge.clone()),
            ..CodeSpec::new(&id, &sub)
        },
    )
    .await;
    let Pkce {
        verifier: other, ..
    } = Pkce::new();
    let res = redeem(&app, Auth::Public(&id), &code, Some(&other)).await;
    res.expect_error(400, "invalid_grant");
    // The code is used up: the right verifier no longer helps.
    let res = redeem(&app, Auth::Public(&id), &code, Some(&verifier)).await;
    assert_eq!(res.error(), "invalid_grant");

    let (code, _) = issue_code(
        &app,
        CodeSpec {
            code_challenge: Some(challenge),
            ..CodeSpec::new(&id, &sub)
        },
    )
    .await;
    let res = redeem(&app, Auth::Public(&id), &code, None).await;
    assert_eq!(
        res.error(),
        "invalid_grant",
        "a stored challenge requires a verifier"
    );
}

#[tokio::test]
async fn verifier_without_challenge_is_refused_o3() {
    let app = TestApp::spawn().await;
    let (id, secret, _, code) = web_client_code(&app, "ed@example.org").await;
    let Pkce { verifier, .. } = Pkce::new();
    let res = redeem(&app, Auth::Basic(&id, &secret), &code, Some(&verifier)).await;
    res.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn redirect_uri_must_match_exactly() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.web_client().await;
    let sub = app.create_user("fi@example.org").await;
    for wrong in [
        format!("{REDIRECT_URI}/"),
        REDIRECT_URI.to_uppercase(),
        format!("{REDIRECT_URI}?x=1"),
    ] {
        let (code, _) = issue_code(&app, CodeSpec::new(&id, &sub)).await;
        let res = token(
            &app,
            Auth::Basic(&id, &secret),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &wrong),
            ],
        )
        .await;
        assert_eq!(res.error(), "invalid_grant", "{wrong}");
    }
    let (code, _) = issue_code(&app, CodeSpec::new(&id, &sub)).await;
    let res = token(
        &app,
        Auth::Basic(&id, &secret),
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_eq!(res.error(), "invalid_request", "redirect_uri is required");
    let res = redeem(&app, Auth::Basic(&id, &secret), &code, None).await;
    assert_eq!(
        res.status, 200,
        "a missing parameter does not burn the code"
    );
}

#[tokio::test]
async fn another_clients_code_is_refused_and_burnt_o7() {
    let app = TestApp::spawn().await;
    let (a, a_secret) = app.web_client().await;
    let (b, b_secret) = app.web_client().await;
    let sub = app.create_user("gu@example.org").await;
    let (code, _) = issue_code(&app, CodeSpec::new(&a, &sub)).await;
    let res = redeem(&app, Auth::Basic(&b, &b_secret), &code, None).await;
    res.expect_error(400, "invalid_grant");
    let res = redeem(&app, Auth::Basic(&a, &a_secret), &code, None).await;
    assert_eq!(
        res.error(),
        "invalid_grant",
        "the code was burnt by the failed attempt"
    );
}

#[tokio::test]
async fn code_reuse_revokes_the_tokens_of_the_first_redemption_o6() {
    let app = TestApp::spawn().await;
    let (id, secret, _, code) = web_client_code(&app, "ha@example.org").await;
    let first = redeem(&app, Auth::Basic(&id, &secret), &code, None).await;
    assert_eq!(first.status, 200);
    let access = first.str("access_token").to_string();
    let refresh_token = first.str("refresh_token").to_string();
    assert!(
        active(&app, Auth::Basic(&id, &secret), &access).await,
        "live before the reuse"
    );

    let second = redeem(&app, Auth::Basic(&id, &secret), &code, None).await;
    second.expect_error(400, "invalid_grant");

    for (token, what) in [(&access, "access"), (&refresh_token, "refresh")] {
        assert!(
            !active(&app, Auth::Basic(&id, &secret), token).await,
            "{what} token from the first redemption is dead"
        );
    }
    let res = refresh(&app, Auth::Basic(&id, &secret), &refresh_token).await;
    assert_eq!(res.error(), "invalid_grant");
    let events = audit(&app, "code_reused").await;
    assert_eq!(events.len(), 1, "the reuse is in the audit log");
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let (id, secret, _, code) = web_client_code(&app, "io@example.org").await;
    app.advance(app.state.config.tokens.code_ttl + 1);
    let res = redeem(&app, Auth::Basic(&id, &secret), &code, None).await;
    res.expect_error(400, "invalid_grant");
    let res = redeem(&app, Auth::Basic(&id, &secret), "not-a-code", None).await;
    assert_eq!(res.error(), "invalid_grant");
}

#[tokio::test]
async fn without_openid_there_is_no_id_token_and_without_refresh_grant_no_refresh_token() {
    let app = TestApp::spawn().await;
    let (id, secret) = confidential_client(&app, &["authorization_code"]).await;
    let sub = app.create_user("ju@example.org").await;
    let (code, _) = issue_code(
        &app,
        CodeSpec {
            scope: "email",
            ..CodeSpec::new(&id, &sub)
        },
    )
    .await;
    let res = redeem(&app, Auth::Post(&id, &secret), &code, None).await;
    assert_eq!(res.status, 200, "{}", res.json);
    assert!(res.json.get("id_token").is_none());
    assert!(res.json.get("refresh_token").is_none());
}

#[tokio::test]
async fn active_organisation_roles_and_orgs_claim_follow_the_client_restriction() {
    let app = TestApp::spawn().await;
    let club = app.create_org("IFK Nyckel", "ifk-nyckel").await;
    let other = app.create_org("Other Club", "other-club").await;
    let sub = app.create_user("ka@example.org").await;
    app.add_member(&club, "ka@example.org", &["coach", "member"])
        .await;
    app.add_member(&other, "ka@example.org", &["admin"]).await;
    let (id, secret) = app
        .create_client(nyckel::admin::clients::CreateClient {
            name: "Club app".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            organisations: vec![club.clone()],
            ..Default::default()
        })
        .await;
    let secret = secret.expect("secret");
    let (code, _) = issue_code(
        &app,
        CodeSpec {
            scope: "openid orgs",
            organisation_id: Some(&club),
            ..CodeSpec::new(&id, &sub)
        },
    )
    .await;
    let res = redeem(&app, Auth::Basic(&id, &secret), &code, None).await;
    assert_eq!(res.status, 200, "{}", res.json);
    let (_, at) = decode(res.str("access_token"));
    assert_eq!(at["org_id"], club.as_str());
    assert_eq!(at["org_roles"], serde_json::json!(["coach", "member"]));
    assert!(
        at.get("orgs").is_none(),
        "access tokens carry no other organisation's roles"
    );
    let (_, idt) = decode(res.str("id_token"));
    assert_eq!(idt["org_id"], club.as_str());
    assert_eq!(idt["org_roles"], serde_json::json!(["coach", "member"]));
    let orgs = idt["orgs"].as_object().expect("orgs claim");
    assert_eq!(
        orgs.len(),
        1,
        "only organisations visible to the client: {orgs:?}"
    );
    assert_eq!(orgs[&club]["slug"], "ifk-nyckel");
    assert!(!orgs.contains_key(&other));
}
