//! Login throttling: progressive per-account delay, the time-boxed hard stop, the per-IP
//! ladder, counters kept in the database, and no difference between known and unknown emails.

use nyckel::auth::throttle::{account_key, ip_key};
use nyckel::http::cookies::SESSION_COOKIE;
use nyckel::store::throttle::{self, Counter};

use crate::helpers::authorize::count;
use crate::helpers::browser::{Browser, Page};
use crate::helpers::login::{anna, audit};
use crate::helpers::{PASSWORD, TestApp};

const WRONG: &str = "fel lösenord vid bryggan 9";
const THROTTLED: &str = "Too many attempts. Wait a little and try again.";

async fn counter(app: &TestApp, key: &str) -> Counter {
    throttle::get(&app.state.db, key).await.expect("counter")
}

fn localhost_key() -> String {
    ip_key("127.0.0.1".parse().expect("ip"))
}

fn assert_throttled(res: &Page) {
    assert_eq!(res.status, 429, "{}", res.body);
    assert!(res.body.contains(THROTTLED), "{}", res.body);
    assert!(res.set_cookie(SESSION_COOKIE).is_none());
    assert!(res.header("retry-after").is_some());
}

#[tokio::test]
async fn five_failures_delay_the_next_attempt_even_with_the_right_password() {
    let (app, _, browser) = anna().await;
    for _ in 0..5 {
        let res = browser.login("anna@example.org", WRONG).await;
        assert_eq!(res.status, 200);
        assert!(
            res.body
                .contains("The email address or password is not correct.")
        );
    }
    let res = browser.login("anna@example.org", PASSWORD).await;
    assert_throttled(&res);
    assert_eq!(res.header("retry-after"), Some("5"));
    assert!(
        res.body.contains("value=\"anna@example.org\""),
        "the email is kept"
    );
    assert_eq!(count(&app, "sessions").await, 0);
    // The throttled attempt was not counted and not checked.
    assert_eq!(
        counter(&app, &account_key("anna@example.org"))
            .await
            .failures,
        5
    );
    assert_eq!(audit(&app, "login.throttled").await.len(), 1);

    app.advance(5);
    let res = browser.login("anna@example.org", PASSWORD).await;
    assert_eq!(res.status, 303, "{}", res.body);
}

#[tokio::test]
async fn hundred_failures_stop_the_account_until_the_window_passes() {
    let (app, _, browser) = anna().await;
    let window = app.state.config.throttle.hard_stop_window;
    // Wait out every delay (per account at most 60 s, per IP at most 600 s) between attempts.
    for i in 0..100 {
        app.advance(601);
        let res = browser.login("anna@example.org", WRONG).await;
        assert_eq!(res.status, 200, "attempt {i} was checked: {}", res.body);
    }
    assert_eq!(
        counter(&app, &account_key("anna@example.org"))
            .await
            .failures,
        100
    );

    // Hard stop: even the right password, well after any delay.
    for wait in [601, 3600, window - 3600 - 601 - 1] {
        app.advance(wait);
        assert_throttled(&browser.login("anna@example.org", PASSWORD).await);
    }
    // Never permanent: lifted once the window since the last failure has passed.
    app.advance(1);
    let res = browser.login("anna@example.org", PASSWORD).await;
    assert_eq!(res.status, 303, "{}", res.body);
    assert_eq!(
        counter(&app, &account_key("anna@example.org")).await,
        Counter::default()
    );
}

#[tokio::test]
async fn unknown_email_is_throttled_like_a_known_one() {
    let (app, _, browser) = anna().await;
    for _ in 0..5 {
        assert_eq!(browser.login("anna@example.org", WRONG).await.status, 200);
        assert_eq!(browser.login("bert@example.org", WRONG).await.status, 200);
    }
    let known = browser.login("anna@example.org", PASSWORD).await;
    let unknown = browser.login("bert@example.org", PASSWORD).await;
    assert_throttled(&known);
    assert_throttled(&unknown);
    assert_eq!(known.header("retry-after"), unknown.header("retry-after"));
    assert_eq!(
        known.body.replace("anna@example.org", "EMAIL"),
        unknown.body.replace("bert@example.org", "EMAIL")
    );
    assert_eq!(
        counter(&app, &account_key("bert@example.org"))
            .await
            .failures,
        5
    );
}

#[tokio::test]
async fn counters_live_in_the_database_and_success_clears_only_the_account() {
    let app = TestApp::spawn().await;
    app.create_user("anna@example.org").await;
    // Two browsers (as two nodes would see them) count into the same rows, whatever the case.
    let one = Browser::new(&app);
    let two = Browser::new(&app);
    assert_eq!(one.login("anna@example.org", WRONG).await.status, 200);
    assert_eq!(two.login("ANNA@example.org", WRONG).await.status, 200);
    assert_eq!(one.login(" Anna@Example.Org", WRONG).await.status, 200);

    let key = account_key("anna@example.org");
    assert!(key.starts_with("acct:") && !key.contains("anna"));
    let acct = counter(&app, &key).await;
    assert_eq!(acct.failures, 3);
    assert_eq!(acct.last_failure_at, app.state.now());
    assert_eq!(counter(&app, &localhost_key()).await.failures, 3);
    let (rows,): (i64,) = sqlx::query_as("select count(*) from login_throttle")
        .fetch_one(app.state.db.pool())
        .await
        .expect("count");
    assert_eq!(rows, 2, "one account row and one IP row");

    assert_eq!(two.login("anna@example.org", PASSWORD).await.status, 303);
    assert_eq!(
        counter(&app, &key).await.failures,
        0,
        "success clears the account"
    );
    assert_eq!(
        counter(&app, &localhost_key()).await.failures,
        3,
        "but not the address"
    );
}

#[tokio::test]
async fn many_failures_from_one_address_slow_it_down() {
    let (app, _, browser) = anna().await;
    let free = app.state.config.throttle.ip_free_failures;
    // Spread over many accounts (credential stuffing): no account reaches its own delay.
    for i in 0..free {
        let res = browser.login(&format!("guess{i}@example.org"), WRONG).await;
        assert_eq!(res.status, 200, "failure {i} is free");
    }
    assert_eq!(
        browser.login("guess-last@example.org", WRONG).await.status,
        200
    );
    assert_eq!(counter(&app, &localhost_key()).await.failures, free + 1);

    // Now the address waits, even for a right password on an untouched account.
    let res = browser.login("anna@example.org", PASSWORD).await;
    assert_throttled(&res);
    assert_eq!(res.header("retry-after"), Some("60"));
    app.advance(60);
    assert_eq!(
        browser.login("anna@example.org", PASSWORD).await.status,
        303
    );
}

#[tokio::test]
async fn a_burst_of_concurrent_attempts_cannot_pass_the_hard_stop() {
    let app = TestApp::spawn().await;
    app.create_user("anna@example.org").await;
    let key = account_key("anna@example.org");
    let window = app.state.config.throttle.hard_stop_window;
    let hard_stop = app.state.config.throttle.account_hard_stop;
    for _ in 0..hard_stop - 1 {
        throttle::record_failure(&app.state.db, &key, app.state.now(), window)
            .await
            .expect("seed");
    }
    app.advance(61);
    let browser = Browser::new(&app);
    let csrf = browser.get("/login").await.login_form()["csrf"].clone();

    // One attempt short of the hard stop, 20 guesses arrive at once.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let client = browser.client.clone();
        let url = app.url("/login");
        let csrf = csrf.clone();
        tasks.spawn(async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("email", "anna@example.org"),
                ("password", WRONG),
            ];
            let res = client.post(url).form(&fields).send().await.expect("POST");
            res.status().as_u16()
        });
    }
    let mut checked = 0;
    let mut throttled = 0;
    while let Some(status) = tasks.join_next().await {
        match status.expect("task") {
            200 => checked += 1,
            429 => throttled += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        checked, 1,
        "only the 100th guess is checked ({throttled} throttled)"
    );
    assert_eq!(throttled, 19);
    assert_eq!(audit(&app, "login.failure").await.len(), 1);

    app.advance(601);
    assert_throttled(&browser.login("anna@example.org", PASSWORD).await);
}
