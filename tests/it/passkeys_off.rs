//! An issuer whose host is an IP address (`http://127.0.0.1:PORT`, which configuration.md
//! allows): WebAuthn needs a domain name as its relying party id, so the real binary (a CLI
//! command and `nyckel serve`) starts with passkeys off and says so once in its log, naming
//! the keys to set. Password login works; the login and account pages offer no passkey; every
//! passkey page and endpoint answers that passkeys are not available here (English and
//! Swedish). An explicit `[passkeys]` relying party that does not fit still stops the start.

use std::process::{Command, Stdio};

use crate::helpers::browser::Browser;
use crate::helpers::ops::Install;
use crate::helpers::process::{ServerProcess, free_port};
use crate::helpers::{PASSWORD, REDIRECT_URI};
use crate::passkeys::post_csrf;

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

/// The arguments of `nyckel client create` for the test's web app.
fn client_create() -> Vec<&'static str> {
    let mut args: Vec<&str> = "client create --name App --redirect-uri"
        .split(' ')
        .collect();
    args.push(REDIRECT_URI);
    args
}

#[tokio::test]
async fn an_ip_address_issuer_runs_with_passkeys_off() {
    let scratch = Install::new().await;
    let (d, url) = (scratch.path(), scratch.url().to_string());
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let env = [
        ("NYCKEL_ISSUER", issuer.as_str()),
        ("NYCKEL_TLS__MODE", "off"),
    ];

    let create = ["user", "create", "--email", ANNA, "--password-stdin"];
    let (ok, out, err) = cli(d, &url, &env, &create, Some(PASSWORD));
    assert!(ok, "user create: {out}\n{err}");
    let mut client = client_create();
    client.push("--json");
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
    let login = b.open("/login").await;
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
    let csrf = login.csrf("/login");
    let start = post_csrf(&b, "/login/passkey/start", &csrf).await;
    assert_eq!(start.status, 404, "{:?}", start.json);
    assert_eq!(start.json["error"], UNAVAILABLE_EN);

    b.log_in(ANNA).await;
    let account = b.open("/account").await;
    assert!(
        !account.body.contains("/account/passkeys"),
        "no link to the passkeys page:\n{}",
        account.body
    );
    let page = b.get("/account/passkeys").await;
    page.assert_says(404, UNAVAILABLE_EN);
    let swedish = b.get_in("/account/passkeys", "sv").await;
    swedish.assert_says(404, UNAVAILABLE_SV);
    for path in [
        "/login/passkey/finish",
        "/account/passkeys/start",
        "/account/passkeys/finish",
        "/login/second/passkey/start",
        "/login/second/passkey/finish",
        "/login/second/passkey/enrol/start",
        "/login/second/passkey/enrol/finish",
    ] {
        let answer = post_csrf(&b, path, "x").await;
        assert_eq!(answer.status, 404, "{path}: {:?}", answer.json);
        assert_eq!(answer.json["error"], UNAVAILABLE_EN, "{path}");
    }
    let removed = b
        .post("/account/passkeys/p1/remove", &[("csrf", "x")])
        .await;
    removed.assert_says(404, UNAVAILABLE_EN);
    let log = server.output();
    assert!(
        !log.contains("passkey request failed") && !log.contains("panicked"),
        "{log}"
    );
}

#[tokio::test]
async fn an_explicit_relying_party_that_does_not_fit_stops_the_start() {
    let scratch = Install::new().await;
    let (d, url) = (scratch.path(), scratch.url().to_string());
    let issuer = format!("http://127.0.0.1:{}", free_port());
    let env = [
        ("NYCKEL_ISSUER", issuer.as_str()),
        ("NYCKEL_TLS__MODE", "off"),
        ("NYCKEL_PASSKEYS__RP_ID", "id.example.org"),
    ];
    let client = client_create();
    let (ok, out, err) = cli(d, &url, &env, &client, None);
    assert!(
        !ok,
        "an operator's relying party that cannot work is an error: {out}"
    );
    assert!(err.contains("passkeys.rp_id"), "{err}");
    assert!(!err.contains(WARNING), "not silently switched off: {err}");
}
