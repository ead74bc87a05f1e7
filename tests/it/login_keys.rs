//! Login links and codes (SECURITY.md section 4): a link survives mail scanners (GET/HEAD
//! change nothing) and works once, by POST, only in the browser that asked (another browser
//! does not burn it); expired, superseded and guessed keys fail; a code dies after five
//! wrong guesses; SMS codes go only to verified numbers; what the page answers is the same
//! for known and unknown addresses and numbers; a restart between asking and delivering loses
//! nothing and sends nothing twice; the database holds hashes only.

use nyckel::crypto::sha256_b64;
use nyckel::store;

use crate::helpers::browser::Page;
use crate::helpers::pages::{path_of, wrong_code};
use crate::helpers::{TestApp, code_in};

const ANNA: &str = "anna@example.org";
const ANNA_PHONE: &str = "+46701234567";
const LINK: &str = "/l/";

/// Anna's account, and a browser that asked for a login key for her; its page after asking.
async fn anna_asked(app: &TestApp) -> (crate::helpers::Browser, Page) {
    app.create_user(ANNA).await;
    let a = app.browser();
    let sent = a.ask_key(ANNA).await;
    (a, sent)
}

/// The hash of the code of the login key in `link`.
async fn code_hash(app: &TestApp, link: &str) -> Option<String> {
    let key = path_of(link).trim_start_matches(LINK).to_string();
    sqlx::query_scalar("select code_hash from login_keys where key_hash = $1")
        .bind(sha256_b64(&key))
        .fetch_one(app.state.db.pool())
        .await
        .expect("the key row")
}

async fn session_amr(app: &TestApp, email: &str) -> Vec<String> {
    let id = app.account(email).await.id;
    let amr: String = sqlx::query_scalar(
        "select amr from sessions where user_id = $1 order by created_at desc limit 1",
    )
    .bind(&id)
    .fetch_one(app.state.db.pool())
    .await
    .expect("a session");
    serde_json::from_str(&amr).expect("amr list")
}

#[tokio::test]
async fn a_login_link_survives_scanners_and_works_once_by_post_in_the_browser_that_asked() {
    let app = TestApp::spawn().await;
    let (a, sent) = anna_asked(&app).await;
    assert_eq!(sent.status, 200);
    sent.assert_form("/login/code");
    let link = app.link_in_mail(ANNA, LINK).await;
    assert!(link.starts_with(&app.url(LINK)));

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
        a.open(&link).await.assert_shows("a•••@example.org");
    }
    let unused = app.key_used(&link).await;
    assert_eq!(unused, None, "GET or HEAD used the key");
    assert!(!a.signed_in_as(ANNA).await);

    let page = a.get(&link).await;
    let done = a.submit(&page, &path_of(&link), &[]).await;
    done.assert_redirect("/");
    assert!(a.signed_in_as(ANNA).await);
    assert_eq!(session_amr(&app, ANNA).await, vec!["email".to_string()]);

    // A second use fails.
    let again = a.submit(&page, &path_of(&link), &[]).await;
    assert_eq!(again.status, 410);
}

#[tokio::test]
async fn a_link_opened_in_another_browser_fails_without_burning_it() {
    let app = TestApp::spawn().await;
    let (a, _) = anna_asked(&app).await;
    let link = app.link_in_mail(ANNA, LINK).await;

    let b = app.browser();
    let seen = b.get(&link).await.expect_status(403);
    seen.assert_no_form(&path_of(&link));
    // Even a forged POST from browser B (with B's own CSRF cookie) does not use it.
    let csrf = b.get("/login").await.csrf("/login");
    let forged = b.post(&path_of(&link), &[("csrf", &csrf)]).await;
    assert_eq!(forged.status, 403);
    assert!(!b.signed_in_as(ANNA).await);
    assert_eq!(app.key_used(&link).await, None);

    assert_eq!(a.use_link(&link).await.status, 303);
    assert!(a.signed_in_as(ANNA).await);
}

#[tokio::test]
async fn expired_superseded_and_guessed_links_fail() {
    let app = TestApp::spawn().await;
    let (a, _) = anna_asked(&app).await;
    let first = app.link_in_mail(ANNA, LINK).await;
    app.advance(61);
    a.ask_key(ANNA).await;
    let second = app.link_in_mail(ANNA, LINK).await;
    assert_ne!(first, second);
    assert_eq!(a.get(&first).await.status, 410, "superseded");
    assert_eq!(a.get(&second).await.status, 200);

    let guessed = format!("/l/{}", nyckel::crypto::secret_token());
    assert_eq!(a.get(&guessed).await.status, 410);
    assert_eq!(a.post(&guessed, &[("csrf", "x")]).await.status, 403);
    assert_eq!(a.get("/l/short").await.status, 410);

    let page = a.get(&second).await;
    app.advance(app.state.config.login.link_ttl + 1);
    let late = a.submit(&page, &path_of(&second), &[]).await;
    assert_eq!(late.status, 410, "expired");
    assert!(!a.signed_in_as(ANNA).await);
}

#[tokio::test]
async fn an_emailed_code_works_once_in_the_browser_that_asked_and_dies_after_five_wrong_guesses() {
    let app = TestApp::spawn().await;
    let (a, sent) = anna_asked(&app).await;
    let code = app.code_in_mail(ANNA, LINK).await;

    // Another browser cannot use the code.
    let b = app.browser();
    let b_sent = b.ask_key("nobody@example.org").await;
    let wrong_browser = b.type_code(&b_sent, "/login/code", &code).await;
    wrong_browser.assert_says(200, "The code is wrong");
    assert!(!b.signed_in_as(ANNA).await);

    // Five wrong guesses kill it (the right one afterwards fails too).
    for _ in 0..5 {
        let page = a.type_code(&sent, "/login/code", wrong_code(&code)).await;
        page.assert_shows("The code is wrong");
    }
    let dead = a.type_code(&sent, "/login/code", &code).await;
    assert_eq!(dead.status, 200);
    assert!(!a.signed_in_as(ANNA).await);

    // A new request gives a new code that works, once.
    app.advance(61);
    let sent = a.ask_key(ANNA).await;
    let code = app.code_in_mail(ANNA, LINK).await;
    let ok = a.type_code(&sent, "/login/code", &code).await;
    ok.expect_status(303);
    assert!(a.signed_in_as(ANNA).await);
    let again = a.type_code(&sent, "/login/code", &code).await;
    again.assert_says(200, "The code is wrong");
}

#[tokio::test]
async fn sms_codes_go_only_to_verified_numbers_and_log_in_with_amr_sms() {
    let app = TestApp::spawn().await;
    app.create_user_with_phone(ANNA, ANNA_PHONE).await;
    app.create_user("bertil@example.org").await;
    // Bertil's number is not verified: no code is ever sent to it.
    app.set_phone("bertil@example.org", "+46709999999", false)
        .await;

    app.browser().ask_key("070-999 99 99").await;
    assert!(app.sms_to("+46709999999").await.is_empty());

    let a = app.browser();
    let sent = a.ask_key("070-123 45 67").await;
    let sms = app.sms_to(ANNA_PHONE).await;
    assert_eq!(sms.len(), 1);
    let code = sms[0].code();
    assert!(
        sms[0].body.contains(&format!("#{code}")),
        "origin-bound line"
    );
    assert!(!sms[0].body.contains("anna"), "no personal text in an SMS");
    let ok = a.type_code(&sent, "/login/code", &code).await;
    ok.expect_status(303);
    assert!(a.signed_in_as(ANNA).await);
    assert_eq!(session_amr(&app, ANNA).await, vec!["sms".to_string()]);
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
    app.create_user_with_phone(ANNA, ANNA_PHONE).await;
    let b = app.browser();
    for (known, unknown) in [
        (ANNA, "nobody@example.org"),
        ("070-123 45 67", "070-765 43 21"),
    ] {
        let k = app.browser().ask_key(known).await;
        let u = app.browser().ask_key(unknown).await;
        assert_eq!(k.status, u.status);
        assert_eq!(k.without_csrf("/login/code"), u.without_csrf("/login/code"));
        assert_eq!(k.set_cookies().len(), u.set_cookies().len());
    }
    // Timing: interleaved samples of the request POST alone.
    let csrf = b.get("/login").await.csrf("/login/key");
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
    a.ask_key(ANNA).await;
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
    let done = a.use_link(&mails[0].link(LINK)).await;
    done.expect_status(303);
    assert!(a.signed_in_as(ANNA).await);
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
    anna_asked(&app).await;
    let mail = app.mail_with(ANNA, LINK).await;
    let link = mail.link(LINK);
    let key = path_of(&link).trim_start_matches(LINK).to_string();
    let code = code_in(&mail.text).expect("code");
    let code_hash = code_hash(&app, &link).await.expect("a code hash");
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
