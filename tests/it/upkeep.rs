//! Retention (SECURITY.md 14.2.7): expired sessions, codes, refresh tokens and grants are
//! deleted by the upkeep job; live ones stay.

use crate::helpers::browser::query;
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::token::{Auth, redeem};
use crate::helpers::{PASSWORD, TestApp};

async fn count(app: &TestApp, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(&format!("select count(*) from {table}"))
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    n
}

#[tokio::test]
async fn expired_rows_are_purged_and_live_ones_kept() {
    let app = TestApp::spawn().await;
    app.create_user("old@example.org").await;
    let (id, secret) = app.web_client().await;
    let browser = app.browser();
    let pkce = Pkce::new();
    let page = browser
        .authorize_and_login(
            &authorize_url(&app.issuer, &id, "openid", "s", Some(&pkce), &[]),
            "old@example.org",
            PASSWORD,
        )
        .await;
    let code = query(&page.location.expect("redirect"))["code"].clone();
    let answer = redeem(&app, Auth::Basic(&id, &secret), &code, Some(&pkce.verifier)).await;
    assert!(answer.json["refresh_token"].is_string());

    assert_eq!(
        nyckel::upkeep::purge_expired(&app.state).await,
        0,
        "nothing expired yet"
    );
    for table in ["sessions", "auth_codes", "refresh_tokens", "grants"] {
        assert_eq!(count(&app, table).await, 1, "{table}");
    }
    // Past the session's absolute timeout and the refresh family's end, plus a day.
    app.advance(app.state.config.tokens.refresh_absolute_ttl + 2 * 86400);
    assert!(nyckel::upkeep::purge_expired(&app.state).await >= 4);
    for table in ["sessions", "auth_codes", "refresh_tokens", "grants"] {
        assert_eq!(count(&app, table).await, 0, "{table}");
    }
    assert_eq!(count(&app, "users").await, 1, "accounts are not touched");
}
