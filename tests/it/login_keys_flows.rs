//! Login keys inside the OIDC flow and around it: a login by link or SMS code continues the
//! pending authorization request and the ID token reports what happened (`amr` `email` or
//! `sms`, one factor: never `mfa`); names with line breaks add no mail header; no key or
//! code ever reaches the server's log.

use nyckel::store;

use crate::flows::authorize_url;
use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::process::ServerProcess;
use crate::helpers::token::{Auth, decode, redeem};
use crate::helpers::{TestApp, code_in, db};

const ANNA: &str = "anna@example.org";

fn path_of(link: &str) -> String {
    url::Url::parse(link).expect("url").path().to_string()
}

/// Starts an authorization request in `b` and asks for a login key from its login page.
async fn start_with_key(app: &TestApp, b: &Browser, client_id: &str, identifier: &str) -> Page {
    let start = authorize_url(&app.issuer, client_id, "openid email", "st", None, &[]);
    let login = b.follow(b.get(&start).await).await;
    assert!(login.has_form("/login/key"), "{}", login.body);
    b.submit(&login, "/login/key", &[("identifier", identifier)])
        .await
}

/// Follows the browser to the client and redeems the code; returns the ID token's claims.
async fn finish(app: &TestApp, b: &Browser, page: Page, client: (&str, &str)) -> serde_json::Value {
    let mut page = b.follow(page).await;
    if page.has_form("/consent") {
        let allowed = b.submit(&page, "/consent", &[("decision", "allow")]).await;
        page = b.follow(allowed).await;
    }
    let location = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("{}", page.body));
    let code = query(&location)["code"].clone();
    let res = redeem(
        app,
        Auth::Basic(client.0, client.1),
        &code,
        Some(crate::helpers::authorize::VERIFIER),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.json);
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
    let page = b.get(&path_of(&link)).await;
    let used = b.submit(&page, &path_of(&link), &[]).await;
    assert_eq!(used.status, 303);
    assert!(
        used.location
            .as_deref()
            .is_some_and(|l| l.starts_with("/authorize/continue?req=")),
        "{:?}",
        used.location
    );
    let claims = finish(&app, &b, used, (&client_id, &secret)).await;
    assert_eq!(claims["amr"], serde_json::json!(["email"]));
    assert_eq!(claims["acr"], "urn:nyckel:acr:1fa");
    assert_eq!(claims["email"], ANNA);
}

#[tokio::test]
async fn an_sms_code_continues_the_authorization_request_and_reports_sms() {
    let app = TestApp::spawn().await;
    let sub = app.create_user(ANNA).await;
    store::users::set_phone(&app.state.db, &sub, Some("+46701234567"), true, 0)
        .await
        .expect("phone");
    let (client_id, secret) = app.web_client().await;
    let b = app.browser();
    let sent = start_with_key(&app, &b, &client_id, "+46 70 123 45 67").await;
    let code = app
        .sms_to("+46701234567")
        .await
        .pop()
        .expect("an SMS")
        .code();
    let used = b.submit(&sent, "/login/code", &[("code", &code)]).await;
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
    let b = app.browser();
    let login = b.get("/login").await;
    b.submit(&login, "/login/key", &[("identifier", ANNA)])
        .await;
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
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
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
    let login = b.get("/login").await;
    let sent = b
        .submit(&login, "/login/key", &[("identifier", ANNA)])
        .await;
    assert_eq!(sent.status, 200);
    let sms_sent = b
        .submit(&login, "/login/key", &[("identifier", "0701234567")])
        .await;
    assert_eq!(sms_sent.status, 200);

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
    let used = b
        .submit(&sms_sent, "/login/code", &[("code", &sms_code)])
        .await;
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
