//! The mail outbox: messages are queued sealed, delivered once as RFC 5322 `.eml` files in
//! the person's language, and a failing delivery is retried with backoff without losing the
//! message. Also the parser the other tests read mail with (strict about line ends, line
//! lengths and MIME structure, so a malformed message fails the test that reads it).

use std::path::{Path, PathBuf};

use base64::Engine;
use nyckel::i18n::Locale;
use nyckel::mail::Notice;
use nyckel::store;

use crate::helpers::TestApp;

/// A delivered message, parsed.
#[derive(Debug, Clone)]
pub struct Mail {
    pub file: PathBuf,
    pub raw: String,
    /// Unfolded headers, in order, values as written (encoded words not decoded).
    pub headers: Vec<(String, String)>,
    /// The decoded subject.
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first URL in the text part whose path starts with `path` (e.g. `/reset/`).
    pub fn link(&self, path: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("https://") && w.contains(path))
            .unwrap_or_else(|| panic!("no {path} link in:\n{}", self.text))
            .to_string()
    }
}

/// Every `.eml` file in `dir`, parsed, in file-name order.
pub fn read_dir(dir: &Path) -> Vec<Mail> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // Nothing was ever written: the folder is made with the first message.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let raw = std::fs::read_to_string(&f).expect("a message file is UTF-8 text");
            parse(f, raw)
        })
        .collect()
}

/// Parses a message, asserting the shape Nyckel promises.
pub fn parse(file: PathBuf, raw: String) -> Mail {
    assert!(
        !raw.replace("\r\n", "").contains(['\r', '\n']),
        "every line ends in CRLF"
    );
    assert!(
        raw.is_ascii(),
        "the document is 7-bit (UTF-8 only in encoded form)"
    );
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("headers, blank line, body");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        assert!(line.len() <= 78, "header line too long: {line}");
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("continuation after a header");
            last.1.push_str(line);
        } else {
            let (k, v) = line.split_once(": ").expect("Name: value");
            headers.push((k.to_string(), v.to_string()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    let content_type = get("Content-Type");
    let boundary = content_type
        .strip_prefix("multipart/alternative; boundary=\"")
        .and_then(|b| b.strip_suffix('"'))
        .expect("multipart/alternative with a quoted boundary")
        .to_string();
    let subject = decode_words(&get("Subject"));
    let delimiter = format!("--{boundary}");
    let mut parts: Vec<&str> = body.split(&delimiter).collect();
    assert_eq!(parts.remove(0), "", "nothing before the first part");
    assert_eq!(
        parts.pop(),
        Some("--\r\n"),
        "closing delimiter ends the body"
    );
    assert_eq!(parts.len(), 2, "a text and an HTML part");
    let mut decoded = Vec::new();
    for (part, kind) in parts.iter().zip(["text/plain", "text/html"]) {
        let part = part.strip_prefix("\r\n").expect("CRLF after the delimiter");
        let (part_head, part_body) = part.split_once("\r\n\r\n").expect("part headers");
        assert_eq!(
            part_head,
            format!(
                "Content-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
            )
        );
        let part_body = part_body
            .strip_suffix("\r\n")
            .expect("CRLF before the delimiter");
        for line in part_body.split("\r\n") {
            assert!(line.len() <= 76, "body line too long: {line}");
        }
        decoded.push(decode_qp(part_body));
    }
    let html = decoded.pop().unwrap_or_default();
    let text = decoded.pop().unwrap_or_default();
    Mail {
        file,
        raw,
        headers,
        subject,
        text,
        html,
    }
}

/// Decodes a value made of `=?UTF-8?B?...?=` words (or plain text).
fn decode_words(value: &str) -> String {
    if !value.contains("=?") {
        return value.to_string();
    }
    let bytes: Vec<u8> = value
        .split_whitespace()
        .flat_map(|w| {
            let b64 = w
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("an encoded word");
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64")
        })
        .collect();
    String::from_utf8(bytes).expect("UTF-8")
}

/// Decodes quoted-printable with CRLF line ends.
fn decode_qp(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("=XX"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .expect("UTF-8 body")
        .replace("\r\n", "\n")
}

/// Queues an invitation to `org` for `to` in `locale` with `link`.
async fn invite(
    app: &TestApp,
    to: &str,
    locale: Locale,
    org: &str,
    link: &str,
) -> nyckel::error::Result<()> {
    nyckel::mail::send_invitation(&app.state, to, locale, org, link).await
}

/// Every text value of the outbox table.
async fn outbox_dump(app: &TestApp) -> String {
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("select id, recipient, payload, last_error from outbox")
            .fetch_all(app.state.db.pool())
            .await
            .expect("outbox rows");
    rows.into_iter()
        .map(|(a, b, c, d)| format!("{a}\n{b}\n{c}\n{}\n", d.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn messages_are_delivered_once_as_eml_files_in_the_persons_language() {
    let app = TestApp::spawn().await;
    app.create_user_with(
        "anna@example.org",
        Some("Anna Ek"),
        crate::helpers::PASSWORD,
    )
    .await;
    app.create_user_with("bo@example.org", Some("Bo"), crate::helpers::PASSWORD)
        .await;
    sqlx::query("update users set locale = 'en' where email = 'bo@example.org'")
        .execute(app.state.db.writer())
        .await
        .expect("locale");
    let org = app.create_org("Göteborgs Roddklubb", "grk").await;
    app.add_member(&org, "anna@example.org", &["member"]).await;
    app.add_member(&org, "bo@example.org", &["member"]).await;

    // Anna has not chosen a language: the organisation's default (Swedish). Bo chose English.
    let notice = Notice::RolesChanged {
        org_name: "Göteborgs Roddklubb".into(),
        roles: vec!["coach".into(), "member".into()],
    };
    let anna = app.account("anna@example.org").await;
    let bo = app.account("bo@example.org").await;
    nyckel::mail::notify(&app.state, &anna, notice.clone())
        .await
        .expect("notify anna");
    nyckel::mail::notify(&app.state, &bo, notice)
        .await
        .expect("notify bo");
    let link_key = "canary-invitation-key-4f1d9c0e";
    let link = format!("{}/invite/{link_key}", app.issuer);
    invite(
        &app,
        "cecilia@example.org",
        Locale::En,
        "Göteborgs Roddklubb",
        &link,
    )
    .await
    .expect("invitation");

    // Sealed at rest: neither the link nor the words of any message are in the table.
    let dump = outbox_dump(&app).await;
    for clear in [link_key, "Roddklubb", "Anna Ek", "Dina roller"] {
        assert!(
            !dump.contains(clear),
            "{clear:?} is stored in clear in the outbox"
        );
    }

    let mails = app.mails().await;
    assert_eq!(mails.len(), 3, "one file per message");
    let to = |email: &str| {
        mails
            .iter()
            .find(|m| m.header("To") == Some(email))
            .unwrap_or_else(|| panic!("no mail to {email}"))
            .clone()
    };
    let sv = to("anna@example.org");
    assert_eq!(sv.subject, "Dina roller i Göteborgs Roddklubb har ändrats");
    assert!(
        sv.header("Subject")
            .expect("subject")
            .starts_with("=?UTF-8?B?")
    );
    assert!(sv.text.starts_with("Hej Anna Ek!\n"), "{}", sv.text);
    assert!(
        sv.text.contains("Dina roller där är nu: coach, member."),
        "{}",
        sv.text
    );
    assert!(
        sv.text.contains("kontakta Göteborgs Roddklubb"),
        "{}",
        sv.text
    );
    assert!(sv.html.contains("<html lang=\"sv\">"));
    assert!(sv.html.contains("Dina roller där är nu: coach, member."));
    let en = to("bo@example.org");
    assert_eq!(en.subject, "Your roles in Göteborgs Roddklubb have changed");
    assert!(en.text.contains("Your roles there are now: coach, member."));
    assert!(en.html.contains("<html lang=\"en\">"));
    for m in [&sv, &en] {
        assert!(!m.text.contains("https://"), "a notice carries no link");
    }
    let invitation = to("cecilia@example.org");
    assert_eq!(invitation.subject, "Invitation to Göteborgs Roddklubb");
    assert_eq!(invitation.link("/invite/"), link);
    assert!(invitation.html.contains(&format!("href=\"{link}\"")));
    assert!(
        invitation
            .text
            .contains("The link works for 24 hours, and only once.")
    );

    for m in &mails {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&m.file)
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "message files are readable by the owner only"
        );
        assert!(
            m.raw.contains("\r\n\r\n--=_nyckel_"),
            "the first part follows the headers"
        );
        assert_eq!(m.header("From"), Some("\"Nyckel\" <nyckel@localhost>"));
        assert_eq!(m.header("MIME-Version"), Some("1.0"));
        let id = m.header("Message-ID").expect("Message-ID");
        assert!(id.starts_with('<') && id.ends_with("@localhost>"), "{id}");
        let date = m.header("Date").expect("Date");
        assert!(date.ends_with(" +0000") && date.len() == 31, "{date}");
        let names: Vec<&str> = m.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Date",
                "From",
                "To",
                "Subject",
                "Message-ID",
                "MIME-Version",
                "Auto-Submitted",
                "Content-Type"
            ],
            "exactly the expected header set"
        );
    }

    // Delivered once: another pass sends nothing, every row is marked sent after one attempt.
    let again = nyckel::mail::deliver_due(&app.state).await.expect("pass");
    assert_eq!(again.sent, 0);
    assert_eq!(app.mails().await.len(), 3);
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as("select attempts, sent_at from outbox")
        .fetch_all(app.state.db.pool())
        .await
        .expect("rows");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|(a, s)| *a == 1 && s.is_some()), "{rows:?}");

    // Sent rows are purged a day later; the files stay.
    app.advance(nyckel::mail::delivery::KEEP_SENT + 1);
    nyckel::upkeep::purge_expired(&app.state).await;
    assert!(outbox_dump(&app).await.is_empty());
    assert_eq!(app.mails().await.len(), 3);
}

#[tokio::test]
async fn header_injection_through_names_is_refused_and_nothing_is_queued() {
    let app = TestApp::spawn().await;
    app.create_user("anna@example.org").await;
    let anna = app.account("anna@example.org").await;
    let hostile = Notice::Removed {
        org_name: "Klubben\r\nBcc: thief@evil.test".into(),
    };
    assert!(
        nyckel::mail::notify(&app.state, &anna, hostile)
            .await
            .is_err()
    );
    let hostile = "x@example.org\r\nBcc: thief@evil.test";
    let link = "https://localhost/invite/x";
    let refused = invite(&app, hostile, Locale::Sv, "Klubben", link).await;
    assert!(refused.is_err());
    assert!(outbox_dump(&app).await.is_empty());
    assert!(app.mails().await.is_empty());

    // Markup in a name is escaped in the HTML part, kept as text in the plain part.
    let evil = Notice::Joined {
        org_name: "<img src=x onerror=alert(1)>".into(),
        roles: vec![],
    };
    nyckel::mail::notify(&app.state, &anna, evil)
        .await
        .expect("queued");
    let mails = app.mails().await;
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].html.contains("<img"), "{}", mails[0].html);
    assert!(mails[0].text.contains("<img src=x onerror=alert(1)>"));
    assert!(mails[0].text.contains("inga roller"));
}

#[tokio::test]
async fn a_failing_delivery_is_retried_with_backoff_and_the_message_is_kept() {
    let dir = tempfile::tempdir().expect("dir");
    // A file where the outbox folder's parent should be: the folder cannot be created.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"not a folder").expect("blocker");
    let outbox = blocker.join("outbox");
    let configured = outbox.clone();
    let app = TestApp::spawn_with(move |c| c.mail.outbox_dir = Some(configured)).await;
    let key = "canary-retry-key-9b7e1a22";
    let link = format!("{}/invite/{key}", app.issuer);
    invite(&app, "anna@example.org", Locale::Sv, "Klubben", &link)
        .await
        .expect("queued");
    let id = store::outbox::pending(&app.state.db)
        .await
        .expect("pending")[0]
        .id
        .clone();
    let status = || async {
        store::outbox::status(&app.state.db, &id)
            .await
            .expect("status")
            .expect("the message is kept")
    };

    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    let first = status().await;
    assert_eq!(first.attempts, 1);
    assert!(first.sent_at.is_none());
    assert_eq!(first.next_attempt_at, app.state.now() + 30);
    let error = first.last_error.clone().expect("last_error says why");
    assert!(error.contains("cannot create the folder"), "{error}");
    assert!(
        !error.contains(key) && !error.contains("Klubben"),
        "no message content in last_error"
    );

    // Not due again before the backoff has passed.
    app.advance(29);
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    assert_eq!(status().await.attempts, 1);

    // The second failure waits twice as long.
    app.advance(1);
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    let second = status().await;
    assert_eq!(second.attempts, 2);
    assert_eq!(second.next_attempt_at, app.state.now() + 60);

    // The folder becomes writable: the next attempt delivers, once.
    std::fs::remove_file(&blocker).expect("unblock");
    app.advance(60);
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    let done = status().await;
    assert_eq!(done.attempts, 3);
    assert!(done.sent_at.is_some());
    assert!(done.last_error.is_none());
    let mails = crate::mail_outbox::read_dir(&outbox);
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].link("/invite/"), link);
    app.advance(3600);
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    assert_eq!(
        crate::mail_outbox::read_dir(&outbox).len(),
        1,
        "never sent twice"
    );
}
