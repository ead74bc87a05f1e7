//! Master-key rotation (`nyckel keys rotate-master`, docs/keys.md) next to a running server
//! process: staging, promotion (re-sealing the database), a straggler sealing under the old
//! key (forget-old refuses until `--reseal`), forgetting; the server keeps verifying old
//! tokens and signing throughout, re-reading the key file without a restart. A wrong or
//! garbled key file is a clear error with a non-zero exit, and no key material is printed.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::flows::post_token;
use crate::helpers::nodes::active_at;
use crate::helpers::ops::{Cli, Install};
use crate::helpers::process::{ServerProcess, chosen_address};
use crate::helpers::token::decode;

const ENV: &[(&str, &str)] = &[
    ("NYCKEL_KEYS__PREPUBLISH", "2"),
    ("NYCKEL_KEYS__RELOAD_INTERVAL", "1"),
    ("NYCKEL_KEYS__ROTATE_EVERY", "0"),
];

fn master_file(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("keys/master.key")).expect("master key file")
}

/// Every base64url key in a master key file (the old format's bare key, or the last word).
fn key_material(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

fn rotate_master(cli: &Cli, extra: &[&str]) -> (bool, Value, String) {
    let mut args = vec!["keys", "rotate-master", "--json"];
    args.extend(extra);
    let (ok, out, err) = cli.run(&args);
    let json = serde_json::from_str(out.trim()).unwrap_or(Value::Null);
    (ok, json, err)
}

fn states(report: &Value) -> Vec<(String, String, u64)> {
    report["master_keys"]
        .as_array()
        .expect("master_keys")
        .iter()
        .map(|k| {
            (
                k["id"].as_str().expect("id").to_string(),
                k["state"].as_str().expect("state").to_string(),
                k["sealed_rows"].as_u64().expect("rows"),
            )
        })
        .collect()
}

async fn m2m(http: &reqwest::Client, base: &str, client: &(String, String)) -> String {
    let answer = post_token(
        http,
        base,
        &client.0,
        &client.1,
        &[("grant_type", "client_credentials")],
    )
    .await;
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("client_credentials: {answer}"))
        .to_string()
}

fn kid(jwt: &str) -> String {
    decode(jwt).0["kid"].as_str().expect("kid").to_string()
}

/// Waits until the node has re-read its key file (its log says so `times` times in all).
async fn wait_for_reread(node: &ServerProcess, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while node.output().matches("master key file changed").count() < times {
        assert!(
            Instant::now() < deadline,
            "the node did not re-read the master key file:\n{}",
            node.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn master_key_rotation_without_downtime_next_to_a_running_node() {
    let install = Install::new().await;
    let cli = install.with_env(ENV);
    let d = cli.path();
    install.person("mk@example.org");
    let client = install.web_client("App", &["client_credentials"]);
    let original = master_file(d);
    let mut secrets = key_material(&original);

    let (listen, issuer) = chosen_address();
    let node = cli.serve(&listen, &issuer, &[]);
    let base = node.base();
    let http = node.http();
    let old_token = m2m(&http, &base, &client).await;
    assert!(active_at(&http, &base, &client, &old_token).await);

    // A wrong key (valid format) and a garbled file: clear errors, non-zero exit, no key.
    let wrong = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(wrong.path().join("keys")).expect("keys");
    let wrong_key = nyckel::crypto::random_token(32);
    std::fs::write(wrong.path().join("keys/master.key"), &wrong_key).expect("write");
    let wrong_cli = cli.in_dir(wrong.path());
    let (ok, _, err) = wrong_cli.run(&["keys", "rotate-master"]);
    assert!(!ok, "a wrong master key is refused");
    assert!(
        err.contains("could not be opened") || err.contains("not in the master key file"),
        "{err}"
    );
    assert!(!err.contains(&wrong_key), "{err}");
    std::fs::write(
        wrong.path().join("keys/master.key"),
        format!("current abcdefghijk {}\n", &wrong_key[..20]),
    )
    .expect("write");
    let (ok, _, err) = wrong_cli.run(&["keys", "rotate-master"]);
    assert!(!ok, "a garbled key file is refused");
    assert!(
        err.contains("master.key line 1") && err.contains("not a master key"),
        "{err}"
    );
    assert!(!err.contains(&wrong_key[..20]), "{err}");
    assert_eq!(master_file(d), original, "nothing changed");

    // Stage: the new key opens but does not seal yet.
    let (ok, report, err) = rotate_master(&cli, &["--stage"]);
    assert!(ok, "{err}");
    let staged = states(&report);
    assert_eq!(staged.len(), 2, "{report}");
    assert_eq!(staged[0].1, "current");
    assert_eq!(staged[1].1, "staged");
    let (old_id, new_id) = (staged[0].0.clone(), staged[1].0.clone());
    assert!(staged[0].2 >= 3, "the signing keys are under the old key");
    let staged_file = master_file(d);
    secrets.extend(key_material(&staged_file));
    let (ok, _, err) = rotate_master(&cli, &["--stage"]);
    assert!(!ok && err.contains("already staged"), "{err}");
    wait_for_reread(&node, 1).await;
    assert!(active_at(&http, &base, &client, &m2m(&http, &base, &client).await).await);

    // Promote: every row re-sealed under the new key, the old one retired.
    let (ok, report, err) = rotate_master(&cli, &[]);
    assert!(ok, "{err}");
    let promoted = states(&report);
    assert_eq!(
        promoted[0],
        (new_id.clone(), "current".into(), promoted[0].2)
    );
    assert!(promoted[0].2 >= 3, "{report}");
    assert_eq!(
        promoted[1],
        (old_id.clone(), "retired".into(), 0),
        "{report}"
    );
    wait_for_reread(&node, 2).await;
    let signed_after = m2m(&http, &base, &client).await;
    assert!(active_at(&http, &base, &client, &signed_after).await);
    assert!(active_at(&http, &base, &client, &old_token).await);

    // A node that has not received the promoted file still seals under the old key: here
    // the CLI with the staged file makes new signing keys.
    let straggler = tempfile::tempdir().expect("dir");
    std::fs::create_dir_all(straggler.path().join("keys")).expect("keys");
    std::fs::write(straggler.path().join("keys/master.key"), &staged_file).expect("write");
    cli.in_dir(straggler.path()).ok(&["keys", "rotate"]);

    // Forgetting the old key is refused while a row is sealed under it.
    let (ok, _, err) = rotate_master(&cli, &["--forget-old"]);
    assert!(!ok, "forget-old refused");
    assert!(
        err.contains("still sealed") && err.contains(&old_id) && err.contains("--reseal"),
        "{err}"
    );
    for s in &secrets {
        assert!(!err.contains(s.as_str()), "no key material: {err}");
    }
    assert_eq!(
        key_material(&master_file(d)).len(),
        2,
        "the file is unchanged"
    );

    // The running node opens the straggler's keys (old key, retired) and signs with them
    // once they activate.
    let before = kid(&signed_after);
    let deadline = Instant::now() + Duration::from_secs(30);
    let rotated = loop {
        let t = m2m(&http, &base, &client).await;
        if kid(&t) != before {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "the new signing key never signed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(active_at(&http, &base, &client, &rotated).await);

    // Re-seal, then forget: the file holds the new key only.
    let (ok, report, err) = rotate_master(&cli, &["--reseal"]);
    assert!(ok, "{err}");
    assert_eq!(states(&report)[1].2, 0, "{report}");
    let (ok, report, err) = rotate_master(&cli, &["--forget-old"]);
    assert!(ok, "{err}");
    assert_eq!(
        states(&report)
            .into_iter()
            .map(|(id, st, _)| (id, st))
            .collect::<Vec<_>>(),
        vec![(new_id.clone(), "current".to_string())]
    );
    let final_file = master_file(d);
    assert!(!final_file.contains(original.trim()), "the old key is gone");
    wait_for_reread(&node, 3).await;
    let last = m2m(&http, &base, &client).await;
    assert!(active_at(&http, &base, &client, &last).await);
    assert!(active_at(&http, &base, &client, &old_token).await);
    assert!(active_at(&http, &base, &client, &rotated).await);
    // A fresh process opens every key with the new file.
    cli.ok(&["keys", "list"]);

    // Audited; no key material in the server's log or the CLI's output.
    let events = install.json(&["audit", "list", "--kind", "keys.master_rotated"]);
    let out = events.to_string();
    assert_eq!(
        events["items"].as_array().map(Vec::len),
        Some(1),
        "{events}"
    );
    assert!(out.contains(&new_id) && out.contains(&old_id), "{out}");
    let log = node.output();
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "no key material in the log");
        assert!(!out.contains(s.as_str()));
    }
}
