//! RP-Initiated Logout 1.0: validating `id_token_hint` and `post_logout_redirect_uri`.
//!
//! A hint must be one of our ID tokens (signature by a key of ours, `iss` is us, the client
//! in `aud`); an expired hint is fine (the spec expects that). A `post_logout_redirect_uri`
//! is only followed when it equals, character for character, one the client registered
//! (SECURITY.md 3.7.2, O22); otherwise the person sees a page and is sent nowhere.

use serde_json::Value;

use crate::error::Result;
use crate::keys::KeyRing;
use crate::keys::jws::Alg;
use crate::store::{self, Db, clients::Client};

/// The logout request's parameters (query or form).
#[derive(Debug, Clone, Default)]
pub struct LogoutParams {
    pub id_token_hint: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub client_id: Option<String>,
    pub ui_locales: Option<String>,
}

/// What a valid hint says.
#[derive(Debug, Clone)]
pub struct Hint {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub aud: Vec<String>,
}

/// A validated logout request.
#[derive(Debug, Clone)]
pub struct ValidLogout {
    /// The verified hint, if one was sent.
    pub hint: Option<Hint>,
    /// The client the request is about (from `client_id` or the hint), if known.
    pub client: Option<Client>,
    /// Where to send the browser afterwards (registered, exact), with `state` still to add.
    pub redirect_uri: Option<String>,
}

/// Why a logout request is refused (shown as a page; nothing is ended, nobody redirected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutError {
    /// The hint is not a valid ID token of ours for the client.
    BadHint,
    /// The client is unknown, or `client_id` and the hint disagree.
    BadClient,
    /// The redirect URI is not registered for the client, or no client is known.
    BadRedirect,
}

impl LogoutError {
    /// The catalog key of the message shown.
    pub fn message_key(self) -> &'static str {
        match self {
            LogoutError::BadHint => "error.logout_hint",
            LogoutError::BadClient => "error.unknown_client",
            LogoutError::BadRedirect => "error.bad_logout_redirect",
        }
    }
}

/// Verifies an ID token hint (signature, `iss`, not an access token); `exp` is not checked.
pub fn verify_hint(keys: &KeyRing, issuer: &str, token: &str) -> Option<Hint> {
    let verified = keys.verify(token, &Alg::ALL).ok()?;
    if verified
        .typ()
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return None;
    }
    let claims = &verified.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return None;
    }
    let aud: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => return None,
    };
    if aud.is_empty() {
        return None;
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_string);
    Some(Hint {
        sub: text("sub"),
        sid: text("sid"),
        aud: match text("azp") {
            // With several audiences the authorised party is the client (OIDC Core 2).
            Some(azp) if aud.contains(&azp) => {
                let mut a = vec![azp.clone()];
                a.extend(aud.into_iter().filter(|x| *x != azp));
                a
            }
            _ => aud,
        },
    })
}

/// Validates a logout request.
pub async fn validate(
    db: &Db,
    keys: &KeyRing,
    issuer: &str,
    params: &LogoutParams,
) -> Result<std::result::Result<ValidLogout, LogoutError>> {
    let hint = match &params.id_token_hint {
        Some(token) => match verify_hint(keys, issuer, token) {
            Some(h) => Some(h),
            None => return Ok(Err(LogoutError::BadHint)),
        },
        None => None,
    };
    let client_id = match (&params.client_id, &hint) {
        (Some(id), Some(h)) if !h.aud.contains(id) => return Ok(Err(LogoutError::BadClient)),
        (Some(id), _) => Some(id.clone()),
        (None, Some(h)) => h.aud.first().cloned(),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => match store::clients::find(db, id).await? {
            Some(c) => Some(c),
            // A hint for a client that was deleted since: still a fine hint, but nowhere to go.
            None if params.client_id.is_none() => None,
            None => return Ok(Err(LogoutError::BadClient)),
        },
        None => None,
    };
    let redirect_uri = match &params.post_logout_redirect_uri {
        None => None,
        Some(uri) => match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => Some(uri.clone()),
            _ => return Ok(Err(LogoutError::BadRedirect)),
        },
    };
    Ok(Ok(ValidLogout {
        hint,
        client,
        redirect_uri,
    }))
}

/// The URL to send the browser to after logout: the registered URI with `state` (if sent).
pub fn redirect_location(uri: &str, state: Option<&str>) -> String {
    match state {
        Some(s) => crate::oidc::authorize::append_query(uri, &[("state", s)]),
        None => uri.to_string(),
    }
}
