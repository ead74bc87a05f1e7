//! Graceful shutdown: SIGTERM stops the server cleanly (exit status 0, pool closed).

use crate::helpers::db;
use crate::helpers::process::ServerProcess;

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let url = db::prepare(dir.path()).await.url;
    let mut server = ServerProcess::spawn(
        dir.path(),
        &url,
        "127.0.0.1:0",
        "https://localhost:8443",
        &[],
    );
    let http = crate::helpers::browser::client(server.addr, false);
    let res = http
        .get(format!(
            "https://localhost:{}/health/ready",
            server.addr.port()
        ))
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
