//! The mails that carry keys, over a real SMTP relay (helpers/smtp.rs): the login link, the
//! recovery link, the invitation and the administrator's reset link each arrive after
//! STARTTLS, in the person's own language (`users.locale`), with a link built from the
//! issuer and no password in the text or the HTML. (A relay without STARTTLS, or with an
//! untrusted certificate, gets nothing and the message stays queued: `mail_smtp.rs`.)

use std::path::PathBuf;

use nyckel::admin::Caller;

use crate::helpers::smtp::{Received, SmtpServer};
use crate::helpers::{PASSWORD, TestApp};
use crate::mail_outbox::Mail;

const ANNA: &str = "anna@example.org";
const BO: &str = "bo@example.org";

/// A relay with STARTTLS, a server sending through it, and two people: Anna (Swedish) and
/// Bo (English), members of IFK.
struct Setup {
    server: SmtpServer,
    app: TestApp,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let server = SmtpServer::starttls().await;
    let dir = tempfile::tempdir().expect("dir");
    let app = TestApp::spawn_with(|c| {
        server.relay_for(c, dir.path());
        c.mail.smtp_username = Some("nyckel".into());
        c.mail.smtp_password = Some("smtp-password-for-keys".into());
    })
    .await;
    let org = app.create_org("IFK Göteborg", "ifk").await;
    for (email, locale) in [(ANNA, "sv"), (BO, "en")] {
        app.create_user(email).await;
        sqlx::query("update users set locale = $1 where email = $2")
            .bind(locale)
            .bind(email)
            .execute(app.state.db.writer())
            .await
            .expect("locale");
        app.add_member(&org, email, &["member"]).await;
    }
    Setup {
        server,
        app,
        _dir: dir,
    }
}

/// Runs delivery passes until the relay has a message to `to` with a `path` link (the
/// server's own loop may deliver it meanwhile); returns it as received and parsed.
async fn arrived(s: &Setup, to: &str, path: &str) -> (Received, Mail) {
    for _ in 0..200 {
        nyckel::mail::deliver_due(&s.app.state)
            .await
            .expect("delivery pass");
        let found = s.server.messages().into_iter().find_map(|r| {
            if r.to != [to] {
                return None;
            }
            let document = r
                .data
                .strip_suffix("\r\n")
                .expect("CRLF framing")
                .to_string();
            let mail = crate::mail_outbox::parse(PathBuf::new(), document);
            mail.text.contains(path).then_some((r, mail))
        });
        if let Some(found) = found {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no message to {to} with a {path} link reached the relay");
}

/// Checks what every key mail promises; `subject` is the expected one.
fn check(s: &Setup, received: &Received, mail: &Mail, lang: &str, subject: &str, path: &str) {
    assert!(received.tls, "the message came after STARTTLS");
    assert!(received.auth.is_some(), "authenticated inside TLS");
    assert_eq!(mail.subject, subject);
    assert!(
        mail.html.contains(&format!("<html lang=\"{lang}\">")),
        "{}",
        mail.html
    );
    let link = mail.link(path);
    assert!(
        link.starts_with(&format!("{}{path}", s.app.issuer)),
        "{link}"
    );
    assert!(mail.html.contains(&link), "the HTML has the same link");
    for text in [&received.data, &mail.text, &mail.html] {
        assert!(!text.contains(PASSWORD), "the account's password in a mail");
    }
}

/// Waits for the mails with a `path` link to Anna (Swedish, subject `sv`) and Bo (English,
/// subject `en`), checks each ([`check`]); returns them.
async fn both_arrive(s: &Setup, path: &str, [sv, en]: [&str; 2]) -> [Mail; 2] {
    let (r, anna) = arrived(s, ANNA, path).await;
    check(s, &r, &anna, "sv", sv, path);
    let (r, bo) = arrived(s, BO, path).await;
    check(s, &r, &bo, "en", en, path);
    [anna, bo]
}

/// The subjects of the mail that sets a new password, in Swedish and in English.
const NEW_PASSWORD: [&str; 2] = ["Välj ett nytt lösenord", "Choose a new password"];

/// Asks for a key by `email` on `form_path` (`/login` or `/forgot`) in a fresh browser.
async fn ask(s: &Setup, form_path: &str, action: &str, email: &str) {
    let b = s.app.browser();
    let page = b.get(form_path).await;
    assert_eq!(page.status, 200);
    let sent = b.submit(&page, action, &[("identifier", email)]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
}

#[tokio::test]
async fn login_link_mails_arrive_over_tls_in_the_persons_language() {
    let s = setup().await;
    for email in [ANNA, BO] {
        ask(&s, "/login", "/login/key", email).await;
    }
    both_arrive(&s, "/l/", ["Din inloggningslänk", "Your sign-in link"]).await;
}

#[tokio::test]
async fn recovery_mails_arrive_over_tls_in_the_persons_language() {
    let s = setup().await;
    for email in [ANNA, BO] {
        ask(&s, "/forgot", "/forgot", email).await;
    }
    both_arrive(&s, "/reset/", NEW_PASSWORD).await;
}

#[tokio::test]
async fn invitation_mails_arrive_over_tls_in_the_persons_language() {
    let s = setup().await;
    s.app.create_org("Göteborgs Roddklubb", "gr").await;
    for email in [ANNA, BO] {
        nyckel::admin::invitations::create(
            &s.app.state,
            &Caller::operator(),
            "gr",
            email,
            &["member".to_string()],
        )
        .await
        .expect("invited");
    }
    let subjects = [
        "Inbjudan till Göteborgs Roddklubb",
        "Invitation to Göteborgs Roddklubb",
    ];
    both_arrive(&s, "/invite/", subjects).await;
}

#[tokio::test]
async fn administrators_reset_mails_arrive_over_tls_in_the_persons_language() {
    let s = setup().await;
    for email in [ANNA, BO] {
        let u = nyckel::store::users::find_by_email(&s.app.state.db, email)
            .await
            .expect("query")
            .expect("user");
        nyckel::admin::members::send_reset(&s.app.state, &Caller::operator(), "ifk", &u.id)
            .await
            .expect("reset sent");
    }
    for m in both_arrive(&s, "/reset/", NEW_PASSWORD).await {
        assert!(m.text.contains("IFK Göteborg"), "{}", m.text);
    }
}
