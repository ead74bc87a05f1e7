//! Several nodes on one database: a session and a refresh token created through one node are
//! accepted by the other (all state lives in the database). Two real `nyckel serve` processes.

use crate::helpers::browser::query;
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::nodes::{code_at, field, redeem, refresh};
use crate::helpers::ops::Install;
use crate::helpers::process::chosen_address;

#[tokio::test]
async fn session_and_refresh_token_from_one_node_are_accepted_by_the_other() {
    let install = Install::new().await;
    install.person("node@example.org");
    let client = install.web_client("App", &[]);
    let (listen_a, issuer) = chosen_address();
    let node_a = install.serve(&listen_a, &issuer, &[]);
    let node_b = install.serve("127.0.0.1:0", &issuer, &[]);
    let (a, b) = (node_a.base(), node_b.base());

    // Log in through node A.
    let browser = node_a.browser();
    let code = code_at(&browser, &a, &client.0, "node@example.org").await;

    // Node B accepts the session node A created: prompt=none gives a code, not login_required.
    let none = [("prompt", "none")];
    let pkce_b = Pkce::new();
    let page = browser
        .get(&authorize_url(
            &b,
            &client.0,
            "openid",
            "s2",
            Some(&pkce_b),
            &none,
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
    let http = node_b.http();
    let r1 = field(&redeem(&http, &b, &client, &code).await, "refresh_token");
    let r2 = field(&refresh(&http, &a, &client, &r1).await, "refresh_token");
    let t3 = refresh(&http, &b, &client, &r2).await;
    assert!(
        t3["access_token"].is_string(),
        "node B accepts node A's refresh token: {t3}"
    );
    drop(node_b);
    drop(node_a);
}
