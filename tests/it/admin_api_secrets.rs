//! No answer of the admin API contains a password, a hash, a link key, a code or a token
//! (issue 3, done-when 2; ARCHITECTURE.md section 1): with real secrets in the database
//! (passwords, a signed-in session, a refresh token, invitations, a reset key, client
//! secrets), every GET endpoint of the route table is read as the superadmin and as an
//! organisation admin, and every answer is searched for each secret's value and for any
//! secret-shaped string. A client secret may appear only in the answer that creates or
//! rotates it.

use nyckel::http::api::table::{Method, ROUTES};
use serde_json::{Value, json};

use crate::helpers::PASSWORD;
use crate::helpers::admin::World;
use crate::helpers::api::{Api, Reply};
use crate::helpers::api_fixtures::secret_shaped;
use crate::helpers::token::{Auth, CodeSpec, issue_code, redeem};

/// Every secret value the database holds (hashes included) that can be read back.
async fn stored_secrets(w: &World) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "select password_hash from users where password_hash is not null",
        "select secret_hash from clients where secret_hash is not null",
        "select id_hash from sessions",
        "select csrf from sessions",
        "select key_hash from invitations",
        "select key_hash from login_keys",
        "select code_hash from auth_codes",
        "select token_hash from refresh_tokens",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(sql)
            .fetch_all(w.app.state.db.pool())
            .await
            .expect(sql);
        out.extend(rows.into_iter().map(|(v,)| v));
    }
    out
}

#[tokio::test]
async fn no_answer_contains_a_password_key_code_or_token() {
    let w = World::new().await;
    let sup_token = w.token(&w.superadmin).await;
    let a_token = w.token(&w.admin_a).await;
    let sup = Api::new(&w.app, Some(&sup_token));
    let a = Api::new(&w.app, Some(&a_token));
    let mut known: Vec<String> = vec![PASSWORD.into(), sup_token.clone(), a_token.clone()];
    let mut answers: Vec<(String, Reply)> = Vec::new();

    // Secrets of a person: a real login session, and a refresh token for organisation A.
    let browser = w.browser(&w.both).await;
    let (id, secret) = &w.console;
    let mut spec = CodeSpec::new(id, &w.both.id);
    spec.scope = "openid orgs";
    spec.organisation_id = Some(&w.org_a);
    let (code, _) = issue_code(&w.app, spec).await;
    known.push(code.clone());
    let tokens = redeem(&w.app, Auth::Basic(id, secret), &code, None).await;
    known.push(tokens.str("refresh_token").into());
    known.push(tokens.str("access_token").into());
    known.push(tokens.str("id_token").into());
    known.push(secret.clone());

    // Admin actions that create secrets sent elsewhere: an invitation link, a reset key.
    let inv = a.invite("club-a", "invited@example.org", &["member"]).await;
    inv.expect(201);
    let invitation = inv.str("id").to_string();
    answers.push(("create invitation".into(), inv));
    let reset = a
        .post(
            &format!("/orgs/club-a/members/{}/reset", w.both.id),
            &json!({}),
        )
        .await;
    reset.expect(202);
    assert_eq!(
        reset.json,
        json!({ "status": "sent" }),
        "says only that it was sent"
    );
    answers.push(("send reset".into(), reset));
    // The real keys went by mail to the invited person and to the member; they must appear
    // in no answer to the admin.
    let invite_mail = w.app.mails_to("invited@example.org").await;
    assert_eq!(invite_mail.len(), 1, "the invitation was mailed");
    let invite_link = invite_mail[0].link("/invite/");
    known.push(invite_link.rsplit('/').next().expect("key").to_string());
    let reset_mail: Vec<_> = w
        .app
        .mails_to(&w.both.email)
        .await
        .into_iter()
        .filter(|m| m.text.contains("/reset/"))
        .collect();
    assert_eq!(
        reset_mail.len(),
        1,
        "the reset key was mailed to the member"
    );
    let reset_link = reset_mail[0].link("/reset/");
    known.push(reset_link.rsplit('/').next().expect("key").to_string());

    // A client secret: only in the answers that create and rotate it.
    let created = a.register_client("club-a", json!({})).await;
    created.expect(201);
    let client = created.str("client_id").to_string();
    let first = created.str("client_secret").to_string();
    let rotated = a
        .post(&format!("/clients/{client}/secret"), &json!({}))
        .await;
    rotated.expect(200);
    let second = rotated.str("client_secret").to_string();
    for (what, r, own) in [
        ("create client", &created, &first),
        ("rotate", &rotated, &second),
    ] {
        assert_eq!(
            r.text.matches(own.as_str()).count(),
            1,
            "{what}: the secret once, in client_secret"
        );
        assert!(secret_shaped(&r.json, true).is_empty(), "{what}");
    }
    known.push(first);
    known.push(second);

    // A webhook secret: only in the answers that create and replace it.
    let made = a
        .post(
            "/orgs/club-a/webhooks",
            &json!({ "url": "https://hooks.example/club-a", "enabled": false }),
        )
        .await;
    made.expect(201);
    let webhook = made.json["endpoint"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let hook_first = made.str("secret").to_string();
    let hook_rotated = a
        .post(&format!("/webhooks/{webhook}/secret"), &json!({}))
        .await;
    hook_rotated.expect(200);
    let hook_second = hook_rotated.str("secret").to_string();
    for (what, r, own) in [
        ("create webhook", &made, &hook_first),
        ("rotate webhook secret", &hook_rotated, &hook_second),
    ] {
        assert_eq!(r.text.matches(own.as_str()).count(), 1, "{what}: once");
    }
    known.push(hook_first);
    known.push(hook_second);
    known.extend(stored_secrets(&w).await);
    let sid: String = {
        let (sid,): (String,) = sqlx::query_as("select sid from sessions where user_id = $1")
            .bind(&w.both.id)
            .fetch_one(w.app.state.db.pool())
            .await
            .expect("the browser's session");
        sid
    };

    // Every readable endpoint, as the superadmin and as A's admin.
    for route in ROUTES.iter().filter(|r| r.method == Method::Get) {
        let path = route
            .path
            .replace("{org}", "club-a")
            .replace("{user}", &w.both.id)
            .replace("{client}", &client)
            .replace("{sid}", &sid)
            .replace("{invitation}", &invitation)
            .replace("{webhook}", &webhook);
        for (who, api) in [("superadmin", &sup), ("admin A", &a)] {
            let r = api.get(&path).await;
            let installation_only =
                path == "/clients" || path == "/webhooks" || path.starts_with("/audit");
            if who == "admin A" && installation_only {
                r.expect(403);
                continue;
            }
            r.expect(200);
            answers.push((format!("GET {path} as {who}"), r));
        }
    }
    // Refusals and errors too.
    answers.push((
        "unknown member".into(),
        a.get("/orgs/club-a/members/x").await,
    ));
    answers.push(("anonymous".into(), a.with_token(None).get("/orgs").await));
    answers.push((
        "bad body".into(),
        a.put(
            &format!("/orgs/club-a/members/{}/roles", w.both.id),
            &json!({ "roles": [], "password": PASSWORD }),
        )
        .await,
    ));
    drop(browser);

    assert!(answers.len() > 30);
    for (what, r) in &answers {
        for s in &known {
            assert!(!r.text.contains(s.as_str()), "{what} contains a secret");
        }
        assert!(!r.text.contains("$argon2"), "{what}: a password hash");
        assert!(!r.text.contains("/invite/"), "{what}: an invitation link");
        let values: Vec<Value> = if r.json.is_null() {
            r.text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
                .collect()
        } else {
            vec![r.json.clone()]
        };
        for v in values {
            let found = secret_shaped(&v, false);
            assert!(found.is_empty(), "{what}: secret-shaped values {found:?}");
        }
    }
}
