//! The restore drill (issue 6, done-when 4; SECURITY.md R4; issue 15): back up a serving
//! installation, destroy its database, then on a fresh machine holding only what is kept
//! offline (configuration, master key file, backup identity) list, verify (signature first)
//! and restore the newest signed backup and start the server on it: a token issued before the
//! backup still validates and the person logs in through the OIDC flow again.

use crate::backup::{Site, empty_database};
use crate::helpers::nodes::{Client, code_at, field, redeem, userinfo};
use crate::helpers::ops::{Cli, Install, on_postgres};
use crate::helpers::process::{ServerProcess, chosen_address};

/// Logs `email` in at `node` through the OIDC flow; the token response.
async fn login(node: &ServerProcess, client: &Client, email: &str) -> serde_json::Value {
    let code = code_at(&node.browser(), &node.base(), &client.0, email).await;
    redeem(&node.http(), &node.base(), client, &code).await
}

#[tokio::test]
async fn restore_drill_old_tokens_validate_and_people_log_in() {
    let install = Install::new().await;
    let (d, url) = (install.path(), install.url());
    let postgres = on_postgres();
    install.person("drill@example.org");
    let client = install.web_client("App", &[]);

    let (listen, issuer) = chosen_address();
    let node = install.serve(&listen, &issuer, &[]);
    let before = login(&node, &client, "drill@example.org").await;
    let access = field(&before, "access_token");
    assert_eq!(
        userinfo(&node.http(), &node.base(), &access).await.status(),
        200
    );
    drop(node);

    let site = Site::new(d);
    let id = site.run(url);

    // Destroy the database.
    if postgres {
        let db = install.db().await;
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
    let restored = Cli::new(fresh, &restored_db.url);
    let drill = |args: &[&str]| restored.ok(&[&["backup"][..], args].concat());
    let listed = restored.json(&["backup", "list"]);
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
        restored.url(),
    ]);

    let node = restored.serve(&listen, &issuer, &[]);
    let res = userinfo(&node.http(), &node.base(), &access).await;
    assert_eq!(
        res.status(),
        200,
        "a token issued before the backup validates"
    );
    let info: serde_json::Value = res.json().await.expect("json");
    assert!(info["sub"].is_string(), "{info}");
    let after = login(&node, &client, "drill@example.org").await;
    assert!(
        after["id_token"].is_string(),
        "login after restore: {after}"
    );
    assert!(after["access_token"].is_string());
    drop(node);
}
