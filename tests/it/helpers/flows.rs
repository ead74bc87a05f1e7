//! Shared flow helpers for tests: PKCE pairs, authorization URLs, token requests.

use nyckel::crypto::{b64, random_token, sha256};

use crate::helpers::REDIRECT_URI;

/// A PKCE verifier and its S256 challenge.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    /// A fresh pair.
    pub fn new() -> Self {
        let verifier = random_token(32);
        let challenge = b64(&sha256(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// An authorization request URL at `base` for `client_id` redirecting to [`REDIRECT_URI`].
pub fn authorize_url(
    base: &str,
    client_id: &str,
    scope: &str,
    state: &str,
    pkce: Option<&Pkce>,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&format!("{base}/authorize")).expect("url");
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT_URI)
            .append_pair("scope", scope)
            .append_pair("state", state);
        // Every client sends PKCE; without a pair of its own the test uses the fixed one of
        // RFC 7636 appendix B (`helpers::authorize::VERIFIER` redeems it).
        let challenge = pkce.map_or(crate::helpers::authorize::CHALLENGE, |p| &p.challenge);
        q.append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// POSTs to `/token` with client_secret_basic and returns the JSON (whatever the status).
pub async fn post_token(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> serde_json::Value {
    http.post(format!("{base}/token"))
        .basic_auth(client_id, Some(secret))
        .form(form)
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token response is JSON")
}
