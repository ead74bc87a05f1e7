//! Graceful shutdown: SIGTERM lets requests in flight finish, then stops cleanly (exit status 0).

use crate::helpers::process::ServerProcess;

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let (_fresh, mut server) = ServerProcess::fresh(&[]).await;
    let res = server
        .http()
        .get(format!("{}/health/ready", server.base()))
        .send()
        .await
        .expect("ready");
    assert_eq!(res.status(), 200);
    assert!(
        server.terminate(),
        "exit status 0 after SIGTERM:\n{}",
        server.output()
    );
    assert!(server.output().contains("stopped"), "{}", server.output());
}

#[tokio::test]
async fn requests_in_flight_at_sigterm_are_answered() {
    let (fresh, mut server) =
        ServerProcess::fresh(&[("NYCKEL_PASSWORD__MAX_CONCURRENT_HASHES", "1")]).await;
    let base = server.base();
    let (http, _jar) = crate::helpers::browser::client_with_jar(server.addr);
    let page = crate::helpers::ops::get_text(&http, &format!("{base}/login")).await;
    let csrf = crate::helpers::browser::form_fields(&page, "/login")
        .and_then(|f| f.get("csrf").cloned())
        .expect("csrf field");
    // Ten logins, each an argon2id run, one at a time: they queue in the server for well over
    // the moment the signal arrives.
    let requests: Vec<_> = (0..10)
        .map(|i| {
            let http = http.clone();
            let csrf = csrf.clone();
            let base = base.clone();
            tokio::spawn(async move {
                let email = format!("nobody{i}@example.org");
                http.post(format!("{base}/login"))
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("email", &email),
                        ("password", "not the right password at all"),
                    ])
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    // Wait until the server has counted all ten attempts (each is counted before its hash
    // waits for the one hashing slot): then all ten are in flight, not still connecting.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(fresh.url()).await.expect("database");
    let started = std::time::Instant::now();
    loop {
        let counted: Option<(i64,)> =
            sqlx::query_as("select failures from login_throttle where key = 'ip:127.0.0.1'")
                .fetch_optional(&pool)
                .await
                .expect("query");
        if counted.is_some_and(|(n,)| n >= 10) {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the logins did not reach the server:\n{}",
            server.output()
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    pool.close().await;
    let pid = server.pid();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    for r in requests {
        let status = r.await.expect("task").expect("answered, not cut off");
        assert_eq!(status, 200, "the in-flight login finished normally");
    }
    assert!(server.terminate(), "exit status 0:\n{}", server.output());
}
