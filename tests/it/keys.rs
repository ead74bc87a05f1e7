//! Signing-key rotation (SECURITY.md O21, R6): `keys rotate` pre-publishes the next key, which
//! signs nothing until its activation; tokens signed by the retired key keep verifying until
//! they expire; the retired key leaves JWKS only after the longest token lifetime plus the
//! configured margin. Also the `keys` CLI.

use crate::helpers::TestApp;
use crate::helpers::token::{Auth, confidential_client, decode, introspect, token};

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks: serde_json::Value = app.get_json("/jwks").await;
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["kid"].as_str().expect("kid").to_string())
        .collect()
}

async fn m2m_token(app: &TestApp, id: &str, secret: &str) -> (String, String) {
    let answer = token(
        app,
        Auth::Basic(id, secret),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let jwt = answer.str("access_token").to_string();
    let kid = decode(&jwt).0["kid"].as_str().expect("kid").to_string();
    (jwt, kid)
}

#[tokio::test]
async fn rotation_prepublishes_then_switches_and_retains_the_old_key() {
    let app = TestApp::spawn().await;
    let (id, secret) = confidential_client(&app, &["client_credentials"]).await;
    let prepublish = app.state.config.keys.prepublish;
    let (_, k1) = m2m_token(&app, &id, &secret).await;
    assert_eq!(jwks_kids(&app).await.len(), 3);

    let created = app
        .state
        .keys
        .rotate(app.state.now(), prepublish)
        .await
        .expect("rotate");
    assert_eq!(created.len(), 3, "one new key per algorithm");
    let k2 = created
        .iter()
        .find(|(alg, _)| alg.name() == "ES256")
        .map(|(_, kid)| kid.clone())
        .expect("ES256 key");
    let kids = jwks_kids(&app).await;
    assert_eq!(kids.len(), 6, "the next keys are published before use");
    assert!(kids.contains(&k2));
    let (_, kid) = m2m_token(&app, &id, &secret).await;
    assert_eq!(kid, k1, "a pending key signs nothing");

    // Just before activation: a token by the old key.
    app.advance(prepublish - 60);
    let (old_token, kid) = m2m_token(&app, &id, &secret).await;
    assert_eq!(kid, k1);
    // After activation: new tokens use the new key; the old token still verifies.
    app.advance(120);
    let (_, kid) = m2m_token(&app, &id, &secret).await;
    assert_eq!(kid, k2, "the new key signs once active");
    let answer = introspect(&app, Auth::Basic(&id, &secret), &old_token).await;
    assert_eq!(
        answer.json["active"], true,
        "tokens of the retired key stay valid until exp"
    );
    assert!(
        jwks_kids(&app).await.contains(&k1),
        "the retired key is still published"
    );

    // After the longest token lifetime plus the margin, the retired key is gone.
    app.advance(app.state.keys.retention() + 1);
    let kids = jwks_kids(&app).await;
    assert!(!kids.contains(&k1), "the retired key left JWKS");
    assert_eq!(kids.len(), 3);
}

#[tokio::test]
async fn keys_cli_lists_and_rotates() {
    let cli = crate::helpers::ops::Install::new().await;
    let listed = cli.json(&["keys", "list"]);
    let keys = listed["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k["status"] == "current"));
    let rotated = cli.json(&["keys", "rotate"]);
    let keys = rotated["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 6);
    assert_eq!(keys.iter().filter(|k| k["status"] == "pending").count(), 3);
    // A second rotation while keys are pending creates nothing new.
    let again = cli.json(&["keys", "rotate"]);
    assert_eq!(again["keys"].as_array().expect("keys").len(), 6);
}
