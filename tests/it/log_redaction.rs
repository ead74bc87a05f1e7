//! Keys in paths never reach the log (issue 14, defect 7): a path that matches no route is
//! logged redacted, a matched one as its route pattern, so `/reset/<key>/` or `/l/<key>/x`
//! (a live key with a stray suffix) cannot write the key to the log at any level.

use nyckel::http::api::table::{Method, PREFIX};

use crate::helpers::process::ServerProcess;
use crate::helpers::{browser, openapi_check};

#[tokio::test]
async fn keys_in_unmatched_and_matched_paths_are_not_logged() {
    let (_fresh, mut server) = ServerProcess::fresh(&[]).await;
    let http = browser::client(server.addr, false);
    let base = format!("https://localhost:{}", server.addr.port());
    let key = nyckel::crypto::secret_token();
    let paths = [
        format!("/reset/{key}/"),
        format!("/l/{key}/x"),
        format!("/invite/{key}/more"),
        format!("/{key}"),
        format!("/reset/{key}"),
        format!("/l/{key}"),
        format!("{PREFIX}/{key}"),
    ];
    for path in &paths {
        let res = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        assert!(status < 500, "{path}: {status}");
        // An admin-API answer keeps to the OpenAPI document; the others are pages.
        if let Some(api_path) = path.strip_prefix(PREFIX) {
            let body = res.text().await.expect("body");
            openapi_check::check(Method::Get, api_path, status, &body);
        }
    }
    assert!(server.terminate(), "the server stops cleanly");
    let logs = server.output();
    let logged = logs
        .lines()
        .filter(|l| l.contains("request") && l.contains("status="))
        .count();
    assert!(
        logged >= paths.len(),
        "every request is logged at debug ({logged} lines):\n{logs}"
    );
    assert!(
        !logs.contains(&key),
        "a key from a path reached the log:\n{logs}"
    );
}
