//! Login keys inside the OIDC flow and around it: a login by link or SMS code continues the
//! pending authorization request and the ID token reports what happened (`amr` `email` or
//! `sms`, one factor: never `mfa`); names with line breaks add no mail header; no key or
//! code ever reaches the server's log.

use crate::helpers::browser::{Browser, Page};
use crate::helpers::flows::authorize_url;
use crate::helpers::ops::Install;
use crate::helpers::pages::{Client, path_of, redeem_at_client};
use crate::helpers::process::ServerProcess;
use crate::helpers::token::decode;
use crate::helpers::{TestApp, code_in};

const ANNA: &str = "anna@example.org";

/// Starts an authorization request in `b` and asks for a login key from its login page.
async fn start_with_key(app: &TestApp, b: &Browser, client_id: &str, identifier: &str) -> Page {
    let start = authorize_url(&app.issuer, client_id, "openid email", "st", None, &[]);
    let login = b.follow(b.get(&start).await).await;
    login.assert_form("/login/key");
    b.submit(&login, "/login/key", &[("identifier", identifier)])
        .await
}

/// Follows the browser to the client and redeems the code; returns the ID token's claims.
async fn finish(app: &TestApp, b: &Browser, page: Page, client: Client<'_>) -> serde_json::Value {
    let res = redeem_at_client(app, b, page, client).await;
    decode(res.str("id_token")).1
}

#[tokio::test]
async fn a_login_link_continues_the_authorization_request_and_reports_one_email_factor() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let (client_id, secret) = app.web_client().await;
    let b = app.browser();
    start_with_key(&app, &b, &client_id, ANNA).await;
    let mail = app.mails_to(ANNA).await.pop().expect("a login mail");
    let link = mail.link("/l/");
    let used = b.use_link(&link).await;
    used.redirect_starting("/authorize/continue?req=");
    let claims = finish(&app, &b, used, (&client_id, &secret)).await;
    assert_eq!(claims["amr"], serde_json::json!(["email"]));
    assert_eq!(claims["acr"], "urn:nyckel:acr:1fa");
    assert_eq!(claims["email"], ANNA);
}

#[tokio::test]
async fn an_sms_code_continues_the_authorization_request_and_reports_sms() {
    let app = TestApp::spawn().await;
    app.create_user_with_phone(ANNA, "+46701234567").await;
    let (client_id, secret) = app.web_client().await;
    let b = app.browser();
    let sent = start_with_key(&app, &b, &client_id, "+46 70 123 45 67").await;
    let code = app.sms_code("+46701234567").await;
    let used = b.type_code(&sent, "/login/code", &code).await;
    assert_eq!(used.status, 303, "{}", used.body);
    let claims = finish(&app, &b, used, (&client_id, &secret)).await;
    assert_eq!(claims["amr"], serde_json::json!(["sms"]));
    assert_eq!(claims["acr"], "urn:nyckel:acr:1fa");
}

#[tokio::test]
async fn a_name_with_line_breaks_adds_no_header_to_the_login_mail() {
    let app = TestApp::spawn().await;
    let sub = app.create_user(ANNA).await;
    sqlx::query("update users set name = $1 where id = $2")
        .bind("Anna\r\nBcc: thief@evil.test\r\nSubject: pwned")
        .bind(&sub)
        .execute(app.state.db.writer())
        .await
        .expect("name");
    app.browser().ask_key(ANNA).await;
    let mail = app.mails_to(ANNA).await.pop().expect("a login mail");
    let names: Vec<&str> = mail.headers.iter().map(|(k, _)| k.as_str()).collect();
    let mut expected = vec![
        "Auto-Submitted",
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
    ];
    let mut got: Vec<&str> = names
        .into_iter()
        .filter(|n| *n != "DKIM-Signature")
        .collect();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected, "{}", mail.raw);
    let head = mail.raw.split("\r\n\r\n").next().unwrap_or("");
    assert!(!head.contains("Bcc:") && !head.contains("pwned"), "{head}");
    assert_eq!(mail.header("To"), Some(ANNA));
}

#[tokio::test]
async fn login_keys_and_codes_never_appear_in_the_server_log() {
    let scratch = Install::new().await;
    let (d, url) = (scratch.path(), scratch.url().to_string());
    let mut server = ServerProcess::spawn(d, &url, "127.0.0.1:0", "https://localhost:8443", &[]);
    let base = format!("https://localhost:{}", server.addr.port());
    let (ok, _, err) = crate::cli::nyckel(
        d,
        &url,
        &[
            "user",
            "create",
            "--email",
            ANNA,
            "--phone",
            "+46701234567",
            "--phone-verified",
        ],
        None,
    );
    assert!(ok, "{err}");
    let b = Browser::at(server.addr, &base);
    b.ask_key(ANNA).await.expect_status(200);
    let sms_sent = b.ask_key("0701234567").await.expect_status(200);

    // The process's delivery loop writes the mail and the SMS into data/outbox.
    let outbox = d.join("data").join("outbox");
    let mut texts = Vec::new();
    for _ in 0..200 {
        texts = std::fs::read_dir(&outbox)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if texts.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(texts.len(), 2, "a mail and an SMS");
    let mail = texts.iter().find(|t| t.contains("/l/")).expect("the mail");
    let mail = crate::mail_outbox::parse("mail.eml".into(), mail.clone());
    let key = path_of(&mail.link("/l/"))
        .trim_start_matches("/l/")
        .to_string();
    let mail_code = code_in(&mail.text).expect("code in the mail");
    let sms = texts
        .iter()
        .find(|t| t.starts_with("To: "))
        .expect("the SMS");
    let sms_code = code_in(sms.split_once("\n\n").expect("sms").1).expect("code in the SMS");
    let used = b.type_code(&sms_sent, "/login/code", &sms_code).await;
    assert_eq!(used.status, 303, "{}", used.body);

    server.terminate();
    let log = server.output();
    assert!(
        log.contains("key sent"),
        "the log says something happened:\n{log}"
    );
    for secret in [&key, &mail_code, &sms_code] {
        assert!(!log.contains(secret.as_str()), "a secret reached the log");
    }
    let spaced = format!("{} {}", &sms_code[..3], &sms_code[3..]);
    assert!(!log.contains(&spaced));
}
