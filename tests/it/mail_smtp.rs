//! SMTP delivery: messages reach a real (test) relay over STARTTLS with authentication, in
//! the person's language; a relay without STARTTLS or with an untrusted certificate gets
//! nothing and the message stays queued; plain SMTP is refused by configuration except to an
//! opted-in loopback relay.

use std::path::PathBuf;

use nyckel::config::Config;
use nyckel::store;

use crate::helpers::TestApp;
use crate::helpers::smtp::{SmtpServer, queue_invitation};

const SMTP_PASSWORD: &str = "canary-smtp-password-5e2c";

async fn app_for(server: &SmtpServer, dir: &tempfile::TempDir) -> TestApp {
    TestApp::spawn_with(|c| {
        server.relay_for(c, dir.path());
        c.mail.smtp_username = Some("nyckel".into());
        c.mail.smtp_password = Some(SMTP_PASSWORD.into());
    })
    .await
}

/// Queues the test invitation; returns its outbox id.
async fn invite(app: &TestApp, key: &str) -> String {
    queue_invitation(app, key).await;
    store::outbox::pending(&app.state.db)
        .await
        .expect("pending")[0]
        .id
        .clone()
}

#[tokio::test]
async fn an_invitation_is_delivered_over_starttls_in_the_persons_language() {
    let server = SmtpServer::starttls().await;
    let dir = tempfile::tempdir().expect("dir");
    let app = app_for(&server, &dir).await;
    assert!(app.state.mailer.backend.sends());
    let described = app.state.mailer.backend.describe();
    assert!(
        described.contains(&format!("127.0.0.1:{}", server.port)),
        "{described}"
    );
    assert!(described.contains("STARTTLS") && !described.contains(SMTP_PASSWORD));
    assert!(!format!("{:?}", app.state.config).contains(SMTP_PASSWORD));

    let key = "canary-smtp-invite-key-1d4e";
    let id = invite(&app, key).await;
    // The server's own delivery loop may have taken it; when this pass returns, it was tried.
    nyckel::mail::deliver_due(&app.state).await.expect("pass");

    let received = server.messages();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert!(m.tls, "the message came after STARTTLS");
    assert_eq!(m.from, "nyckel@localhost");
    assert_eq!(m.to, ["anna@example.org"]);
    assert_eq!(
        m.auth.as_deref(),
        Some(format!(" nyckel {SMTP_PASSWORD}").as_str()),
        "authenticated (inside TLS)"
    );
    assert!(
        !m.data.contains(SMTP_PASSWORD),
        "no password in the message"
    );
    // lettre ends DATA with CRLF.CRLF after the document's own final CRLF: one empty
    // epilogue line.
    let document = m.data.strip_suffix("\r\n").expect("CRLF framing");
    let mail = crate::mail_outbox::parse(PathBuf::new(), document.to_string());
    assert_eq!(mail.subject, "Inbjudan till Göteborgs Roddklubb");
    assert!(mail.html.contains("<html lang=\"sv\">"));
    assert_eq!(
        mail.link("/invite/"),
        format!("{}/invite/{key}", app.issuer)
    );

    let status = store::outbox::status(&app.state.db, &id)
        .await
        .expect("status")
        .expect("row");
    assert!(status.sent_at.is_some() && status.last_error.is_none());
    assert!(app.mails().await.is_empty(), "no .eml files with a relay");
    app.advance(3600);
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    assert_eq!(server.messages().len(), 1, "never sent twice");
}

/// Delivery to `server` fails; the message stays queued with a reason and nothing arrives.
async fn refused(server: SmtpServer) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let app = app_for(&server, &dir).await;
    let key = "canary-smtp-refused-key-8a1b";
    let id = invite(&app, key).await;
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    assert_eq!(*server.connections.lock().expect("lock"), 1, "it did try");
    assert!(server.messages().is_empty(), "nothing was sent");
    let status = store::outbox::status(&app.state.db, &id)
        .await
        .expect("status")
        .expect("the message is kept");
    assert!(status.sent_at.is_none());
    assert_eq!(status.attempts, 1);
    let error = status.last_error.expect("last_error says why");
    for secret in [SMTP_PASSWORD, key, "Roddklubb"] {
        assert!(!error.contains(secret), "{secret:?} in last_error: {error}");
    }
    error
}

#[tokio::test]
async fn a_relay_without_starttls_gets_nothing() {
    let error = refused(SmtpServer::without_starttls().await).await;
    assert!(error.contains("SMTP relay 127.0.0.1:"), "{error}");
}

#[tokio::test]
async fn a_relay_with_an_untrusted_certificate_gets_nothing() {
    let error = refused(SmtpServer::untrusted().await).await;
    assert!(error.contains("SMTP relay 127.0.0.1:"), "{error}");
}

#[test]
fn plain_smtp_is_refused_except_to_an_opted_in_loopback_relay() {
    let with = |host: &str, opt_in: bool| {
        let mut c = Config::default();
        c.mail.smtp_host = Some(host.into());
        c.mail.smtp_tls = "none".into();
        c.mail.smtp_allow_plain_loopback = opt_in;
        c.validate()
    };
    for (host, opt_in) in [
        ("smtp.example.org", true),
        ("192.0.2.1", true),
        ("127.0.0.1", false),
        ("localhost", false),
    ] {
        let err = with(host, opt_in).expect_err("plain SMTP refused");
        assert!(err.to_string().contains("mail.smtp_tls"), "{err}");
    }
    with("127.0.0.1", true).expect("opted-in loopback relay");
    with("::1", true).expect("opted-in loopback relay");
    let mut c = Config::default();
    c.mail.smtp_host = Some("smtp.example.org".into());
    c.mail.smtp_tls = "sometimes".into();
    assert!(
        c.validate()
            .expect_err("bad mode")
            .to_string()
            .contains("mail.smtp_tls")
    );
    c.mail.smtp_tls = "starttls".into();
    c.mail.smtp_username = Some("u".into());
    assert!(
        c.validate()
            .expect_err("no password")
            .to_string()
            .contains("mail.smtp_password")
    );
}
