//! A refused `prompt=none` tells the integrator why in the debug log (issue 17): the client
//! only hears `login_required`, and a silent renewal from a cross-site iframe (no
//! SameSite=Lax cookie) looks the same as an ended session unless the log says which.

use nyckel::http::cookies::SESSION_COOKIE;

use crate::helpers::browser;
use crate::helpers::process::ServerProcess;
use crate::helpers::{REDIRECT_URI, authorize::CHALLENGE};

#[tokio::test]
async fn each_prompt_none_refusal_logs_its_reason() {
    let (fresh, mut server) = ServerProcess::fresh(&[]).await;
    let (client_id, _) = fresh.web_client("Silent", &[]);
    let base = format!("https://localhost:{}", server.addr.port());
    let mut url = url::Url::parse(&format!("{base}/authorize")).expect("url");
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid"),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("prompt", "none"),
    ]);
    let http = browser::client(server.addr, false);
    let secret = nyckel::crypto::secret_token();
    let dead = format!("{SESSION_COOKIE}={secret}");
    for cookie in [None, Some(dead.as_str())] {
        let mut req = http.get(url.as_str());
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let res = req.send().await.expect("request");
        assert_eq!(res.status().as_u16(), 303);
        let location = res.headers()["location"]
            .to_str()
            .expect("text")
            .to_string();
        assert!(
            location.starts_with(REDIRECT_URI) && location.contains("error=login_required"),
            "{location}"
        );
    }
    assert!(server.terminate(), "the server stops cleanly");
    let logs = server.output();
    let refusals: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("prompt=none refused") && l.contains(&client_id))
        .collect();
    assert_eq!(refusals.len(), 2, "two refusals logged:\n{logs}");
    assert!(
        refusals[0].contains("no session cookie was sent"),
        "{}",
        refusals[0]
    );
    assert!(
        refusals[1].contains("names no live session"),
        "{}",
        refusals[1]
    );
}
