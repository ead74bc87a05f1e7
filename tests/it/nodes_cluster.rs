//! Issue 7, done-when 1: two real `nyckel serve` processes on one database (SQLite, or
//! PostgreSQL when `NYCKEL_TEST_POSTGRES_URL` is set). Logins, refreshes and logouts alternate
//! between the nodes; the scheduled signing-key rotation (short test intervals) runs on one
//! node, the new key is in both nodes' JWKS before it signs, then tokens from both nodes carry
//! it and verify at either node, while a token signed by the old key keeps verifying; the
//! cleanup and rotation jobs run once across the nodes (metrics of both, audit log).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::helpers::browser::query;
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::nodes::{
    active_at, code_at, field, jwks_keys, redeem, refresh, userinfo, verify_at,
};
use crate::helpers::ops::Install;
use crate::helpers::process::{ServerProcess, free_port};
use crate::helpers::token::decode;

/// `nyckel_jobs_run_total` by job from a node's metrics listener.
async fn job_runs(port: u16) -> HashMap<String, u64> {
    let http = reqwest::Client::new();
    let mut text = None;
    for _ in 0..50 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
        {
            text = Some(r.text().await.expect("metrics body"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = text.expect("metrics listener answers");
    text.lines()
        .filter_map(|l| l.strip_prefix("nyckel_jobs_run_total{job=\""))
        .filter_map(|l| l.split_once("\"} "))
        .map(|(job, n)| (job.to_string(), n.trim().parse().expect("count")))
        .collect()
}

/// The nodes' warning and error lines (for failure messages).
fn warnings(nodes: &[&ServerProcess]) -> String {
    nodes
        .iter()
        .flat_map(|n| {
            n.output()
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("kid"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn kid(jwt: &str) -> String {
    decode(jwt).0["kid"].as_str().expect("kid").to_string()
}

#[tokio::test]
async fn two_nodes_share_sessions_rotate_keys_once_and_run_cleanup_once() {
    let install = Install::new().await;
    let (d, url) = (install.path(), install.url());
    install.person("cluster@example.org");
    let client = install.web_client("App", &[]);

    // The first keys were made when the database was; choose rotate_every so that the
    // scheduled rotation falls due a little after both nodes are up (and once only: the
    // job's lease lasts a minute).
    let listed = install.json(&["keys", "list"]);
    let activated = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["activates_at"].as_i64().expect("activates_at"))
        .max()
        .expect("a key");
    let now = nyckel::cli::now();
    let prepublish = 4;
    let lead = 15;
    let rotate_every = (now - activated) + prepublish + lead;
    let rotate_every = rotate_every.to_string();
    let cleanup_every = 4;
    let cleanup = cleanup_every.to_string();
    let env = |listen: &str| -> Vec<(String, String)> {
        [
            ("NYCKEL_KEYS__PREPUBLISH", prepublish.to_string()),
            ("NYCKEL_KEYS__RELOAD_INTERVAL", "1".to_string()),
            ("NYCKEL_KEYS__ROTATE_EVERY", rotate_every.clone()),
            ("NYCKEL_UPKEEP__CLEANUP_INTERVAL", cleanup.clone()),
            ("NYCKEL_METRICS__LISTEN", listen.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    };
    let started = Instant::now();
    // The issuer names node A's port, and both metrics listeners are fixed: chosen before
    // the nodes start, and chosen again should another test take one first.
    let (node_a, (_, issuer, env_a)) = ServerProcess::spawn_on_chosen_ports(d, url, || {
        let port_a = free_port();
        let metrics_a = format!("127.0.0.1:{}", free_port());
        let issuer = format!("https://localhost:{port_a}");
        (format!("127.0.0.1:{port_a}"), issuer, env(&metrics_a))
    });
    let (node_b, (_, _, env_b)) = ServerProcess::spawn_on_chosen_ports(d, url, || {
        let metrics_b = format!("127.0.0.1:{}", free_port());
        ("127.0.0.1:0".to_string(), issuer.clone(), env(&metrics_b))
    });
    let (a, b) = (node_a.base(), node_b.base());
    let http = node_a.http();

    // Log in on A; the code is redeemed on B.
    let browser = node_a.browser();
    let code = code_at(&browser, &a, &client.0, "cluster@example.org").await;
    let first = redeem(&http, &b, &client, &code).await;
    let old_access = field(&first, "access_token");
    let old_kid = kid(&old_access);
    let alg = field(&decode(&old_access).0, "alg");
    let mut rt = field(&first, "refresh_token");
    let mut id_token = field(&first, "id_token");

    // Refreshes alternate (B, A, B, ...); every access token works at both nodes. Meanwhile
    // the schedule pre-publishes the next key on one node: it must be in both JWKS before
    // any token carries it, and then tokens from both nodes carry it.
    let nodes = [(&a, "A"), (&b, "B")];
    let mut round = 0usize;
    let mut in_jwks: HashMap<&str, Option<usize>> = HashMap::from([("A", None), ("B", None)]);
    let mut new_kid: Option<String> = None;
    let mut signed_new: HashMap<&str, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(150);
    while signed_new.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no rotation seen (kid {old_kid}, new {new_kid:?}); A:\n{}",
            node_a.output()
        );
        round += 1;
        // JWKS of both nodes first, then a token.
        let jwks_now: HashMap<&str, Vec<(String, String)>> = HashMap::from([
            ("A", jwks_keys(&http, &a).await),
            ("B", jwks_keys(&http, &b).await),
        ]);
        for (n, keys) in &jwks_now {
            assert!(
                keys.iter().any(|(k, _)| *k == old_kid),
                "{n} keeps publishing the old key"
            );
            // The first key of the tokens' algorithm other than the old one is the new key;
            // note the round each node first published it.
            for (candidate, _) in keys.iter().filter(|(k, a)| *k != old_kid && *a == alg) {
                let new = new_kid.get_or_insert_with(|| candidate.clone());
                if new == candidate
                    && let Some(seen) = in_jwks.get_mut(n)
                {
                    seen.get_or_insert(round);
                }
            }
        }
        let (base, name) = nodes[round % 2];
        let answer = refresh(&http, base, &client, &rt).await;
        let access = field(&answer, "access_token");
        rt = field(&answer, "refresh_token");
        if let Some(t) = answer["id_token"].as_str() {
            id_token = t.to_string();
        }
        // The token verifies at both nodes.
        for (other, other_name) in nodes {
            assert!(
                active_at(&http, other, &client, &access).await,
                "a token from {name} is active at {other_name} (round {round}, kid {}, old {old_kid}, new {new_kid:?}, published {in_jwks:?}); warnings:\n{}",
                kid(&access),
                warnings(&[&node_a, &node_b])
            );
            assert_eq!(userinfo(&http, other, &access).await.status(), 200);
        }
        let k = kid(&access);
        if k != old_kid {
            // The new key was published by both nodes in an earlier round.
            for n in ["A", "B"] {
                let seen = in_jwks[n]
                    .unwrap_or_else(|| panic!("{name} signed with {k} before {n} published it"));
                assert!(
                    seen <= round,
                    "{n} published {k} in round {seen}, {name} signed with it in round {round}"
                );
            }
            assert_eq!(new_kid.as_deref(), Some(k.as_str()), "one new key signs");
            for (other, _) in nodes {
                verify_at(&http, other, &access).await;
                verify_at(&http, other, &id_token).await;
            }
            signed_new.entry(name).or_insert(round);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The old key's token still verifies at userinfo and introspection on both nodes.
    for (base, name) in nodes {
        assert!(
            active_at(&http, base, &client, &old_access).await,
            "the old key's token is active at {name}"
        );
        assert_eq!(userinfo(&http, base, &old_access).await.status(), 200);
    }

    // Logout on B ends the session everywhere: A asks for a login and refuses the refresh.
    let page = browser
        .get(&format!(
            "{b}/logout?id_token_hint={}",
            url::form_urlencoded::byte_serialize(id_token.as_bytes()).collect::<String>()
        ))
        .await;
    assert!(
        [200, 303].contains(&page.status.as_u16()),
        "logout at B: {}",
        page.status
    );
    let page = browser
        .get(&authorize_url(
            &a,
            &client.0,
            "openid",
            "s3",
            Some(&Pkce::new()),
            &[("prompt", "none")],
        ))
        .await;
    let loc = page.location.expect("redirect");
    assert_eq!(query(&loc)["error"], "login_required", "{loc}");
    let refused = refresh(&http, &a, &client, &rt).await;
    assert_eq!(refused["error"], "invalid_grant", "{refused}");

    // The jobs ran once across the nodes: one key rotation (audit and metrics), and the
    // cleanup about once per period in total, where two nodes each running it would have
    // made twice as many runs.
    let elapsed = started.elapsed().as_secs();
    let metrics_port = |env: &[(String, String)]| -> u16 {
        env.iter()
            .find(|(k, _)| k == "NYCKEL_METRICS__LISTEN")
            .and_then(|(_, v)| v.rsplit(':').next()?.parse().ok())
            .expect("the metrics port")
    };
    let (runs_a, runs_b) = (
        job_runs(metrics_port(&env_a)).await,
        job_runs(metrics_port(&env_b)).await,
    );
    let count =
        |job: &str| runs_a.get(job).copied().unwrap_or(0) + runs_b.get(job).copied().unwrap_or(0);
    assert_eq!(count("rotate_keys"), 1, "A: {runs_a:?}, B: {runs_b:?}");
    let periods = elapsed / cleanup_every;
    assert!(
        count("cleanup") >= 1 && count("cleanup") <= periods + 2,
        "cleanup runs {} in {elapsed} s (period {cleanup_every} s): A {runs_a:?}, B {runs_b:?}",
        count("cleanup")
    );
    let events = install.json(&["audit", "list", "--kind", "keys.rotated"]);
    let by_scheduler = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e.to_string().contains("scheduler"))
        .count();
    assert_eq!(by_scheduler, 1, "{events}");
    for node in [&node_a, &node_b] {
        let log = node.output();
        assert!(!log.contains(&client.1), "no client secret in the log");
    }
}
