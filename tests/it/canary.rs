//! Secrets never leak (SECURITY.md 16.2.5, done-when 3): a canary password and a canary client
//! secret go through good and bad logins, code exchange, refresh, userinfo and introspection;
//! afterwards neither appears in the server's or the CLI's output, in any response, or in the
//! database (which holds only an argon2id hash and a SHA-256).

use crate::helpers::browser::query;
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::nodes::{field, redeem, refresh, userinfo};
use crate::helpers::ops::{Install, on_postgres};
use crate::helpers::{REDIRECT_URI, db};

const CANARY_PASSWORD: &str = "canary-Lösen-7f3e9b2a-lingonsylt";
const WRONG_CANARY: &str = "canary-wrong-51c0d2e8-hjortron";

#[tokio::test]
async fn canary_password_and_client_secret_appear_nowhere_but_as_hashes() {
    let install = Install::new().await;
    let url = install.url();
    let mut cli_output = String::new();
    let (ok, out, err) = install.run_with_stdin(
        &[
            "user",
            "create",
            "--email",
            "canary@example.org",
            "--password-stdin",
        ],
        Some(&format!("{CANARY_PASSWORD}\n")),
    );
    assert!(ok, "{err}");
    cli_output.push_str(&out);
    cli_output.push_str(&err);
    // Its stdout shows the secret (once); its stderr must not.
    let create = [
        "client",
        "create",
        "--name",
        "Canary app",
        "--first-party",
        "--json",
    ];
    let (ok, out, err) = install.run(&[&create[..], &["--redirect-uri", REDIRECT_URI]].concat());
    assert!(ok, "{err}");
    cli_output.push_str(&err);
    let created: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let client = (
        field(&created, "client_id"),
        field(&created, "client_secret"),
    );
    let (client_id, secret) = client.clone();

    let server = install.serve("127.0.0.1:0", "https://localhost:8443", &[]);
    let base = server.base();
    let browser = server.browser();
    let mut responses = String::new();

    // A bad login, then a good one.
    let pkce = Pkce::new();
    let start = authorize_url(
        &base,
        &client_id,
        "openid email profile",
        "st",
        Some(&pkce),
        &[],
    );
    let bad = browser
        .authorize_and_login(&start, "canary@example.org", WRONG_CANARY)
        .await;
    responses.push_str(&format!("{:?}{}", bad.headers, bad.body));
    let good = browser
        .authorize_and_login(&start, "canary@example.org", CANARY_PASSWORD)
        .await;
    responses.push_str(&format!("{:?}{}", good.headers, good.body));
    let loc = good.location.expect("logged in and redirected");
    let code = query(&loc)["code"].clone();

    let http = server.http();
    let code_and_pkce = (code, pkce);
    let tokens = redeem(&http, &base, &client, &code_and_pkce).await;
    let code = code_and_pkce.0;
    responses.push_str(&tokens.to_string());
    let access = field(&tokens, "access_token");
    let refresh_token = field(&tokens, "refresh_token");
    let refreshed = refresh(&http, &base, &client, &refresh_token).await;
    responses.push_str(&refreshed.to_string());
    let info = userinfo(&http, &base, &access).await;
    responses.push_str(&info.text().await.expect("body"));
    let introspection = http
        .post(format!("{base}/introspect"))
        .form(&[
            ("token", access.as_str()),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .expect("introspect")
        .text()
        .await
        .expect("body");
    responses.push_str(&introspection);
    assert!(introspection.contains("\"active\":true"), "{introspection}");

    let logs = server.output();
    for (what, text) in [
        ("server output", &logs),
        ("CLI output", &cli_output),
        ("responses", &responses),
    ] {
        for canary in [CANARY_PASSWORD, WRONG_CANARY, secret.as_str()] {
            assert!(!text.contains(canary), "a secret appears in the {what}");
        }
    }
    for token in [&code, &access, &refresh_token] {
        assert!(
            !logs.contains(token.as_str()),
            "a code or token appears in the server output"
        );
    }

    // The database: every text value of every table, scanned.
    let db = install.db().await;
    let dump = dump_all(&db).await;
    for canary in [
        CANARY_PASSWORD,
        WRONG_CANARY,
        secret.as_str(),
        &code,
        &refresh_token,
    ] {
        assert!(!dump.contains(canary), "a secret is stored in clear");
    }
    assert!(
        dump.contains("$argon2id$v=19$m=19456,t=2,p=1$"),
        "the password is stored as argon2id"
    );
    assert!(
        dump.contains(&nyckel::crypto::sha256_b64(&secret)),
        "the client secret is stored as SHA-256"
    );
    db.close().await;
    if !on_postgres() {
        let files = db::sqlite_files(url);
        // The bytes read are the database with its rows: the hashes are there.
        let hash = nyckel::crypto::sha256_b64(&secret);
        assert!(
            files
                .iter()
                .any(|(_, bytes)| db::contains_bytes(bytes, hash.as_bytes())),
            "the client secret's hash is on disk"
        );
        for (file, bytes) in &files {
            for canary in [CANARY_PASSWORD, WRONG_CANARY, secret.as_str()] {
                assert!(
                    !db::contains_bytes(bytes, canary.as_bytes()),
                    "{} holds a secret",
                    file.display()
                );
            }
        }
    }
}

/// All rows of all tables as text.
async fn dump_all(db: &nyckel::store::Db) -> String {
    let tables = [
        "users",
        "organisations",
        "memberships",
        "clients",
        "client_organisations",
        "signing_keys",
        "sessions",
        "auth_requests",
        "grants",
        "auth_codes",
        "refresh_tokens",
        "revoked_access_tokens",
        "consents",
        "login_throttle",
        "audit_events",
    ];
    let mut out = String::new();
    for table in tables {
        let rows = sqlx::query(&format!("select * from {table}"))
            .fetch_all(db.pool())
            .await
            .expect("select");
        for row in rows {
            use sqlx::{Column, Row};
            for col in row.columns() {
                let i = col.ordinal();
                if let Ok(Some(v)) = row.try_get::<Option<String>, _>(i) {
                    out.push_str(&v);
                    out.push('\n');
                }
            }
        }
    }
    out
}
