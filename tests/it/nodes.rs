//! Several nodes on one database: a session and a refresh token created through one node are
//! accepted by the other (all state lives in the database). Two real `nyckel serve` processes.

use crate::cli::{create_user, create_web_client};
use crate::flows::{Pkce, authorize_url, post_token};
use crate::helpers::browser::{self, Browser, query};
use crate::helpers::process::{ServerProcess, free_port};
use crate::helpers::{PASSWORD, REDIRECT_URI, db};

#[tokio::test]
async fn session_and_refresh_token_from_one_node_are_accepted_by_the_other() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
    create_user(d, &url, "node@example.org");
    let (client_id, secret) = create_web_client(d, &url);

    let port_a = free_port();
    let issuer = format!("https://localhost:{port_a}");
    let node_a = ServerProcess::spawn(d, &url, &format!("127.0.0.1:{port_a}"), &issuer, &[]);
    let node_b = ServerProcess::spawn(d, &url, "127.0.0.1:0", &issuer, &[]);
    let at = |node: &ServerProcess| format!("https://localhost:{}", node.addr.port());

    // Log in through node A.
    let browser = Browser::at(node_a.addr, &at(&node_a));
    let pkce = Pkce::new();
    let page = browser
        .authorize_and_login(
            &authorize_url(&at(&node_a), &client_id, "openid", "s1", Some(&pkce), &[]),
            "node@example.org",
            PASSWORD,
        )
        .await;
    let loc = page.location.expect("redirect to the client");
    assert!(loc.starts_with(REDIRECT_URI), "{loc}");
    let code = query(&loc)["code"].clone();

    // Node B accepts the session node A created: prompt=none gives a code, not login_required.
    let pkce_b = Pkce::new();
    let page = browser
        .get(&authorize_url(
            &at(&node_b),
            &client_id,
            "openid",
            "s2",
            Some(&pkce_b),
            &[("prompt", "none")],
        ))
        .await;
    let loc_b = page.location.expect("redirect");
    let q = query(&loc_b);
    assert!(
        q.contains_key("code"),
        "node B accepted the session: {loc_b}"
    );
    assert_eq!(q["iss"], issuer);

    // The code from node A is redeemed at node B; the refresh token then rotates across nodes.
    let http = browser::client(node_b.addr, false);
    let tokens = post_token(
        &http,
        &at(&node_b),
        &client_id,
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await;
    let r1 = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let t2 = post_token(
        &http,
        &at(&node_a),
        &client_id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
    )
    .await;
    let r2 = t2["refresh_token"]
        .as_str()
        .expect("rotated at node A")
        .to_string();
    let t3 = post_token(
        &http,
        &at(&node_b),
        &client_id,
        &secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
    )
    .await;
    assert!(
        t3["access_token"].is_string(),
        "node B accepts node A's refresh token: {t3}"
    );
    drop(node_b);
    drop(node_a);
}
