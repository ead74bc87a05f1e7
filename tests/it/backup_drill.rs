//! The restore drill (issue 6, done-when 4; SECURITY.md R4): back up a serving installation,
//! destroy its database, restore into a new one, start the server on it: a token issued
//! before the backup still validates and the person logs in through the OIDC flow again.

use crate::backup::{Site, empty_database};
use crate::cli::{create_user, create_web_client};
use crate::flows::{Pkce, authorize_url, post_token};
use crate::helpers::browser::{self, Browser, query};
use crate::helpers::process::{ServerProcess, free_port};
use crate::helpers::{PASSWORD, REDIRECT_URI, db};

async fn login(
    node: &ServerProcess,
    client_id: &str,
    secret: &str,
    email: &str,
) -> serde_json::Value {
    let base = format!("https://localhost:{}", node.addr.port());
    let browser = Browser {
        client: browser::client(node.addr, true),
        issuer: base.clone(),
    };
    let pkce = Pkce::new();
    let page = browser
        .authorize_and_login(
            &authorize_url(&base, client_id, "openid", "s", Some(&pkce), &[]),
            email,
            PASSWORD,
        )
        .await;
    let loc = page.location.expect("redirect to the client");
    assert!(loc.starts_with(REDIRECT_URI), "{loc}");
    let code = query(&loc)["code"].clone();
    post_token(
        &browser::client(node.addr, false),
        &base,
        client_id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await
}

async fn userinfo(node: &ServerProcess, access_token: &str) -> reqwest::Response {
    browser::client(node.addr, false)
        .get(format!("https://localhost:{}/userinfo", node.addr.port()))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
}

#[tokio::test]
async fn restore_drill_old_tokens_validate_and_people_log_in() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let postgres = db::postgres_url().is_some();
    let url = db::prepare(d).await.url;
    create_user(d, &url, "drill@example.org");
    let (client_id, secret) = create_web_client(d, &url);

    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let issuer = format!("https://localhost:{port}");
    let node = ServerProcess::spawn(d, &url, &listen, &issuer, &[]);
    let before = login(&node, &client_id, &secret, "drill@example.org").await;
    let access = before["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    assert_eq!(userinfo(&node, &access).await.status(), 200);
    drop(node);

    let site = Site::new(d);
    let id = site.run(&url);

    // Destroy the database.
    if postgres {
        let db = crate::backup::connect(&url).await;
        sqlx::raw_sql("drop schema public cascade; create schema public")
            .execute(db.writer())
            .await
            .expect("destroy");
        db.close().await;
    } else {
        let file = url.trim_start_matches("sqlite://");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{file}{suffix}"));
        }
    }

    let restored = empty_database(d, postgres).await;
    let (ok, out, err) = site.restore(&id, &restored);
    assert!(ok, "restore: {out}\n{err}");

    let node = ServerProcess::spawn(d, &restored, &listen, &issuer, &[]);
    let res = userinfo(&node, &access).await;
    assert_eq!(
        res.status(),
        200,
        "a token issued before the backup validates"
    );
    let info: serde_json::Value = res.json().await.expect("json");
    assert!(info["sub"].is_string(), "{info}");
    let after = login(&node, &client_id, &secret, "drill@example.org").await;
    assert!(
        after["id_token"].is_string(),
        "login after restore: {after}"
    );
    assert!(after["access_token"].is_string());
    drop(node);
}
