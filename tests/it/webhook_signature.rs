//! The Standard Webhooks signature scheme (issue 18, `webhooks::signature`), checked against
//! the official Python implementation (PyPI `standardwebhooks`) in both directions: what
//! Nyckel signs, with one secret or two during a rotation, verifies there with each secret;
//! a changed body, id or timestamp does not; what the Python library signs verifies here;
//! stale timestamps and other secrets are refused; secrets read back as shown.
//!
//! Without the package these tests record a skip (counted in the closing lines of the run,
//! helpers/skip.rs) and pass, unless `NYCKEL_TEST_REQUIRE_STANDARDWEBHOOKS=1` (CI sets it).

use std::io::Write;
use std::process::{Command, Stdio};

use nyckel::webhooks::signature::{BadSecret, Refused, Secret, TOLERANCE, sign, verify};
use serde_json::{Value, json};

/// Runs `script` in python3 with `input` as JSON on standard input; returns its JSON output,
/// or `None` (with a recorded skip, or a failure when required) without the package.
pub(crate) fn python(script: &str, input: &Value) -> Option<Value> {
    let present = Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        let required =
            std::env::var("NYCKEL_TEST_REQUIRE_STANDARDWEBHOOKS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "NYCKEL_TEST_REQUIRE_STANDARDWEBHOOKS=1 but python3 cannot import standardwebhooks (pip install standardwebhooks)"
        );
        crate::helpers::skip::skip(
            "webhook signatures not checked independently: python3 -m pip install standardwebhooks",
        );
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("input written");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("python3 printed JSON"))
}

/// For each case `{secret, id, timestamp, signature, body}`: whether the official library
/// accepts it.
const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
out = []
for c in json.load(sys.stdin):
    headers = {"webhook-id": c["id"], "webhook-timestamp": str(c["timestamp"]), "webhook-signature": c["signature"]}
    try:
        Webhook(c["secret"]).verify(c["body"].encode(), headers, json_parse=False)
        out.append(True)
    except WebhookVerificationError:
        out.append(False)
print(json.dumps(out))
"#;

fn now() -> i64 {
    nyckel::cli::now()
}

#[test]
fn what_nyckel_signs_the_official_library_accepts_with_each_secret_in_force_and_nothing_changed() {
    let (old, new) = (Secret::generate(), Secret::generate());
    let body = r#"{"type":"member.added","data":{"org":"ifk","name":"Åsa Öberg"}}"#;
    let (id, ts) = ("msg_2Qb0", now());
    let both = sign(&[new.clone(), old.clone()], id, ts, body.as_bytes());
    assert_eq!(both.split(' ').count(), 2, "{both}");
    let one = sign(std::slice::from_ref(&new), id, ts, body.as_bytes());
    let case = |secret: &Secret, id: &str, ts: i64, signature: &str, body: &str| json!({"secret": secret.shown(), "id": id, "timestamp": ts, "signature": signature, "body": body});
    let cases = json!([
        case(&old, id, ts, &both, body),
        case(&new, id, ts, &both, body),
        case(&new, id, ts, &one, body),
        case(&old, id, ts, &one, body),
        case(&new, id, ts, &both, &body.replace("ifk", "gais")),
        case(&new, "msg_other", ts, &both, body),
        case(&new, id, ts + 1, &both, body),
    ]);
    let Some(accepted) = python(VERIFY, &cases) else {
        return;
    };
    assert_eq!(
        accepted,
        json!([true, true, true, false, false, false, false]),
        "both secrets during a rotation; the old one alone after it; nothing changed"
    );
}

#[test]
fn what_the_official_library_signs_verifies_here_and_stale_or_foreign_deliveries_do_not() {
    let secret = Secret::generate();
    let (id, ts, body) = ("msg_py", now(), r#"{"type":"person.erased"}"#);
    let script = r#"
import json, sys
from datetime import datetime, timezone
from standardwebhooks.webhooks import Webhook
c = json.load(sys.stdin)
ts = datetime.fromtimestamp(c["timestamp"], tz=timezone.utc)
print(json.dumps(Webhook(c["secret"]).sign(c["id"], ts, c["body"].encode())))
"#;
    let input = json!({"secret": secret.shown(), "id": id, "timestamp": ts, "body": body});
    let Some(signature) = python(script, &input) else {
        return;
    };
    let signature = signature.as_str().expect("a string");
    let check = |secret: &Secret, at: i64| verify(secret, id, ts, signature, body.as_bytes(), at);
    assert_eq!(check(&secret, ts), Ok(()));
    assert_eq!(check(&secret, ts + TOLERANCE), Ok(()));
    assert_eq!(check(&secret, ts + TOLERANCE + 1), Err(Refused::Stale));
    assert_eq!(check(&secret, ts - TOLERANCE - 1), Err(Refused::Stale));
    assert_eq!(check(&Secret::generate(), ts), Err(Refused::NoMatch));
    let other_body = verify(&secret, id, ts, signature, b"{}", ts);
    assert_eq!(other_body, Err(Refused::NoMatch));
}

#[test]
fn secrets_read_back_as_shown_and_malformed_ones_are_refused() {
    let secret = Secret::generate();
    let shown = secret.shown();
    assert!(shown.starts_with("whsec_") && shown.len() > 40, "{shown}");
    let again = Secret::parse(&shown).expect("parses");
    assert_eq!(again.shown(), shown);
    assert_eq!(
        format!("{secret:?}"),
        "Secret(..)",
        "Debug never shows the key"
    );
    for bad in [
        "",
        "whsec_",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_!!!",
        "whsec_AAAA",
    ] {
        assert_eq!(Secret::parse(bad).map(|_| ()), Err(BadSecret), "{bad}");
    }
}
