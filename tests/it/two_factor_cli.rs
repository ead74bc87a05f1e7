//! The two-factor commands, run as the real binary: `nyckel org set-two-factors` and the
//! operator's recovery `nyckel user reset-factors` (audited; the verified number goes).

use serde_json::Value;

use crate::helpers::ops::Install;

fn json(s: &Install, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let (ok, out, err) = s.run(&args);
    assert!(ok, "nyckel {args:?} failed: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("no JSON ({e}): {out}"))
}

fn kinds_count(s: &Install, kind: &str) -> usize {
    let log = json(s, &["audit", "list", "--kind", kind]);
    log["items"]
        .as_array()
        .or_else(|| log.as_array())
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn organisation_setting_and_factor_reset_from_the_command_line() {
    let s = Install::new().await;
    json(
        &s,
        &[
            "user",
            "create",
            "--email",
            "anna@example.org",
            "--phone",
            "+46701234567",
            "--phone-verified",
        ],
    );
    json(&s, &["org", "create", "--name", "IFK", "--slug", "ifk"]);

    let on = json(&s, &["org", "set-two-factors", "--org", "ifk", "on"]);
    assert_eq!(on["require_two_factors"], true);
    let off = json(&s, &["org", "set-two-factors", "--org", "ifk", "off"]);
    assert_eq!(off["require_two_factors"], false);
    assert_eq!(kinds_count(&s, "admin.org_two_factors"), 2);
    let (ok, _, err) = s.run(&["org", "set-two-factors", "--org", "ifk", "maybe"]);
    assert!(!ok && err.contains("maybe"), "{err}");
    let (ok, _, err) = s.run(&["org", "set-two-factors", "--org", "nope", "on"]);
    assert!(!ok, "{err}");

    let reset = json(
        &s,
        &["user", "reset-factors", "--email", "anna@example.org"],
    );
    assert_eq!(reset["phone"], "+46•••••••67");
    assert_eq!(reset["sessions_ended"], 0);
    let again = json(
        &s,
        &["user", "reset-factors", "--email", "anna@example.org"],
    );
    assert!(
        again["phone"].is_null(),
        "the verified number is gone: {again}"
    );
    assert_eq!(kinds_count(&s, "second_factor.reset"), 2);
    let (ok, _, err) = s.run(&["user", "reset-factors", "--email", "nobody@example.org"]);
    assert!(!ok && err.contains("no account"), "{err}");
}
