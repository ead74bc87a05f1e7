//! One transaction per change (issue 15, defect 6; docs/resilience.md "no half-done
//! writes"): every administrative change and every change a person makes to their own
//! account writes its audit event in the same transaction as the change. The test makes the
//! audit insert fail (a trigger it adds to `audit_events`, in both dialects; nothing in the
//! product knows of it) and sends each change: the answer must be an error and every table
//! must be as before. Then, with the audit allowed again, the same request must succeed and
//! change the tables (so the request was a real change, and the refused one left nothing
//! that stands in its way).
//!
//! Covered: every write of the admin API, generated from its route table
//! (`http::api::table::ROUTES`), with the bodies the permission-matrix walk uses; the
//! operator's `org create` and `org add-member`; the operator's second-factor reset; and
//! the person's own changes: profile, ending one or all other sessions, withdrawing consent,
//! the own two-factor setting, a password change, a new email address or phone number
//! confirmed by code, removing the phone number, adding, renaming and removing a passkey, a
//! password reset with a key, the setup link, accepting an invitation and deleting the
//! account.

use std::collections::BTreeMap;

use nyckel::admin::Caller;
use nyckel::admin::clients::CreateClient;
use nyckel::http::api::table::{Method, Op, ROUTES};
use nyckel::store::{self, Backend};
use serde_json::json;

use crate::admin_matrix::{Fixtures, owners};
use crate::helpers::admin::World;
use crate::helpers::api::Api;
use crate::helpers::browser::Browser;
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp, code_in};

/// A password the policy accepts, other than [`PASSWORD`].
const NEW_PASSWORD: &str = "hallonsaft på verandan 17";

/// Makes every insert into `audit_events` fail until [`allow_audit`].
async fn refuse_audit(app: &TestApp) {
    let sql = match app.state.db.backend() {
        Backend::Sqlite => {
            "create trigger test_refuse_audit before insert on audit_events
             begin select raise(abort, 'audit refused by the test'); end"
        }
        Backend::Postgres => {
            "create or replace function test_refuse_audit() returns trigger language plpgsql as
               $$ begin raise exception 'audit refused by the test'; end $$;
             create trigger test_refuse_audit before insert on audit_events
               for each row execute function test_refuse_audit()"
        }
    };
    sqlx::raw_sql(sql)
        .execute(app.state.db.writer())
        .await
        .expect("refuse audit events");
}

/// Lets audit events be written again.
async fn allow_audit(app: &TestApp) {
    let sql = match app.state.db.backend() {
        Backend::Sqlite => "drop trigger test_refuse_audit",
        Backend::Postgres => "drop trigger test_refuse_audit on audit_events",
    };
    sqlx::raw_sql(sql)
        .execute(app.state.db.writer())
        .await
        .expect("allow audit events");
}

/// Every row of every table, sorted. Left out: what background work changes on its own
/// (leases, backup status, signing keys) and the outbox's delivery columns (the delivery
/// loop works on messages queued before); the outbox's message ids stay.
async fn tables(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (table, rows) in crate::gdpr::all_rows(&app.state.db).await {
        if ["job_leases", "backup_status", "signing_keys"].contains(&table.as_str()) {
            continue;
        }
        let mut list: Vec<String> = rows
            .into_iter()
            .map(|mut row| {
                if table == "outbox" {
                    row.retain(|k, _| k == "id");
                }
                serde_json::Value::Object(row).to_string()
            })
            .collect();
        list.sort();
        out.insert(table, list);
    }
    out
}

/// The rows that differ, for the failure message.
fn diff(before: &BTreeMap<String, Vec<String>>, after: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = Vec::new();
    for (table, rows) in after {
        let old = before.get(table).cloned().unwrap_or_default();
        for r in rows.iter().filter(|r| !old.contains(r)) {
            out.push(format!("  + {table}: {r}"));
        }
        for r in old.iter().filter(|r| !rows.contains(r)) {
            out.push(format!("  - {table}: {r}"));
        }
    }
    out.join("\n")
}

/// Sends a change (`$act`, an expression giving the answer's status, evaluated twice) with
/// the audit refused, then allowed; records what went wrong in `$problems`. Without
/// `refused:` and `ok:`, a refusal is a server error and success is any status below 400.
macro_rules! check {
    ($problems:expr, $app:expr, $what:expr, refused: $refused:expr, ok: $ok:expr, $act:expr) => {{
        let what: String = $what.to_string();
        let before = tables($app).await;
        refuse_audit($app).await;
        let status: u16 = $act;
        allow_audit($app).await;
        let after = tables($app).await;
        let refused: fn(u16) -> bool = $refused;
        if !refused(status) {
            $problems.push(format!(
                "{what}: answered {status} although its audit event was refused"
            ));
        }
        if before != after {
            $problems.push(format!(
                "{what}: changed the tables although its audit event was refused:\n{}",
                diff(&before, &after)
            ));
        }
        let status: u16 = $act;
        let ok: fn(u16) -> bool = $ok;
        if !ok(status) {
            $problems.push(format!("{what}: answered {status} with the audit allowed"));
        }
        if tables($app).await == after {
            $problems.push(format!("{what}: changed nothing with the audit allowed"));
        }
    }};
    ($problems:expr, $app:expr, $what:expr, $act:expr) => {
        check!($problems, $app, $what, refused: server_error, ok: success, $act)
    };
}

fn server_error(status: u16) -> bool {
    status >= 500
}

fn success(status: u16) -> bool {
    status < 400
}

#[tokio::test]
async fn every_admin_api_write_is_undone_when_its_audit_event_cannot_be_written() {
    let app = TestApp::spawn_with(|c| c.admin.allow_set_password = true).await;
    let w = World::with(app).await;
    let token = w.token_2fa(&w.superadmin).await;
    let api = Api::new(&w.app, Some(&token));
    let mut fixtures = Fixtures::new(&w);
    let mut problems: Vec<String> = Vec::new();
    let mut walked = Vec::new();
    for route in ROUTES.iter().filter(|r| r.method != Method::Get) {
        let owner = owners(route)[0];
        let (path, body) = fixtures.make(route.op, owner).await;
        // A change, not the setting it already has.
        let body = match route.op {
            Op::SetTwoFactors => Some(json!({ "require_two_factors": true })),
            _ => body,
        };
        let expected = route.status;
        let answer = |status: u16| status;
        check!(problems, &w.app, format!("{:?} {path}", route.method), {
            let reply = api.call(route.method, &path, body.as_ref()).await;
            if !server_error(reply.status) && reply.status != expected {
                eprintln!("{:?} {path}: {} {}", route.method, reply.status, reply.text);
            }
            answer(reply.status)
        });
        walked.push(route.op);
    }
    assert!(walked.len() >= 15, "{walked:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn operator_commands_are_undone_when_their_audit_event_cannot_be_written() {
    let app = TestApp::spawn().await;
    let anna = app.create_user("anna@example.org").await;
    app.create_org("Club", "club").await;
    let url = app.state.config.database_url();
    let dir = tempfile::tempdir().expect("dir");
    // The installation's master key: commands that queue webhook messages seal them.
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let master = app.state.config.keys_dir.join("master.key");
    std::fs::copy(&master, keys.join("master.key")).expect("master key");
    let run = |args: &[&str]| -> u16 {
        let (ok, _, err) = crate::cli::nyckel(dir.path(), &url, args, None);
        if ok {
            0
        } else {
            eprintln!("nyckel {args:?}: {}", err.trim());
            1
        }
    };
    let mut problems: Vec<String> = Vec::new();
    check!(
        problems,
        &app,
        "nyckel org create",
        refused: |s| s != 0,
        ok: |s| s == 0,
        run(&["org", "create", "--name", "New club", "--slug", "new-club"])
    );
    check!(
        problems,
        &app,
        "nyckel org add-member",
        refused: |s| s != 0,
        ok: |s| s == 0,
        run(&["org", "add-member", "--org", "club", "--email", "anna@example.org", "--role", "coach"])
    );
    // The operator's recovery of a lost second factor.
    crate::helpers::two_factor::verify_phone(&app, "anna@example.org", "+46701234567").await;
    check!(
        problems,
        &app,
        "second-factor reset",
        refused: |s| s != 0,
        ok: |s| s == 0,
        match nyckel::auth::factors::settings::reset(&app.state, "anna@example.org").await {
            Ok(Some(r)) if r.user_id == anna => 0,
            other => {
                eprintln!("second-factor reset: {other:?}");
                1
            }
        }
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Signs `b` in with the password form.
async fn sign_in(b: &Browser, email: &str) {
    let done = b.login(email, PASSWORD).await;
    assert_eq!(done.status, 303, "login of {email}: {}", done.body);
}

/// A field of the first form posting to `action` on the page at `path`.
async fn field(b: &Browser, path: &str, action: &str, name: &str) -> String {
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    page.form(action)
        .unwrap_or_else(|| panic!("no form to {action} on {path}:\n{}", page.body))
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in the form to {action}"))
        .clone()
}

/// Posts `fields` to `action` from `b`; returns the status.
async fn post(b: &Browser, action: &str, fields: &[(&str, &str)]) -> u16 {
    b.post(action, fields).await.status.as_u16()
}

#[tokio::test]
async fn the_persons_own_changes_are_undone_when_their_audit_event_cannot_be_written() {
    let app = TestApp::spawn().await;
    let anna = app.create_user("anna@example.org").await;
    let mut problems: Vec<String> = Vec::new();
    let b = app.browser();
    sign_in(&b, "anna@example.org").await;
    let csrf = field(&b, "/account", "/account/profile", "csrf").await;

    check!(
        problems,
        &app,
        "profile",
        post(
            &b,
            "/account/profile",
            &[("csrf", &csrf), ("name", "Anna Ny"), ("language", "en")]
        )
        .await
    );

    // Ending another session of hers.
    let other = app.browser();
    sign_in(&other, "anna@example.org").await;
    let sid = field(&b, "/account", "/account/sessions/end", "sid").await;
    check!(
        problems,
        &app,
        "end one session",
        post(
            &b,
            "/account/sessions/end",
            &[("csrf", &csrf), ("sid", &sid)]
        )
        .await
    );

    // Ending all her other sessions.
    let other = app.browser();
    sign_in(&other, "anna@example.org").await;
    check!(
        problems,
        &app,
        "end other sessions",
        post(&b, "/account/sessions/end-others", &[("csrf", &csrf)]).await
    );

    // Withdrawing consent from an app.
    let (client, _) = app
        .create_client(CreateClient {
            name: "Third-party app".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            ..Default::default()
        })
        .await;
    store::consents::upsert(&app.state.db, &anna, &client, "openid", app.state.now())
        .await
        .expect("consent");
    check!(
        problems,
        &app,
        "withdraw consent",
        post(
            &b,
            "/account/apps/revoke",
            &[("csrf", &csrf), ("client_id", &client)]
        )
        .await
    );

    // The own two-factor setting (a verified phone is the second factor).
    crate::helpers::two_factor::verify_phone(&app, "anna@example.org", "+46701234567").await;
    check!(
        problems,
        &app,
        "own two-factor setting",
        post(
            &b,
            "/account/security",
            &[("csrf", &csrf), ("required", "on")]
        )
        .await
    );

    // Removing the phone number.
    check!(
        problems,
        &app,
        "remove the phone number",
        post(&b, "/account/phone/remove", &[("csrf", &csrf)]).await
    );

    // A password change (last: it ends the other sessions).
    let change_csrf = field(&b, "/password/change", "/password/change", "csrf").await;
    check!(
        problems,
        &app,
        "password change",
        post(
            &b,
            "/password/change",
            &[
                ("csrf", &change_csrf),
                ("current", PASSWORD),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn new_addresses_and_numbers_are_undone_when_their_audit_event_cannot_be_written() {
    let app = TestApp::spawn().await;
    app.create_user("anna@example.org").await;
    let mut problems: Vec<String> = Vec::new();
    let b = app.browser();
    sign_in(&b, "anna@example.org").await;

    let page = b.get("/account/email").await;
    let sent = b
        .submit(&page, "/account/email", &[("email", "ny@example.org")])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let mail = app.mails_to("ny@example.org").await;
    let code = code_in(&mail.last().expect("a confirmation").text).expect("a code");
    let csrf = sent.form("/account/email/code").expect("the code form")["csrf"].clone();
    check!(
        problems,
        &app,
        "new email address",
        post(
            &b,
            "/account/email/code",
            &[("csrf", &csrf), ("code", &code)]
        )
        .await
    );

    let page = b.get("/account/phone").await;
    let sent = b
        .submit(&page, "/account/phone", &[("phone", "+46707654321")])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let sms = app.sms_to("+46707654321").await;
    let code = sms.last().expect("an SMS").code();
    let csrf = sent.form("/account/phone/code").expect("the code form")["csrf"].clone();
    check!(
        problems,
        &app,
        "new phone number",
        post(
            &b,
            "/account/phone/code",
            &[("csrf", &csrf), ("code", &code)]
        )
        .await
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn passkey_changes_are_undone_when_their_audit_event_cannot_be_written() {
    use crate::passkeys::{authenticator, origin, post_json};
    use webauthn_rs::prelude::CreationChallengeResponse;

    let app = TestApp::spawn().await;
    app.create_user("anna@example.org").await;
    let mut problems: Vec<String> = Vec::new();
    let b = app.browser();
    sign_in(&b, "anna@example.org").await;
    let csrf = field(&b, "/account/passkeys", "/account/passkeys/start", "csrf").await;
    let mut auth = authenticator();
    let start = post_json(&b, "/account/passkeys/start", &json!({ "csrf": csrf })).await;
    assert_eq!(start.status, 200, "{}", start.json);
    let options: CreationChallengeResponse =
        serde_json::from_value(start.json["options"].clone()).expect("creation options");
    let credential = auth
        .do_registration(origin(&app), options)
        .expect("the authenticator registers");
    let finish = json!({
        "csrf": csrf,
        "challenge_id": start.json["challenge_id"],
        "credential": credential,
        "name": "Laptop",
    });
    check!(
        problems,
        &app,
        "add a passkey",
        post_json(&b, "/account/passkeys/finish", &finish)
            .await
            .status
            .as_u16()
    );

    let (id,): (String,) = sqlx::query_as("select id from passkeys")
        .fetch_one(app.state.db.pool())
        .await
        .expect("the passkey");
    check!(
        problems,
        &app,
        "rename a passkey",
        post(
            &b,
            &format!("/account/passkeys/{id}/rename"),
            &[("csrf", &csrf), ("name", "Jobbdatorn")]
        )
        .await
    );
    check!(
        problems,
        &app,
        "remove a passkey",
        post(
            &b,
            &format!("/account/passkeys/{id}/remove"),
            &[("csrf", &csrf)]
        )
        .await
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn keys_that_change_an_account_are_undone_when_their_audit_event_cannot_be_written() {
    let app = TestApp::spawn().await;
    let anna = app.create_user("anna@example.org").await;
    app.create_org("Club", "club").await;
    let mut problems: Vec<String> = Vec::new();

    // A password reset with the key an administrator sent.
    let user = store::users::find(&app.state.db, &anna)
        .await
        .expect("db")
        .expect("anna");
    nyckel::auth::reset::send_reset_key(&app.state, &user, None)
        .await
        .expect("reset key");
    let link = link_in(&app, "anna@example.org", "/reset/").await;
    let b = app.browser();
    let page = b.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let form = page.form("/reset").expect("the reset form");
    check!(
        problems,
        &app,
        "password reset",
        post(
            &b,
            "/reset",
            &[
                ("key", &form["key"]),
                ("csrf", &form["csrf"]),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
    );

    // The setup link.
    let setup = nyckel::auth::setup::create_link(
        &app.state.db,
        &app.state.config,
        Some("boss@example.org"),
        app.state.now(),
    )
    .await
    .expect("setup link");
    let path = url::Url::parse(&setup.url).expect("url").path().to_string();
    let b = app.browser();
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let form = page.form("/setup").expect("the setup form");
    check!(
        problems,
        &app,
        "setup link",
        post(
            &b,
            "/setup",
            &[
                ("key", &form["key"]),
                ("csrf", &form["csrf"]),
                ("email", "boss@example.org"),
                ("name", "The Boss"),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        )
        .await
    );

    // Accepting an invitation (an existing account).
    nyckel::admin::invitations::create(
        &app.state,
        &Caller::operator(),
        "club",
        "anna@example.org",
        &["member".to_string()],
    )
    .await
    .expect("invitation");
    let link = link_in(&app, "anna@example.org", "/invite/").await;
    let b = app.browser();
    let page = b.get(&link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.form(&link).expect("the invitation form")["csrf"].clone();
    check!(
        problems,
        &app,
        "accept an invitation",
        post(&b, &link, &[("csrf", &csrf)]).await
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn deleting_the_account_is_undone_when_its_audit_event_cannot_be_written() {
    let app = TestApp::spawn().await;
    app.create_user("anna@example.org").await;
    app.create_org("Club", "club").await;
    app.add_member("club", "anna@example.org", &["member"])
        .await;
    let mut problems: Vec<String> = Vec::new();
    let b = app.browser();
    sign_in(&b, "anna@example.org").await;
    let csrf = field(&b, "/account/delete", "/account/delete", "csrf").await;
    check!(
        problems,
        &app,
        "delete the account",
        post(
            &b,
            "/account/delete",
            &[("csrf", &csrf), ("confirm_email", "anna@example.org")]
        )
        .await
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The path of the newest link to `to` whose path starts with `marker`.
async fn link_in(app: &TestApp, to: &str, marker: &str) -> String {
    let mails = app.mails_to(to).await;
    mails
        .iter()
        .rev()
        .flat_map(|m| {
            m.text
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|word| url::Url::parse(&word).ok())
        .map(|u| u.path().to_string())
        .find(|path| path.starts_with(marker))
        .unwrap_or_else(|| panic!("no {marker} link to {to}"))
}
