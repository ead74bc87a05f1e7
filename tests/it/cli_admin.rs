//! The administrative command line, run as the real binary against a real database:
//! organisations, roles, members, invitations, clients, superadmins, sessions, the audit log
//! and key rotation. Each command's `--json` output is checked field by field, and refusals
//! exit non-zero with a message naming the problem.

use serde_json::{Value, json};

use crate::helpers::ops::Install;

/// The words of a command whose arguments hold no spaces.
fn words(command: &str) -> Vec<&str> {
    command.split_whitespace().collect()
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("an items list")
}

fn kinds(v: &Value) -> Vec<String> {
    items(v)
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

/// Asserts that the audit events `log` hold an event of each of `expected` kinds; returns
/// the kinds of every event.
#[track_caller]
fn assert_kinds(log: &Value, expected: &[&str]) -> Vec<String> {
    let got = kinds(log);
    for kind in expected {
        assert!(got.iter().any(|k| k == kind), "{kind} missing from {got:?}");
    }
    got
}

#[tokio::test]
async fn organisations_roles_members_and_invitations_from_the_command_line() {
    let cli = Install::new().await;
    let org = cli.json(&["org", "create", "--name", "Club A", "--slug", "club-a"]);
    let org_id = org["id"].as_str().expect("id").to_string();
    let anna = cli.user("anna@example.org");
    let bo = cli.user("bo@example.org");
    cli.json(&words(
        "org add-member --org club-a --email anna@example.org --role admin",
    ));
    cli.json(&words(
        "org add-member --org club-a --email bo@example.org --role member",
    ));

    // List, show, update.
    let list = cli.json(&["org", "list"]);
    assert_eq!(items(&list).len(), 1);
    let listed = &items(&list)[0];
    assert_eq!(listed["id"], org_id.as_str());
    assert_eq!(listed["slug"], "club-a");
    assert_eq!(listed["name"], "Club A");
    assert_eq!(listed["default_locale"], "sv");
    assert!(listed["created_at"].is_i64());
    assert_eq!(cli.json(&["org", "show", &org_id])["slug"], "club-a");
    let err = cli.fails(&["org", "show", "club-x"]);
    assert!(
        err.contains("no organisation") && err.contains("club-x"),
        "{err}"
    );
    let updated = cli.json(&[
        "org",
        "update",
        "club-a",
        "--name",
        "Club A United",
        "--default-locale",
        "en",
    ]);
    assert_eq!(updated["name"], "Club A United");
    assert_eq!(updated["default_locale"], "en");
    assert_eq!(updated["slug"], "club-a");
    let err = cli.fails(&["org", "update", "club-a"]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = cli.fails(&["org", "update", "club-a", "--default-locale", "de"]);
    assert!(err.contains("de"), "{err}");
    let err = cli.fails(&["org", "update", "club-a", "--slug", "Not A Slug"]);
    assert!(err.contains("not a valid slug"), "{err}");

    // Roles.
    let role = cli.json(&[
        "org",
        "role-set",
        "club-a",
        "treasurer",
        "--description",
        "Keeps the books",
    ]);
    assert_eq!(role["name"], "treasurer");
    assert_eq!(role["description"], "Keeps the books");
    // Without --description the description stays.
    let role = cli.json(&["org", "role-set", "club-a", "treasurer"]);
    assert_eq!(role["description"], "Keeps the books");
    let roles = cli.json(&["org", "roles", "club-a"]);
    let names: Vec<&str> = items(&roles)
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["admin", "member", "treasurer"]);
    let err = cli.fails(&["org", "role-set", "club-a", "Bad Role"]);
    assert!(err.contains("not a valid role name"), "{err}");
    let err = cli.fails(&["org", "role-delete", "club-a", "admin"]);
    assert!(err.contains("built in"), "{err}");
    let err = cli.fails(&["org", "role-delete", "club-a", "coach"]);
    assert!(err.contains("no role") && err.contains("coach"), "{err}");

    // Members.
    let members = cli.json(&["org", "members", "club-a"]);
    assert_eq!(items(&members).len(), 2);
    let found = cli.json(&["org", "members", "club-a", "--search", "BO@"]);
    assert_eq!(items(&found).len(), 1);
    let m = &items(&found)[0];
    assert_eq!(m["user_id"], bo.as_str());
    assert_eq!(m["email"], "bo@example.org");
    assert_eq!(m["roles"], json!(["member"]));
    assert!(m["since"].is_i64());
    assert!(m.get("phone").is_some() && m.get("name").is_some());
    let m = cli.json(&words(
        "org set-roles club-a --email bo@example.org --role treasurer --role member",
    ));
    assert_eq!(m["roles"], json!(["member", "treasurer"]));
    let err = cli.fails(&words(
        "org set-roles club-a --email bo@example.org --role coach",
    ));
    assert!(err.contains("\"coach\" is not a role"), "{err}");
    let err = cli.fails(&words(
        "org set-roles club-a --email nobody@example.org --role member",
    ));
    assert!(
        err.contains("no account with the email nobody@example.org"),
        "{err}"
    );
    let removed = cli.json(&words("org remove-member club-a --email bo@example.org"));
    assert_eq!(removed["removed"], true);
    assert_eq!(removed["user_id"], bo.as_str());
    let members = cli.json(&["org", "members", "club-a"]);
    assert_eq!(items(&members).len(), 1);
    assert_eq!(items(&members)[0]["user_id"], anna.as_str());
    let err = cli.fails(&words("org remove-member club-a --email bo@example.org"));
    assert!(
        err.contains("bo@example.org is not a member of club-a"),
        "{err}"
    );

    // Invitations: the link never reaches the operator's screen.
    let (ok, out, err) = cli.run(&words(
        "org invite club-a --email new@example.org --role treasurer --json",
    ));
    assert!(ok, "{err}");
    assert!(!out.contains("/invite/") && !err.contains("/invite/"));
    let inv: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(inv["email"], "new@example.org");
    assert_eq!(inv["roles"], json!(["treasurer"]));
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["invited_by"], "cli");
    assert_eq!(inv["organisation_id"], org_id.as_str());
    let inv_id = inv["id"].as_str().expect("id").to_string();
    let err = cli.fails(&words(
        "org invite club-a --email not-an-address --role member",
    ));
    assert!(err.contains("not an email address"), "{err}");
    let list = cli.json(&["org", "invitations", "club-a"]);
    assert_eq!(items(&list).len(), 1);
    assert_eq!(items(&list)[0]["id"], inv_id.as_str());
    let revoked = cli.json(&["org", "revoke-invitation", "club-a", &inv_id]);
    assert_eq!(revoked["revoked"], true);
    let list = cli.json(&["org", "invitations", "club-a"]);
    assert_eq!(items(&list)[0]["status"], "revoked");
    let err = cli.fails(&["org", "revoke-invitation", "club-a", &inv_id]);
    assert!(err.contains("no open invitation"), "{err}");

    // A reset key goes to the member only.
    let sent = cli.json(&["org", "send-reset", "club-a", "--email", "anna@example.org"]);
    assert_eq!(sent["sent"], true);
    assert_eq!(sent["user_id"], anna.as_str());
    let err = cli.fails(&["org", "send-reset", "club-a", "--email", "bo@example.org"]);
    assert!(err.contains("not a member"), "{err}");

    // Everything above is in the organisation's audit log, done by `cli`.
    let log = cli.json(&["audit", "list", "--org", "club-a"]);
    assert_kinds(
        &log,
        &[
            "admin.org_created",
            "admin.member_added",
            "admin.org_updated",
            "admin.role_saved",
            "admin.roles_changed",
            "admin.member_removed",
            "admin.invitation_created",
            "admin.invitation_revoked",
            "admin.reset_sent",
        ],
    );
    assert!(
        items(&log)
            .iter()
            .all(|e| e["actor_id"] == "cli" && e["organisation_id"] == org_id.as_str())
    );
    let (ok, exported, err) = cli.run(&["audit", "export", "--org", "club-a"]);
    assert!(ok, "{err}");
    let lines: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    assert_eq!(lines.len(), items(&log).len());
    assert_eq!(lines[0]["id"], items(&log)[0]["id"]);
    let only = cli.json(&words("audit list --org club-a --kind admin.roles_changed"));
    assert_eq!(kinds(&only), ["admin.roles_changed"]);
    assert_eq!(
        items(&only)[0]["detail"],
        json!({ "before": ["member"], "after": ["member", "treasurer"] })
    );

    // Deleting needs --yes.
    let err = cli.fails(&["org", "delete", "club-a"]);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(cli.json(&["org", "show", "club-a"])["id"], org_id.as_str());
    let deleted = cli.json(&["org", "delete", "club-a", "--yes"]);
    assert_eq!(deleted["deleted"], true);
    cli.fails(&["org", "show", "club-a"]);
    assert!(items(&cli.json(&["org", "list"])).is_empty());
}

#[tokio::test]
async fn clients_superadmins_sessions_audit_and_key_rotation_from_the_command_line() {
    let cli = Install::new().await;
    let org_id = cli.json(&["org", "create", "--name", "Club A", "--slug", "club-a"])["id"]
        .as_str()
        .expect("id")
        .to_string();

    // A service client owned by the organisation, for the admin API.
    let svc = cli.json(&[
        "client",
        "create",
        "--name",
        "Club service",
        "--owner",
        "club-a",
        "--admin-api",
    ]);
    assert_eq!(svc["owner_organisation_id"], org_id.as_str());
    assert_eq!(svc["admin_api"], true);
    assert_eq!(svc["grant_types"], json!(["client_credentials"]));
    assert_eq!(svc["organisations"], json!([org_id]));
    assert_eq!(svc["client_secret"].as_str().expect("secret").len(), 43);
    let err = cli.fails(&["client", "create", "--name", "X", "--owner", "club-x"]);
    assert!(
        err.contains("no organisation") && err.contains("club-x"),
        "{err}"
    );
    // Visible roles must be roles of the owner.
    let coach_app = [
        "client",
        "create",
        "--name",
        "Coach app",
        "--owner",
        "club-a",
        "--redirect-uri",
        "https://coach.example/cb",
        "--visible-role",
        "coach",
    ];
    let err = cli.fails(&coach_app);
    assert!(err.contains("\"coach\" is not a role"), "{err}");
    cli.json(&["org", "role-set", "club-a", "coach"]);
    let app = cli.json(&coach_app);
    assert_eq!(app["visible_roles"], json!(["coach"]));
    assert_eq!(
        app["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let app_id = app["client_id"].as_str().expect("id").to_string();
    let portal = cli.client_json("Portal", &["--redirect-uri", "https://portal.example/cb"]);
    assert!(portal["owner_organisation_id"].is_null());

    // Lists: everything (installation first), or one owner's.
    let all = cli.json(&["client", "list"]);
    let names: Vec<&str> = items(&all)
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Portal", "Club service", "Coach app"]);
    assert!(
        items(&all).iter().all(|c| c.get("client_secret").is_none()),
        "lists never show secrets"
    );
    let owned = cli.json(&["client", "list", "--owner", "club-a"]);
    assert_eq!(items(&owned).len(), 2);

    // Show, update, rotate, delete.
    let shown = cli.json(&["client", "show", &app_id]);
    assert_eq!(shown["name"], "Coach app");
    assert!(shown.get("client_secret").is_none());
    let changed = cli.json(&[
        "client",
        "update",
        &app_id,
        "--name",
        "Coach app 2",
        "--redirect-uri",
        "https://coach.example/cb2",
        "--redirect-uri",
        "https://coach.example/cb3",
        "--post-logout-redirect-uri",
        "https://coach.example/bye",
        "--require-org",
        "true",
    ]);
    assert_eq!(changed["name"], "Coach app 2");
    assert_eq!(
        changed["redirect_uris"],
        json!(["https://coach.example/cb2", "https://coach.example/cb3"])
    );
    assert_eq!(
        changed["post_logout_redirect_uris"],
        json!(["https://coach.example/bye"])
    );
    assert_eq!(changed["require_organisation"], true);
    assert_eq!(changed["visible_roles"], json!(["coach"]), "unchanged");
    let changed = cli.json(&["client", "update", &app_id, "--all-roles"]);
    assert!(changed["visible_roles"].is_null());
    let err = cli.fails(&[
        "client",
        "update",
        &app_id,
        "--redirect-uri",
        "http://coach.example/cb",
    ]);
    assert!(err.contains("https"), "{err}");
    let err = cli.fails(&["client", "update", &app_id]);
    assert!(err.contains("nothing to change"), "{err}");
    let rotated = cli.json(&["client", "rotate-secret", &app_id]);
    let secret = rotated["client_secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 43);
    assert_ne!(Some(secret), app["client_secret"].as_str());
    let db = cli.db().await;
    let (hash,): (Option<String>,) =
        sqlx::query_as("select secret_hash from clients where id = $1")
            .bind(&app_id)
            .fetch_one(db.pool())
            .await
            .expect("client row");
    assert_eq!(
        hash.as_deref(),
        Some(nyckel::crypto::sha256_b64(secret).as_str())
    );
    let err = cli.fails(&["client", "delete", &app_id]);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(
        cli.json(&["client", "delete", &app_id, "--yes"])["deleted"],
        true
    );
    let err = cli.fails(&["client", "show", &app_id]);
    assert!(err.contains("no client with the id"), "{err}");

    // Superadmin on and off.
    let anna = cli.user("anna@example.org");
    let superadmin = |db: nyckel::store::Db, id: String| async move {
        nyckel::store::users::find(&db, &id)
            .await
            .expect("query")
            .expect("user")
            .superadmin
    };
    let on = cli.json(&["user", "superadmin", "--email", "anna@example.org"]);
    assert_eq!(on["superadmin"], true);
    assert_eq!(on["changed"], true);
    assert_eq!(on["user_id"], anna.as_str());
    assert_eq!(superadmin(db.clone(), anna.clone()).await, 1);
    assert_eq!(
        cli.json(&["user", "superadmin", "--email", "anna@example.org"])["changed"],
        false
    );
    let off = cli.json(&["user", "superadmin", "--email", "anna@example.org", "--off"]);
    assert_eq!(off["superadmin"], false);
    assert_eq!(superadmin(db.clone(), anna.clone()).await, 0);
    let err = cli.fails(&["user", "superadmin", "--email", "nobody@example.org"]);
    assert!(err.contains("no account with the email"), "{err}");

    // Sessions: listed and ended.
    let config = nyckel::config::Config::default();
    let now = nyckel::cli::now();
    let (session, _) = nyckel::auth::session::insert(
        &db,
        &config.session,
        nyckel::auth::session::NewSession {
            user_id: &anna,
            amr: &["pwd".into()],
            acr: nyckel::auth::session::acr::SINGLE_FACTOR,
            replaces: None,
            origin: Default::default(),
        },
        None,
        now,
    )
    .await
    .expect("session");
    let list = cli.json(&["session", "list", "--email", "anna@example.org"]);
    assert_eq!(items(&list).len(), 1);
    let s = &items(&list)[0];
    assert_eq!(s["sid"], session.sid.as_str());
    assert_eq!(s["user_id"], anna.as_str());
    assert_eq!(s["amr"], json!(["pwd"]));
    let ended = cli.json(&["session", "end", "--sid", &session.sid]);
    assert_eq!(ended["ended"], true);
    assert_eq!(ended["user_id"], anna.as_str());
    assert!(items(&cli.json(&["session", "list", "--email", "anna@example.org"])).is_empty());
    let err = cli.fails(&["session", "end", "--sid", &session.sid]);
    assert!(err.contains("no session with the sid"), "{err}");

    // Key rotation is audited.
    let (ok, _, err) = cli.run(&["keys", "rotate"]);
    assert!(ok, "{err}");
    let rotated = cli.json(&["audit", "list", "--kind", "keys.rotated"]);
    assert_eq!(items(&rotated).len(), 1);
    assert_eq!(items(&rotated)[0]["actor_id"], "cli");
    assert_eq!(
        items(&rotated)[0]["detail"]["keys"]
            .as_array()
            .expect("keys")
            .len(),
        3,
        "one new key per algorithm"
    );

    // The whole log, limited, and exported.
    let got = assert_kinds(
        &cli.json(&["audit", "list"]),
        &[
            "admin.client_created",
            "admin.client_updated",
            "admin.client_secret_rotated",
            "admin.client_deleted",
            "admin.superadmin_granted",
            "admin.superadmin_revoked",
            "admin.session_ended",
            "keys.rotated",
        ],
    );
    assert_eq!(
        items(&cli.json(&["audit", "list", "--limit", "2"])).len(),
        2
    );
    let (ok, exported, _) = cli.run(&["audit", "export"]);
    assert!(ok);
    assert_eq!(exported.lines().count(), got.len());
    assert!(
        !exported.contains(secret),
        "secrets never reach the audit log"
    );
    db.close().await;
}
