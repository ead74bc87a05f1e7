//! The token endpoint's client authentication, client_credentials, and refusals that do not
//! depend on the grant: unsupported grant types, credentials in the URL, malformed bodies.

use reqwest::RequestBuilder;

use crate::helpers::TestApp;
use crate::helpers::api::{Reply, read};
use crate::helpers::token::{Auth, confidential_client, public_client, token, verify_with_jwks};

#[tokio::test]
async fn client_credentials_with_basic_and_post_give_an_at_jwt_signed_with_a_published_key() {
    let app = TestApp::spawn().await;
    let (id, secret) = confidential_client(&app, &["client_credentials"]).await;
    for auth in [Auth::Basic(&id, &secret), Auth::Post(&id, &secret)] {
        let res = token(
            &app,
            auth,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "openid email api:read"),
            ],
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.json);
        res.assert_no_store();
        assert_eq!(res.headers["pragma"], "no-cache");
        assert_eq!(res.str("token_type"), "Bearer");
        assert_eq!(
            res.json["expires_in"],
            app.state.config.tokens.access_token_ttl
        );
        // Person scopes and unknown scopes are not granted to a client acting for itself.
        assert_eq!(res.str("scope"), "");
        assert!(res.json.get("refresh_token").is_none());
        assert!(res.json.get("id_token").is_none());
        let (header, claims) = verify_with_jwks(&app, res.str("access_token")).await;
        assert_eq!(header["typ"], "at+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(claims["iss"], app.issuer.as_str());
        assert_eq!(claims["sub"], id.as_str());
        assert_eq!(claims["client_id"], id.as_str());
        assert_eq!(claims["aud"], id.as_str());
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22));
        assert_eq!(
            claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"),
            app.state.config.tokens.access_token_ttl
        );
        assert!(claims.get("gid").is_none());
    }
}

#[tokio::test]
async fn wrong_or_missing_client_credentials_get_401_with_www_authenticate() {
    let app = TestApp::spawn().await;
    let (id, secret) = confidential_client(&app, &["client_credentials"]).await;
    let wrong = format!("{secret}x");
    let cases = [
        Auth::Basic(&id, &wrong),
        Auth::Post(&id, &wrong),
        Auth::Basic("no-such-client", &secret),
        // A confidential client naming itself without a secret.
        Auth::Public(&id),
        Auth::None,
    ];
    for auth in cases {
        let res = token(&app, auth, &[("grant_type", "client_credentials")]).await;
        assert_eq!(res.status, 401, "{}", res.json);
        assert_eq!(res.error(), "invalid_client");
        assert!(res.headers.contains_key("www-authenticate"));
        res.assert_no_store();
        // Always the same text: no hint which part was wrong.
        assert_eq!(
            res.json["error_description"],
            "client authentication failed"
        );
    }
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_an_invalid_request() {
    let app = TestApp::spawn().await;
    let (id, secret) = confidential_client(&app, &["client_credentials"]).await;
    let both = [
        ("grant_type", "client_credentials"),
        ("client_id", &id),
        ("client_secret", &secret),
    ];
    let res = post_as(&app, "/token", |r| {
        r.basic_auth(&id, Some(&secret)).form(&both)
    })
    .await;
    res.expect_error(400, "invalid_request");
}

#[tokio::test]
async fn public_clients_and_clients_without_the_grant_are_unauthorized() {
    let app = TestApp::spawn().await;
    let public = public_client(&app, "RS256").await;
    let res = token(
        &app,
        Auth::Public(&public),
        &[("grant_type", "client_credentials")],
    )
    .await;
    res.expect_error(400, "unauthorized_client");

    let (id, secret) = confidential_client(&app, &["authorization_code"]).await;
    let res = token(
        &app,
        Auth::Basic(&id, &secret),
        &[("grant_type", "client_credentials")],
    )
    .await;
    res.expect_error(400, "unauthorized_client");
    let res = token(
        &app,
        Auth::Basic(&id, &secret),
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_eq!(res.error(), "unauthorized_client");
}

#[tokio::test]
async fn password_implicit_and_unknown_grant_types_are_unsupported() {
    let app = TestApp::spawn().await;
    let (id, secret) =
        confidential_client(&app, &["authorization_code", "client_credentials"]).await;
    for grant in [
        "password",
        "implicit",
        "token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ] {
        let res = token(
            &app,
            Auth::Basic(&id, &secret),
            &[
                ("grant_type", grant),
                ("username", "a@example.org"),
                ("password", "x"),
            ],
        )
        .await;
        assert_eq!(res.status, 400, "{grant}");
        assert_eq!(res.error(), "unsupported_grant_type", "{grant}");
        res.assert_no_store();
    }
    let res = token(&app, Auth::Basic(&id, &secret), &[]).await;
    assert_eq!(res.error(), "invalid_request", "missing grant_type");
}

/// POSTs to `path` (the token endpoint, maybe with a query) as `build` makes the request,
/// for what a well-formed token request cannot send.
async fn post_as(
    app: &TestApp,
    path: &str,
    build: impl FnOnce(RequestBuilder) -> RequestBuilder,
) -> Reply {
    read(
        build(app.http().post(app.url(path)))
            .send()
            .await
            .expect("POST"),
    )
    .await
}

#[tokio::test]
async fn credentials_in_the_query_string_and_bad_bodies_get_rfc_json_errors() {
    let app = TestApp::spawn().await;
    let (id, secret) = confidential_client(&app, &["client_credentials"]).await;
    let in_query = format!("/token?client_id={id}&client_secret={secret}");
    let res = post_as(&app, &in_query, |r| {
        r.form(&[("grant_type", "client_credentials")])
    })
    .await;
    res.expect_error(400, "invalid_request");

    let form = "application/x-www-form-urlencoded";
    for (content_type, body) in [
        ("application/json", r#"{"grant_type":"client_credentials"}"#),
        // A repeated parameter (RFC 6749 3.2).
        (form, "grant_type=client_credentials&grant_type=password"),
    ] {
        let res = post_as(&app, "/token", |r| {
            r.basic_auth(&id, Some(&secret))
                .header("content-type", content_type)
                .body(body)
        })
        .await;
        res.expect_error(400, "invalid_request");
    }

    // A body over the limit.
    let huge = format!("grant_type=client_credentials&x={}", "a".repeat(200_000));
    let res = post_as(&app, "/token", |r| {
        r.header("content-type", form).body(huge)
    })
    .await;
    assert!((400..500).contains(&res.status), "{}", res.status);
    assert_eq!(res.error(), "invalid_request", "an RFC 6749 JSON error");
}
