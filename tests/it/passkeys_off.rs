//! An issuer whose host is an IP address (`http://127.0.0.1:PORT`, which configuration.md
//! allows): WebAuthn needs a domain name as its relying party id, so the real binary (a CLI
//! command and `nyckel serve`) starts with passkeys off and says so once in its log, naming
//! the keys to set. Password login works; the login and account pages offer no passkey; every
//! passkey page and endpoint answers that passkeys are not available here (English and
//! Swedish). An explicit `[passkeys]` relying party that does not fit still stops the start.

use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::browser::Browser;
use crate::helpers::process::{ServerProcess, free_port};
use crate::helpers::{PASSWORD, REDIRECT_URI, db};
use crate::passkeys::{log_in_with_password, post_json};

const ANNA: &str = "anna@example.org";
/// The start of the one warning.
const WARNING: &str = "passkeys are off";
const UNAVAILABLE_EN: &str = "Passkeys are not available on this installation.";
const UNAVAILABLE_SV: &str = "Passkeys går inte att använda på den här installationen.";

/// Runs the binary in `dir` on `db_url` with `env`: (success, stdout, stderr).
fn cli(
    dir: &std::path::Path,
    db_url: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nyckel"));
    cmd.current_dir(dir)
        .args(args)
        .env("NYCKEL_DATABASE__URL", db_url)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run nyckel");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn an_ip_address_issuer_runs_with_passkeys_off() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let env = [
        ("NYCKEL_ISSUER", issuer.as_str()),
        ("NYCKEL_TLS__MODE", "off"),
    ];

    let create = ["user", "create", "--email", ANNA, "--password-stdin"];
    let (ok, out, err) = cli(d, &url, &env, &create, Some(PASSWORD));
    assert!(ok, "user create: {out}\n{err}");
    let client = [
        "client",
        "create",
        "--name",
        "App",
        "--redirect-uri",
        REDIRECT_URI,
        "--json",
    ];
    let (ok, out, err) = cli(d, &url, &env, &client, None);
    assert!(ok, "client create with an IP-address issuer: {out}\n{err}");
    assert_eq!(err.matches(WARNING).count(), 1, "one warning:\n{err}");
    assert!(
        err.contains("127.0.0.1") && err.contains("passkeys.rp_id"),
        "the warning names the reason and the key to set:\n{err}"
    );
    assert!(!err.contains("ERROR"), "a warning, not an error:\n{err}");

    let listen = format!("127.0.0.1:{port}");
    let server = ServerProcess::spawn(d, &url, &listen, &issuer, &[("NYCKEL_TLS__MODE", "off")]);
    let log = server.output();
    assert_eq!(log.matches(WARNING).count(), 1, "one warning:\n{log}");

    let b = Browser::at(server.addr, &issuer);
    let login = b.get("/login").await;
    assert_eq!(login.status, 200, "{}", login.body);
    for offer in [
        "data-passkey",
        "/static/passkey.js",
        "webauthn",
        "/login/passkey",
    ] {
        assert!(
            !login.body.contains(offer),
            "no passkey on the login page ({offer}):\n{}",
            login.body
        );
    }
    let csrf = login.form("/login").expect("the password form")["csrf"].clone();
    let start = post_json(&b, "/login/passkey/start", &json!({ "csrf": csrf })).await;
    assert_eq!(start.status, 404, "{:?}", start.json);
    assert_eq!(start.json["error"], UNAVAILABLE_EN);

    log_in_with_password(&b, ANNA).await;
    let account = b.get("/account").await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(
        !account.body.contains("/account/passkeys"),
        "no link to the passkeys page:\n{}",
        account.body
    );
    let page = b.get("/account/passkeys").await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(page.body.contains(UNAVAILABLE_EN), "{}", page.body);
    let swedish = b
        .client
        .get(format!("{issuer}/account/passkeys"))
        .header("accept-language", "sv")
        .send()
        .await
        .expect("GET");
    assert_eq!(swedish.status(), 404);
    let body = swedish.text().await.expect("body");
    assert!(body.contains(UNAVAILABLE_SV), "{body}");
    for path in [
        "/login/passkey/finish",
        "/account/passkeys/start",
        "/account/passkeys/finish",
        "/login/second/passkey/start",
        "/login/second/passkey/finish",
        "/login/second/passkey/enrol/start",
        "/login/second/passkey/enrol/finish",
    ] {
        let answer = post_json(&b, path, &json!({ "csrf": "x" })).await;
        assert_eq!(answer.status, 404, "{path}: {:?}", answer.json);
        assert_eq!(answer.json["error"], UNAVAILABLE_EN, "{path}");
    }
    let removed = b
        .post("/account/passkeys/p1/remove", &[("csrf", "x")])
        .await;
    assert_eq!(removed.status, 404, "{}", removed.body);
    assert!(removed.body.contains(UNAVAILABLE_EN), "{}", removed.body);
    let log = server.output();
    assert!(
        !log.contains("passkey request failed") && !log.contains("panicked"),
        "{log}"
    );
}

#[tokio::test]
async fn an_explicit_relying_party_that_does_not_fit_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = db::prepare(d).await;
    let url = url_db.url.clone();
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let env = [
        ("NYCKEL_ISSUER", issuer.as_str()),
        ("NYCKEL_TLS__MODE", "off"),
        ("NYCKEL_PASSKEYS__RP_ID", "id.example.org"),
    ];
    let client = [
        "client",
        "create",
        "--name",
        "App",
        "--redirect-uri",
        REDIRECT_URI,
    ];
    let (ok, out, err) = cli(d, &url, &env, &client, None);
    assert!(
        !ok,
        "an operator's relying party that cannot work is an error: {out}"
    );
    assert!(err.contains("passkeys.rp_id"), "{err}");
    assert!(!err.contains(WARNING), "not silently switched off: {err}");
}
