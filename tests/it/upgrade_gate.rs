//! Settings new in a release wait for the upgrade to finish, and a node older than the
//! finished upgrade stops serving (issue 15, docs/upgrades.md "Settings new in a release";
//! `nyckel::upgrade`). The first gated setting: a client's `require_two_factors`, which
//! an older node would ignore.

use serde_json::json;

use crate::cli::nyckel;
use crate::helpers::admin::World;
use crate::helpers::api::{Api, Reply};
use crate::helpers::authorize::auth_url;
use crate::helpers::browser::Browser;
use crate::helpers::{REDIRECT_URI, TestApp};

/// Pretends the installation was upgraded from 0.2.0 and not finished since.
async fn unfinished(app: &TestApp) {
    sqlx::query("delete from installation_settings where name = 'finished_version'")
        .execute(app.state.db.pool())
        .await
        .expect("unfinish");
}

/// A node row as a node of `version` writes it, seen now.
async fn node_seen(app: &TestApp, node: &str, version: &str, ago: i64) {
    let at = nyckel::cli::now() - ago;
    nyckel::store::cluster::heartbeat(&app.state.db, node, version, at, at)
        .await
        .expect("heartbeat");
}

#[tokio::test]
async fn a_new_setting_is_refused_until_the_upgrade_is_finished() {
    let w = World::new().await;
    let app = &w.app;
    // A database this version created is finished at once: the setting can be switched on.
    let status = nyckel::upgrade::status(&app.state.db, nyckel::cli::now())
        .await
        .expect("status");
    assert_eq!(status.finished.as_deref(), Some(nyckel::upgrade::CURRENT));
    let console = w.api_2fa(&w.superadmin).await;
    let made = register(&console, "Strict", true).await;
    made.expect(201);
    assert_eq!(made.json["require_two_factors"], true);
    let strict = made.str("client_id");
    assert_stepped_up(app, strict, &w.member_a.id).await;

    // Upgraded from 0.2.0, not finished: refused with what to do, through the API and the
    // CLI; nothing changes.
    unfinished(app).await;
    let plain = register(&console, "Plain", false).await;
    plain.expect(201);
    let id = plain.str("client_id").to_string();
    let refused = console
        .patch(
            &format!("/clients/{id}"),
            &json!({ "require_two_factors": true }),
        )
        .await;
    refused.expect(409);
    assert!(
        refused.text.contains("nyckel upgrade finish"),
        "{}",
        refused.text
    );
    let refused = register(&console, "Strict 2", true).await;
    refused.expect(409);
    let client = nyckel::store::clients::find(&app.state.db, &id)
        .await
        .expect("db")
        .expect("client");
    assert!(!client.require_two_factors);
    // Switching it off, and other changes, are never held back.
    console
        .patch(&format!("/clients/{id}"), &json!({ "name": "Plain app" }))
        .await
        .expect(200);

    let dir = app
        .state
        .config
        .data_dir
        .parent()
        .expect("dir")
        .to_path_buf();
    let url = app.state.config.database_url();
    let args = ["client", "update", &id, "--require-two-factors", "true"];
    if app.state.db.backend() == nyckel::store::Backend::Sqlite {
        // SQLite is one process on one host: no older node can serve beside this one, so
        // any start of this version finishes the upgrade (here the CLI's).
        let (ok, _, err) = nyckel(&dir, &url, &args, None);
        assert!(ok, "{err}");
        let finished = nyckel::upgrade::finished(&app.state.db).await.expect("db");
        assert_eq!(finished, Some(nyckel::upgrade::Version::current()));
        return;
    }
    let (ok, _, err) = nyckel(&dir, &url, &args, None);
    assert!(!ok && err.contains("nyckel upgrade finish"), "{err}");

    // Finishing is refused while a node of an older release is live, naming it.
    node_seen(app, "old-node/1", "0.2.0", 5).await;
    let (ok, _, err) = nyckel(&dir, &url, &["upgrade", "finish"], None);
    assert!(!ok, "finished with an older node live");
    assert!(err.contains("old-node/1 (0.2.0)"), "{err}");
    let (ok, out, err) = nyckel(&dir, &url, &["upgrade", "status", "--json"], None);
    assert!(ok, "{err}");
    let s: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(s["can_finish"], false, "{s}");
    assert!(s["finished"].is_null(), "{s}");

    // Once it is gone (not seen for a minute), finishing works, and so does the setting.
    node_seen(app, "old-node/1", "0.2.0", 120).await;
    let (ok, out, err) = nyckel(&dir, &url, &["upgrade", "finish"], None);
    assert!(ok, "{err}");
    assert!(out.contains(nyckel::upgrade::CURRENT), "{out}");
    let (ok, _, err) = nyckel(&dir, &url, &args, None);
    assert!(ok, "{err}");

    assert_stepped_up(app, &id, &w.member_a.id).await;
}

/// Registers an installation client through the API, requiring two factors when `strict`.
async fn register(api: &Api, name: &str, strict: bool) -> Reply {
    let mut body = json!({ "name": name, "redirect_uris": [REDIRECT_URI] });
    if strict {
        body["require_two_factors"] = json!(true);
    }
    api.post("/clients", &body).await
}

/// A password-only session of `user` is asked for a second factor at `client`.
async fn assert_stepped_up(app: &TestApp, client: &str, user: &str) {
    let (b, _) = Browser::signed_in(app, user).await;
    let page = b.get(&auth_url(app, client, &[])).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let to = page.location.as_deref().unwrap_or_default();
    assert!(to.starts_with("/login/second"), "stepped up: {to}");
}

#[tokio::test]
async fn a_node_older_than_the_finished_upgrade_stops_serving() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let (client, _) = app.web_client().await;
    let b = app.browser();
    assert_eq!(b.get(&auth_url(&app, &client, &[])).await.status, 303);

    // A newer release finished its upgrade; this node learns it at its next heartbeat.
    nyckel::store::cluster::set_finished_version(db, "99.0.0", app.state.now())
        .await
        .expect("finished");
    nyckel::upgrade::heartbeat(db, "this/1", 0, app.state.now(), &app.state.outdated)
        .await
        .expect("heartbeat");
    let page = b.get(&auth_url(&app, &client, &[])).await;
    assert_eq!(page.status, 503);
    assert!(page.headers.contains_key("retry-after"));
    let http = app.http();
    let ready = http.get(app.url("/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), 503);
    let live = http
        .get(app.url("/health/live"))
        .send()
        .await
        .expect("live");
    assert_eq!(live.status(), 200);
    let token = http
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(token.status(), 503);

    // Its own record says what it runs; a node of the newest release would serve again.
    let nodes = nyckel::store::cluster::seen_since(db, 0)
        .await
        .expect("nodes");
    assert!(
        nodes
            .iter()
            .any(|n| n.node == "this/1" && n.version == nyckel::upgrade::CURRENT),
        "{nodes:?}"
    );
    nyckel::store::cluster::set_finished_version(db, nyckel::upgrade::CURRENT, app.state.now())
        .await
        .expect("finished");
    nyckel::upgrade::heartbeat(db, "this/1", 0, app.state.now(), &app.state.outdated)
        .await
        .expect("heartbeat");
    assert_eq!(b.get(&auth_url(&app, &client, &[])).await.status, 303);
}
