//! DKIM: with `mail.dkim_*` set, every message (file outbox and SMTP) carries a
//! `DKIM-Signature` that an independent verifier, dkimpy, accepts with the public key
//! openssl derives from the key file; a changed Subject, a changed body line or an added
//! header breaks it, while whitespace changes that relaxed canonicalisation allows do not.
//! Without the keys no signature is added; an unusable key stops start-up with an error
//! naming `mail.dkim_key_file`.
//!
//! dkimpy (`pip install dkimpy pynacl`): without it these tests record a skip (counted in the
//! closing lines of the run, helpers/skip.rs) and pass,
//! unless `NYCKEL_TEST_REQUIRE_DKIMPY=1` (CI sets it), which makes them fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use nyckel::config::Config;
use nyckel::mail::Notice;

use crate::helpers::TestApp;
use crate::helpers::smtp::{SmtpServer, queue_invitation};
use crate::mail_outbox::Mail;

const DOMAIN: &str = "example.org";
const SELECTOR: &str = "nyckel2025";

/// Whether dkimpy (with PyNaCl, for Ed25519) can be imported. When it cannot, records a
/// skip (counted at the end of the run), or fails when `NYCKEL_TEST_REQUIRE_DKIMPY=1`.
fn dkimpy() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import dkim, nacl.signing"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let required = std::env::var("NYCKEL_TEST_REQUIRE_DKIMPY").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "NYCKEL_TEST_REQUIRE_DKIMPY=1 but python3 cannot import dkim and nacl (pip install dkimpy pynacl)"
        );
        crate::helpers::skip::skip(
            "DKIM not verified: python3 cannot import dkimpy/PyNaCl (python3 -m pip install dkimpy pynacl)",
        );
    }
    ok
}

/// Runs openssl with `args`; returns its standard output.
fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rsa(u32),
    Ed25519,
}

/// `openssl genpkey` of `algorithm` (with `-pkeyopt` `options`, if any) into `file`.
fn genpkey(file: &Path, algorithm: &str, options: Option<&str>) {
    let path = file.to_str().expect("utf8 path");
    let mut args = vec!["genpkey", "-algorithm", algorithm, "-out", path];
    args.extend(options.map(|o| ["-pkeyopt", o]).into_iter().flatten());
    openssl(&args);
}

/// A new key in `dir` made by openssl; returns its file and the TXT record for it, with the
/// public key as openssl writes it (independent of Nyckel).
fn generate(dir: &Path, kind: Kind) -> (PathBuf, String) {
    let file = dir.join("dkim.pem");
    let path = file.to_str().expect("utf8 path");
    match kind {
        Kind::Rsa(bits) => genpkey(&file, "RSA", Some(&format!("rsa_keygen_bits:{bits}"))),
        Kind::Ed25519 => genpkey(&file, "ed25519", None),
    }
    let spki = openssl(&["pkey", "-in", path, "-pubout", "-outform", "DER"]);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let record = match kind {
        Kind::Rsa(_) => format!("v=DKIM1; k=rsa; p={}", b64(&spki)),
        // RFC 8463: the raw 32-byte key, the end of the SubjectPublicKeyInfo.
        Kind::Ed25519 => format!("v=DKIM1; k=ed25519; p={}", b64(&spki[spki.len() - 32..])),
    };
    (file, record)
}

/// What dkimpy says of `message` when DNS answers `record` for our selector and nothing
/// else: true when the signature verifies. Panics when dkimpy itself fails.
fn dkimpy_verifies(message: &[u8], record: &str) -> bool {
    const SCRIPT: &str = r#"
import logging, sys
import dkim
message = open(sys.argv[1], "rb").read()
name, record = sys.argv[2].encode(), sys.argv[3].encode()
def dns(asked, timeout=5):
    return record if asked.rstrip(b".").lower() == name.lower() else None
logging.basicConfig(stream=sys.stderr, level=logging.DEBUG)
ok = dkim.verify(message, logger=logging.getLogger("dkim"), dnsfunc=dns)
print("VERIFIED" if ok else "FAILED")
"#;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("message.eml");
    std::fs::write(&file, message).expect("write message");
    let out = Command::new("python3")
        .args([
            "-c",
            SCRIPT,
            file.to_str().expect("utf8"),
            &format!("{SELECTOR}._domainkey.{DOMAIN}"),
            record,
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match (out.status.success(), stdout.trim()) {
        (true, "VERIFIED") => true,
        (true, "FAILED") => {
            eprintln!("dkimpy: {stderr}");
            false
        }
        _ => panic!("dkimpy did not run: {stdout}\n{stderr}"),
    }
}

/// A new key of `kind` (its file in the returned folder, and its DNS record) and a server
/// that signs with it; `None` (the skip recorded) when dkimpy cannot verify.
async fn signing(kind: Kind) -> Option<(tempfile::TempDir, PathBuf, String, TestApp)> {
    if !dkimpy() {
        return None;
    }
    let dir = tempfile::tempdir().expect("dir");
    let (key_file, record) = generate(dir.path(), kind);
    let app = signing_app(key_file.clone()).await;
    Some((dir, key_file, record, app))
}

/// A server that signs with `key_file`, mail from `id@example.org`.
async fn signing_app(key_file: PathBuf) -> TestApp {
    TestApp::spawn_with(move |c| sign_with(c, key_file)).await
}

fn sign_with(c: &mut Config, key_file: PathBuf) {
    c.mail.from = format!("Nyckel <id@{DOMAIN}>");
    c.mail.dkim_domain = Some(DOMAIN.into());
    c.mail.dkim_selector = Some(SELECTOR.into());
    c.mail.dkim_key_file = Some(key_file);
}

/// The one message in the outbox.
async fn only_mail(app: &TestApp) -> Mail {
    let mut mails = app.mails().await;
    assert_eq!(mails.len(), 1);
    mails.remove(0)
}

/// The tags of the DKIM-Signature header (whitespace removed from values).
fn tags(mail: &Mail) -> Vec<(String, String)> {
    let value = mail.header("DKIM-Signature").expect("a DKIM-Signature");
    value
        .split(';')
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            let (k, v) = t.split_once('=').expect("tag=value");
            (k.trim().to_string(), v.split_whitespace().collect())
        })
        .collect()
}

fn tag(mail: &Mail, name: &str) -> String {
    tags(mail)
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name}= tag"))
        .1
}

/// Checks the header's shape: first header, tags, lines, the message's creation time.
fn check_header(mail: &Mail, algorithm: &str) {
    assert!(
        mail.raw.starts_with("DKIM-Signature: v=1; "),
        "the signature is the first header"
    );
    let head = mail.raw.split("\r\n\r\n").next().expect("head");
    let mut in_signature = false;
    for line in head.split("\r\n") {
        if !line.starts_with([' ', '\t']) {
            in_signature = line.starts_with("DKIM-Signature:");
        }
        if in_signature {
            assert!(line.len() < 78, "signature line too long: {line}");
        }
    }
    assert_eq!(tag(mail, "v"), "1");
    assert_eq!(tag(mail, "a"), algorithm);
    assert_eq!(tag(mail, "c"), "relaxed/relaxed");
    assert_eq!(tag(mail, "d"), DOMAIN);
    assert_eq!(tag(mail, "s"), SELECTOR);
    // The file is <created_at>-<id>.eml; t= is the message's creation time.
    let stem = mail.file.file_stem().expect("name").to_string_lossy();
    let created = stem.split('-').next().expect("created_at");
    assert_eq!(tag(mail, "t"), created);
    let signed: Vec<String> = tag(mail, "h")
        .split(':')
        .map(str::to_ascii_lowercase)
        .collect();
    for name in [
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
    ] {
        assert!(signed.iter().any(|s| s == name), "h= lacks {name}");
    }
    assert!(
        !signed.iter().any(|s| s == "cc" || s == "reply-to"),
        "only headers the message has are named"
    );
}

/// `raw` with the Subject header's value replaced.
fn with_subject(raw: &str, subject: &str) -> String {
    let start = raw.find("\r\nSubject: ").expect("subject") + 2;
    let mut end = start + raw[start..].find("\r\n").expect("line end");
    while raw[end + 2..].starts_with([' ', '\t']) {
        end += 2 + raw[end + 2..].find("\r\n").expect("line end");
    }
    format!("{}Subject: {subject}{}", &raw[..start], &raw[end..])
}

/// A line of the plain-text part long enough to change.
fn text_line(raw: &str) -> String {
    let text_part = raw
        .split("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
        .nth(1)
        .and_then(|p| p.split("\r\n--=_nyckel_").next())
        .expect("the text part's body");
    text_part
        .split("\r\n")
        .find(|l| l.contains('a') && l.len() > 10)
        .expect("a text line")
        .to_string()
}

/// The same key's record with one byte of the public key changed.
fn other_key(record: &str) -> String {
    use base64::engine::general_purpose::STANDARD;
    let (head, p) = record.split_once("p=").expect("p=");
    let mut bytes = STANDARD.decode(p).expect("base64");
    // Ed25519: the key itself; RSA: the modulus (the exponent is the last 5 bytes).
    let i = if head.contains("k=rsa") {
        bytes.len() - 10
    } else {
        0
    };
    bytes[i] ^= 1;
    format!("{head}p={}", STANDARD.encode(bytes))
}

/// Verifies `raw`, then checks that tampering breaks the signature and that whitespace
/// changes relaxed canonicalisation allows do not.
fn verify_and_tamper(raw: &str, record: &str) {
    assert!(
        dkimpy_verifies(raw.as_bytes(), record),
        "signed mail verifies"
    );

    // Whitespace relaxed canonicalisation ignores: still verifies.
    let respaced = raw.replacen("\r\nTo: ", "\r\nTo:  \t ", 1).replacen(
        "\r\nMIME-Version: 1.0\r\n",
        "\r\nMIME-Version: 1.0 \t\r\n",
        1,
    );
    assert_ne!(respaced, raw);
    let padded = format!("{respaced}\r\n  \r\n\r\n");
    assert!(
        dkimpy_verifies(padded.as_bytes(), record),
        "header whitespace and empty lines at the end are canonicalised away"
    );

    // Another key for the selector: fails.
    assert!(
        !dkimpy_verifies(raw.as_bytes(), &other_key(record)),
        "another key fails"
    );

    let subject = with_subject(raw, "Your account is locked, click here");
    assert_ne!(subject, raw);
    assert!(
        !dkimpy_verifies(subject.as_bytes(), record),
        "a changed Subject fails"
    );

    let line = text_line(raw);
    let (head, body) = raw.split_once("\r\n\r\n").expect("head and body");
    let body = format!(
        "{head}\r\n\r\n{}",
        body.replacen(&line, &line.replace('a', "e"), 1)
    );
    assert_ne!(body, raw);
    assert!(
        !dkimpy_verifies(body.as_bytes(), record),
        "a changed body line fails"
    );

    // An added Subject above the signed one: the h= list names Subject once more than it
    // occurs, so the extra one breaks the signature.
    let (signature, rest) = raw
        .split_once("\r\nDate: ")
        .expect("Date after the signature");
    let added = format!("{signature}\r\nSubject: Urgent\r\nDate: {rest}");
    assert!(
        !dkimpy_verifies(added.as_bytes(), record),
        "an added Subject fails"
    );
}

#[tokio::test]
async fn an_rsa_signed_invitation_verifies_with_dkimpy_and_tampering_breaks_it() {
    let Some((_dir, key_file, record, app)) = signing(Kind::Rsa(2048)).await else {
        return;
    };
    let signer = app.state.mailer.dkim.as_ref().expect("a signer");
    assert_eq!(signer.algorithm(), "rsa-sha256");
    assert_eq!(
        signer.dns_record(),
        record,
        "the record Nyckel prints is openssl's public key"
    );
    assert_eq!(signer.dns_name(), format!("{SELECTOR}._domainkey.{DOMAIN}"));
    // No key material in Debug.
    let pem = std::fs::read_to_string(&key_file).expect("pem");
    let secret_line = pem.lines().nth(2).expect("a base64 line");
    let debug = format!("{:?} {:?}", app.state.mailer, app.state.config);
    assert!(debug.contains("[redacted]"));
    assert!(!debug.contains(secret_line));

    queue_invitation(&app, "canary-dkim-invite-key-7c2e").await;
    let mail = only_mail(&app).await;
    check_header(&mail, "rsa-sha256");
    assert_eq!(mail.subject, "Inbjudan till Göteborgs Roddklubb");
    assert_eq!(tag(&mail, "b").len(), 344, "a 2048-bit signature in base64");
    verify_and_tamper(&mail.raw, &record);
}

#[tokio::test]
async fn an_ed25519_signed_notice_verifies_with_dkimpy_and_tampering_breaks_it() {
    let Some((_dir, _, record, app)) = signing(Kind::Ed25519).await else {
        return;
    };
    let signer = app.state.mailer.dkim.as_ref().expect("a signer");
    assert_eq!(signer.algorithm(), "ed25519-sha256");
    assert_eq!(signer.dns_record(), record);

    app.create_user("bertil@example.org").await;
    let user = nyckel::store::users::find_by_email(&app.state.db, "bertil@example.org")
        .await
        .expect("lookup")
        .expect("user");
    nyckel::mail::notify(&app.state, &user, Notice::PasswordSet)
        .await
        .expect("notified");
    let mail = only_mail(&app).await;
    check_header(&mail, "ed25519-sha256");
    assert_eq!(tag(&mail, "b").len(), 88, "a 64-byte signature in base64");
    verify_and_tamper(&mail.raw, &record);
}

#[tokio::test]
async fn mail_through_the_smtp_relay_is_signed_too() {
    if !dkimpy() {
        return;
    }
    let server = SmtpServer::starttls().await;
    let dir = tempfile::tempdir().expect("dir");
    let (key_file, record) = generate(dir.path(), Kind::Ed25519);
    let app = TestApp::spawn_with(|c| {
        server.relay_for(c, dir.path());
        sign_with(c, key_file);
    })
    .await;
    queue_invitation(&app, "canary-dkim-smtp-key-91fa").await;
    nyckel::mail::deliver_due(&app.state).await.expect("pass");
    let received = server.messages();
    assert_eq!(received.len(), 1);
    // lettre ends DATA with CRLF.CRLF after the document's own final CRLF.
    let document = received[0].data.strip_suffix("\r\n").expect("CRLF framing");
    let mail = crate::mail_outbox::parse(PathBuf::new(), document.to_string());
    assert_eq!(tag(&mail, "a"), "ed25519-sha256");
    assert!(dkimpy_verifies(document.as_bytes(), &record));
    let tampered = with_subject(document, "Something else");
    assert!(!dkimpy_verifies(tampered.as_bytes(), &record));
}

#[tokio::test]
async fn without_dkim_keys_no_signature_is_added() {
    let app = TestApp::spawn().await;
    assert!(app.state.mailer.dkim.is_none());
    queue_invitation(&app, "canary-dkim-none-key-0b3d").await;
    let mail = only_mail(&app).await;
    assert!(mail.header("DKIM-Signature").is_none());
    assert!(
        !mail
            .raw
            .split("\r\n\r\n")
            .next()
            .expect("head")
            .to_ascii_lowercase()
            .contains("dkim-signature")
    );
    assert!(mail.raw.starts_with("Date: "));
}

#[test]
fn an_unusable_key_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let start = |file: &Path| {
        let mut config = Config::default();
        sign_with(&mut config, file.to_path_buf());
        config
            .validate()
            .expect("the configuration itself is valid");
        nyckel::mail::Mailer::from_config(&config)
            .expect_err("refused")
            .to_string()
    };

    let missing = dir.path().join("missing.pem");
    let err = start(&missing);
    assert!(
        err.contains("mail.dkim_key_file") && err.contains("missing.pem"),
        "{err}"
    );

    let small = dir.path().join("small.pem");
    genpkey(&small, "RSA", Some("rsa_keygen_bits:1024"));
    let err = start(&small);
    assert!(
        err.contains("mail.dkim_key_file") && err.contains("2048"),
        "{err}"
    );
    let pem = std::fs::read_to_string(&small).expect("pem");
    assert!(!err.contains(pem.lines().nth(1).expect("base64 line")));

    let ec = dir.path().join("ec.pem");
    genpkey(&ec, "EC", Some("ec_paramgen_curve:P-256"));
    let err = start(&ec);
    assert!(err.contains("neither RSA nor Ed25519"), "{err}");

    let certificate = dir.path().join("cert.pem");
    std::fs::write(
        &certificate,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let err = start(&certificate);
    assert!(err.contains("no PEM private key"), "{err}");

    // A good key starts.
    let (good, _) = generate(dir.path(), Kind::Ed25519);
    let mut config = Config::default();
    sign_with(&mut config, good);
    assert!(
        nyckel::mail::Mailer::from_config(&config)
            .expect("starts")
            .dkim
            .is_some()
    );
}
