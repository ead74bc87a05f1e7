//! The restore drill (issue 6, done-when 4; SECURITY.md R4; issue 15): back up a serving
//! installation, destroy its database, then on a fresh machine holding only what is kept
//! offline (configuration, master key file, backup identity) list, verify (signature first)
//! and restore the newest signed backup and start the server on it: a token issued before the
//! backup still validates and the person logs in through the OIDC flow again.

use crate::backup::{Site, empty_database};
use crate::cli::{create_user, create_web_client, nyckel};
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
    let browser = Browser::at(node.addr, &base);
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
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
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

    // A fresh machine with only what is kept offline: the configuration, the master key file
    // and the backup identity. The newest backup signed by this installation is restored.
    let fresh_dir = tempfile::tempdir().expect("dir");
    let fresh = fresh_dir.path();
    std::fs::create_dir_all(fresh.join("keys")).expect("keys");
    std::fs::copy(d.join("nyckel.toml"), fresh.join("nyckel.toml")).expect("config");
    std::fs::copy(d.join("keys/master.key"), fresh.join("keys/master.key")).expect("master key");
    std::fs::copy(&site.identity, fresh.join("identity.txt")).expect("identity");
    let restored_db = empty_database(fresh, postgres).await;
    let restored = restored_db.url.clone();
    let drill = |args: &[&str]| {
        let mut all = vec!["backup"];
        all.extend_from_slice(args);
        let (ok, out, err) = nyckel(fresh, &restored, &all, None);
        assert!(ok, "backup {args:?}: {out}\n{err}");
        out
    };
    let listed: serde_json::Value =
        serde_json::from_str(drill(&["list", "--json"]).trim()).expect("json");
    let newest = listed["items"][0]["backups"]
        .as_array()
        .expect("backups")
        .iter()
        .rev()
        .find(|b| b["complete"] == true && b["signature"] == "trusted")
        .expect("a signed backup")["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(newest, id);
    drill(&["verify", &id, "--identity", "identity.txt"]);
    drill(&[
        "restore",
        &id,
        "--identity",
        "identity.txt",
        "--into",
        &restored,
    ]);

    let node = ServerProcess::spawn(fresh, &restored, &listen, &issuer, &[]);
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
