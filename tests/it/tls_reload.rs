//! Certificate renewal without a restart: when the certificate and key files are replaced on
//! disk, new connections get the new certificate; files that do not load (a half-finished
//! renewal) leave the current certificate in place.

use std::time::Duration;

use crate::helpers::TestApp;

/// The certificate a new connection is given.
async fn served_certificate(app: &TestApp) -> Vec<u8> {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", app.addr)
        .tls_info(true)
        .build()
        .expect("client");
    let res = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    res.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("a peer certificate")
        .to_vec()
}

fn write_pair(app: &TestApp, cert: &str, key: &str) {
    let dir = &app.state.config.keys_dir;
    // Key first, then certificate, like most renewal tools; each file replaced atomically.
    for (name, text) in [("tls.key", key), ("tls.crt", cert)] {
        let tmp = dir.join(format!(".{name}.new"));
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, dir.join(name)).expect("rename");
    }
}

async fn wait_for_change(app: &TestApp, old: &[u8]) -> Option<Vec<u8>> {
    for _ in 0..60 {
        let now = served_certificate(app).await;
        if now != old {
            return Some(now);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn replaced_certificate_files_are_served_to_new_connections_without_a_restart() {
    let app = TestApp::spawn_with(|c| c.tls.reload_interval = 1).await;
    let first = served_certificate(&app).await;

    // A broken renewal (a certificate with someone else's key) is not taken.
    let a = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    let b = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    write_pair(&app, &a.cert.pem(), &b.key_pair.serialize_pem());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        served_certificate(&app).await,
        first,
        "a mismatched pair was served"
    );

    // A good renewal is.
    let renewed = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    write_pair(&app, &renewed.cert.pem(), &renewed.key_pair.serialize_pem());
    let now = wait_for_change(&app, &first)
        .await
        .expect("the new certificate was not served within 6 s");
    assert_eq!(now, renewed.cert.der().to_vec());
}
