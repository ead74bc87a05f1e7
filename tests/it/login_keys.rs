//! Login links and codes (SECURITY.md section 4): a link survives mail scanners (GET/HEAD
//! change nothing) and works once, by POST, only in the browser that asked (another browser
//! does not burn it); expired, superseded and guessed keys fail; a code dies after five
//! wrong guesses; SMS codes go only to verified numbers; what the page answers is the same
//! for known and unknown addresses and numbers; a restart between asking and delivering loses
//! nothing and sends nothing twice; the database holds hashes only.

use nyckel::crypto::sha256_b64;
use nyckel::store;

use crate::helpers::browser::{Browser, Page};
use crate::helpers::{TestApp, code_in};
use crate::mail_outbox::Mail;

const ANNA: &str = "anna@example.org";
const ANNA_PHONE: &str = "+46701234567";

/// Asks for a login key on the login page of browser `b`.
pub async fn ask(b: &Browser, identifier: &str) -> Page {
    let login = b.get("/login").await;
    assert_eq!(login.status, 200);
    b.submit(&login, "/login/key", &[("identifier", identifier)])
        .await
}

/// The newest login mail to `email` (after a delivery pass).
async fn login_mail(app: &TestApp, email: &str) -> Mail {
    app.mails_to(email)
        .await
        .into_iter()
        .rev()
        .find(|m| m.text.contains("/l/"))
        .expect("a login mail")
}

fn path_of(link: &str) -> String {
    url::Url::parse(link).expect("url").path().to_string()
}

/// Whether the browser is logged in as `email` (the home page names the person).
async fn logged_in_as(b: &Browser, email: &str) -> bool {
    b.get("/").await.body.contains(email)
}

async fn key_row(app: &TestApp, link: &str) -> (Option<i64>, Option<String>) {
    let key = path_of(link).trim_start_matches("/l/").to_string();
    sqlx::query_as("select used_at, code_hash from login_keys where key_hash = $1")
        .bind(sha256_b64(&key))
        .fetch_one(app.state.db.pool())
        .await
        .expect("the key row")
}

async fn verify_phone(app: &TestApp, email: &str, phone: &str) {
    let u = store::users::find_by_email(&app.state.db, email)
        .await
        .expect("query")
        .expect("user");
    store::users::set_phone(&app.state.db, &u.id, Some(phone), true, app.state.now())
        .await
        .expect("phone set");
}

async fn session_amr(app: &TestApp, email: &str) -> Vec<String> {
    let u = store::users::find_by_email(&app.state.db, email)
        .await
        .expect("query")
        .expect("user");
    let (amr,): (String,) = sqlx::query_as(
        "select amr from sessions where user_id = $1 order by created_at desc limit 1",
    )
    .bind(&u.id)
    .fetch_one(app.state.db.pool())
    .await
    .expect("a session");
    serde_json::from_str(&amr).expect("amr list")
}

#[tokio::test]
async fn a_login_link_survives_scanners_and_works_once_by_post_in_the_browser_that_asked() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    let sent = ask(&a, ANNA).await;
    assert_eq!(sent.status, 200);
    assert!(sent.has_form("/login/code"), "{}", sent.body);
    let mail = login_mail(&app, ANNA).await;
    let link = mail.link("/l/");
    assert!(link.starts_with(&format!("{}/l/", app.issuer)));

    // A mail scanner: HEAD, then several GETs, without the browser's cookies.
    let scanner = app.http();
    let head = scanner.head(&link).send().await.expect("HEAD");
    assert!(head.status().is_client_error() || head.status().is_success());
    for _ in 0..3 {
        let res = scanner
            .get(&link)
            .header("user-agent", "Microsoft Office Existence Discovery")
            .send()
            .await
            .expect("GET");
        assert!(
            res.headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap_or("").contains("__Host-nyckel_session"))
        );
    }
    // The person's own browser, GET twice: a page with a form, nothing used.
    for _ in 0..2 {
        let page = a.get(&path_of(&link)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("a•••@example.org"));
    }
    assert_eq!(
        key_row(&app, &link).await.0,
        None,
        "GET or HEAD used the key"
    );
    assert!(!logged_in_as(&a, ANNA).await);

    let page = a.get(&path_of(&link)).await;
    let done = a.submit(&page, &path_of(&link), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/"));
    assert!(logged_in_as(&a, ANNA).await);
    assert_eq!(session_amr(&app, ANNA).await, vec!["email".to_string()]);

    // A second use fails.
    let again = a.submit(&page, &path_of(&link), &[]).await;
    assert_eq!(again.status, 410);
}

#[tokio::test]
async fn a_link_opened_in_another_browser_fails_without_burning_it() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    ask(&a, ANNA).await;
    let link = login_mail(&app, ANNA).await.link("/l/");

    let b = app.browser();
    let seen = b.get(&path_of(&link)).await;
    assert_eq!(seen.status, 403, "{}", seen.body);
    assert!(!seen.has_form(&path_of(&link)));
    // Even a forged POST from browser B (with B's own CSRF cookie) does not use it.
    let b_login = b.get("/login").await;
    let csrf = b_login.form("/login").expect("form")["csrf"].clone();
    let forged = b.post(&path_of(&link), &[("csrf", &csrf)]).await;
    assert_eq!(forged.status, 403);
    assert!(!logged_in_as(&b, ANNA).await);
    assert_eq!(key_row(&app, &link).await.0, None);

    let page = a.get(&path_of(&link)).await;
    let done = a.submit(&page, &path_of(&link), &[]).await;
    assert_eq!(done.status, 303);
    assert!(logged_in_as(&a, ANNA).await);
}

#[tokio::test]
async fn expired_superseded_and_guessed_links_fail() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    ask(&a, ANNA).await;
    let first = login_mail(&app, ANNA).await.link("/l/");
    app.advance(61);
    ask(&a, ANNA).await;
    let second = login_mail(&app, ANNA).await.link("/l/");
    assert_ne!(first, second);
    assert_eq!(a.get(&path_of(&first)).await.status, 410, "superseded");
    assert_eq!(a.get(&path_of(&second)).await.status, 200);

    let guessed = format!("/l/{}", nyckel::crypto::secret_token());
    assert_eq!(a.get(&guessed).await.status, 410);
    assert_eq!(a.post(&guessed, &[("csrf", "x")]).await.status, 403);
    assert_eq!(a.get("/l/short").await.status, 410);

    let page = a.get(&path_of(&second)).await;
    app.advance(app.state.config.login.link_ttl + 1);
    let late = a.submit(&page, &path_of(&second), &[]).await;
    assert_eq!(late.status, 410, "expired");
    assert!(!logged_in_as(&a, ANNA).await);
}

#[tokio::test]
async fn an_emailed_code_works_once_in_the_browser_that_asked_and_dies_after_five_wrong_guesses() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    let sent = ask(&a, ANNA).await;
    let mail = login_mail(&app, ANNA).await;
    let code = code_in(&mail.text).expect("a code in the mail");

    // Another browser cannot use the code.
    let b = app.browser();
    let b_sent = ask(&b, "nobody@example.org").await;
    let wrong_browser = b.submit(&b_sent, "/login/code", &[("code", &code)]).await;
    assert_eq!(wrong_browser.status, 200);
    assert!(wrong_browser.body.contains("The code is wrong"));
    assert!(!logged_in_as(&b, ANNA).await);

    // Five wrong guesses kill it (the right one afterwards fails too).
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let page = a.submit(&sent, "/login/code", &[("code", wrong)]).await;
        assert!(page.body.contains("The code is wrong"), "{}", page.body);
    }
    let dead = a.submit(&sent, "/login/code", &[("code", &code)]).await;
    assert_eq!(dead.status, 200);
    assert!(!logged_in_as(&a, ANNA).await);

    // A new request gives a new code that works, once.
    app.advance(61);
    let sent = ask(&a, ANNA).await;
    let code = code_in(&login_mail(&app, ANNA).await.text).expect("code");
    let ok = a.submit(&sent, "/login/code", &[("code", &code)]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(logged_in_as(&a, ANNA).await);
    let again = a.submit(&sent, "/login/code", &[("code", &code)]).await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("The code is wrong"));
}

#[tokio::test]
async fn sms_codes_go_only_to_verified_numbers_and_log_in_with_amr_sms() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    app.create_user("bertil@example.org").await;
    let bertil = store::users::find_by_email(&app.state.db, "bertil@example.org")
        .await
        .expect("q")
        .expect("bertil");
    // Bertil's number is not verified: no code is ever sent to it.
    store::users::set_phone(&app.state.db, &bertil.id, Some("+46709999999"), false, 0)
        .await
        .expect("phone");
    verify_phone(&app, ANNA, ANNA_PHONE).await;

    let b = app.browser();
    ask(&b, "070-999 99 99").await;
    assert!(app.sms_to("+46709999999").await.is_empty());

    let a = app.browser();
    let sent = ask(&a, "070-123 45 67").await;
    let sms = app.sms_to(ANNA_PHONE).await;
    assert_eq!(sms.len(), 1);
    let code = sms[0].code();
    assert!(
        sms[0].body.contains(&format!("#{code}")),
        "origin-bound line"
    );
    assert!(!sms[0].body.contains("anna"), "no personal text in an SMS");
    let ok = a.submit(&sent, "/login/code", &[("code", &code)]).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(logged_in_as(&a, ANNA).await);
    assert_eq!(session_amr(&app, ANNA).await, vec!["sms".to_string()]);
}

/// The page after asking, with the per-browser tokens blanked.
fn normalised(page: &Page) -> String {
    let mut body = page.body.clone();
    for field in ["csrf"] {
        if let Some(v) = page.form("/login/code").and_then(|f| f.get(field).cloned()) {
            body = body.replace(&v, "TOKEN");
        }
    }
    body
}

/// Welch's t statistic of two samples.
fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let var =
        |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64;
    let (ma, mb) = (mean(a), mean(b));
    (ma - mb) / (var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64).sqrt()
}

#[tokio::test]
async fn known_and_unknown_addresses_and_numbers_get_the_same_status_body_and_timing() {
    let app = TestApp::spawn_with(|c| {
        c.login.email_daily = 1000;
        c.login.email_cooldown = 0;
        c.login.per_ip_daily = 10000;
    })
    .await;
    app.create_user(ANNA).await;
    verify_phone(&app, ANNA, ANNA_PHONE).await;
    let b = app.browser();
    for (known, unknown) in [
        (ANNA, "nobody@example.org"),
        ("070-123 45 67", "070-765 43 21"),
    ] {
        let k = ask(&app.browser(), known).await;
        let u = ask(&app.browser(), unknown).await;
        assert_eq!(k.status, u.status);
        assert_eq!(normalised(&k), normalised(&u));
        let k_cookies: Vec<_> = k.headers.get_all("set-cookie").iter().collect();
        let u_cookies: Vec<_> = u.headers.get_all("set-cookie").iter().collect();
        assert_eq!(k_cookies.len(), u_cookies.len());
    }
    // Timing: interleaved samples of the request POST alone.
    let login = b.get("/login").await;
    let fields = login.form("/login/key").expect("form");
    let csrf = fields["csrf"].clone();
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..80 {
        for (who, samples) in [(ANNA, &mut known), ("nobody@example.org", &mut unknown)] {
            let started = std::time::Instant::now();
            let page = b
                .post("/login/key", &[("csrf", &csrf), ("identifier", who)])
                .await;
            let took = started.elapsed().as_secs_f64();
            assert_eq!(page.status, 200);
            if i >= 5 {
                samples.push(took);
            }
        }
    }
    let t = welch_t(&known, &unknown);
    // |t| < 3.9 is p > 0.0001 two-sided: only a systematic difference fails.
    assert!(
        t.abs() < 3.9,
        "known and unknown differ in timing: t = {t:.2}"
    );
}

#[tokio::test]
async fn a_restart_between_asking_and_delivering_loses_nothing_and_sends_nothing_twice() {
    let mut app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    // The node dies right after answering: its delivery loop never gets to the request.
    let old = app.state.clone();
    let _paused = old.mailer.pause().await;
    let a = app.browser();
    ask(&a, ANNA).await;
    let waiting = store::outbox::pending(&app.state.db)
        .await
        .expect("pending");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].channel, "request");
    assert_eq!(
        waiting[0].recipient, "-",
        "the address is not stored in clear"
    );

    app.restart().await;
    let mails = app.mails_to(ANNA).await;
    assert_eq!(mails.len(), 1, "exactly one login mail after the restart");
    assert!(
        app.mails_to(ANNA).await.len() == 1,
        "a second pass sends nothing"
    );
    let link = mails[0].link("/l/");
    let page = a.get(&path_of(&link)).await;
    let done = a.submit(&page, &path_of(&link), &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(logged_in_as(&a, ANNA).await);
}

#[tokio::test]
async fn a_request_processed_twice_after_a_crash_makes_one_key_and_one_message() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    // A queued request, claimed at once by this "node" (the background loop is not woken).
    let request = nyckel::auth::keys::request::KeyRequest {
        purpose: nyckel::auth::keys::request::Purpose::Login,
        identifier: ANNA.into(),
        binding_hash: sha256_b64("binding"),
        ip: "127.0.0.1".into(),
        next: None,
        locale: "en".into(),
        organisation_id: None,
        requested_at: app.state.now(),
    };
    let id = nyckel::crypto::random_id();
    let sealed = app.state.keys.seal_data(
        &serde_json::to_vec(&request).expect("json"),
        &nyckel::auth::keys::request::seal_context(&id),
    );
    let now = app.state.now();
    store::outbox::insert(
        &app.state.db,
        &store::outbox::NewMessage {
            id: &id,
            channel: "request",
            recipient: "-",
            payload: &sealed,
        },
        now,
    )
    .await
    .expect("queued");
    let claimed = store::outbox::claim_due(&app.state.db, now, 300, 12, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, id);
    // The first attempt "crashed" after doing its work but before the row was marked sent;
    // the lease lapses and the row is processed again.
    nyckel::auth::keys::process(&app.state, &claimed[0])
        .await
        .expect("first processing");
    nyckel::auth::keys::process(&app.state, &claimed[0])
        .await
        .expect("second processing");
    store::outbox::mark_sent(&app.state.db, &claimed[0].id, now)
        .await
        .expect("mark");
    let mails = app.mails_to(ANNA).await;
    assert_eq!(mails.len(), 1);
    let (keys,): (i64,) = sqlx::query_as("select count(*) from login_keys where purpose = 'login'")
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    assert_eq!(keys, 1);
    let (sends,): (i64,) = sqlx::query_as("select count(*) from message_sends")
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    assert_eq!(sends, 1, "the send limits counted it once");
}

#[tokio::test]
async fn the_database_holds_only_hashes_of_links_and_codes() {
    let app = TestApp::spawn().await;
    app.create_user(ANNA).await;
    let a = app.browser();
    ask(&a, ANNA).await;
    let mail = login_mail(&app, ANNA).await;
    let link = mail.link("/l/");
    let key = path_of(&link).trim_start_matches("/l/").to_string();
    let code = code_in(&mail.text).expect("code");
    let (_, code_hash) = key_row(&app, &link).await;
    let code_hash = code_hash.expect("a code hash");
    assert_ne!(code_hash, code);
    assert_ne!(
        code_hash,
        sha256_b64(&code),
        "codes are keyed hashes, not plain SHA-256"
    );
    let rows: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("select key_hash, code_hash, binding_hash from login_keys")
            .fetch_all(app.state.db.pool())
            .await
            .expect("rows");
    for (k, c, b) in rows {
        for v in [Some(k), c, b].into_iter().flatten() {
            assert!(!v.contains(&key) && !v.contains(&code));
        }
    }
    let outbox: Vec<(String, String)> = sqlx::query_as("select recipient, payload from outbox")
        .fetch_all(app.state.db.pool())
        .await
        .expect("outbox");
    for (recipient, payload) in outbox {
        assert!(!payload.contains(&key) && !payload.contains(&code) && !payload.contains(ANNA));
        assert!(!recipient.contains(&code));
    }
}
