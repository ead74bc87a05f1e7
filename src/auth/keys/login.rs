//! Logging in with a key: a link used by POST from the browser that asked for it, or a code
//! typed into that browser. A link opened in another browser is refused without burning it
//! (SECURITY.md P2); a code dies after `login.code_attempts` wrong guesses (P3). Every refusal
//! of a code looks the same, whether the identifier had an account or not.

use serde_json::json;

use super::{AMR_EMAIL, AMR_SMS, LOGIN, secret};
use crate::auth::session::{self, Session, acr};
use crate::crypto::{constant_time_eq, sha256_b64};
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, audit::Event, login_keys::LoginKey};

/// What a link looks like before it is used (GET: changes nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Usable in this browser; the address it went to, masked.
    Usable { masked_email: String },
    /// Usable, but only in the browser that asked for it.
    WrongBrowser,
    /// Unknown, used, replaced or expired.
    Invalid,
}

/// The browser a request comes from.
#[derive(Debug, Clone, Copy)]
pub struct Browser<'a> {
    /// The binding cookie's value, if the browser sent one.
    pub binding: Option<&'a str>,
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
    /// The SHA-256 of the browser's current session cookie (it ends on success).
    pub replaces: Option<&'a str>,
    /// Where to continue when the key does not say (kept with a login step).
    pub then: Option<&'a str>,
}

/// The outcome of using a key. Its `Debug` never shows the cookie.
pub enum Outcome {
    /// Logged in; `next` is where to continue (a local path), if the request said.
    Success {
        session: Session,
        cookie: String,
        next: Option<String>,
    },
    /// The key was right but a second factor is required (`auth::factors`): no session; a
    /// login step and its cookie value (secret) instead.
    SecondFactor { step_cookie: String },
    /// The link belongs to another browser; it still works there.
    WrongBrowser,
    /// Unknown, used, replaced, expired key, or a wrong code.
    Invalid,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Success { .. } => "Success",
            Outcome::SecondFactor { .. } => "SecondFactor",
            Outcome::WrongBrowser => "WrongBrowser",
            Outcome::Invalid => "Invalid",
        })
    }
}

/// Whether the key row is bound to this browser.
pub fn bound_to(key: &LoginKey, binding: Option<&str>) -> bool {
    match (&key.binding_hash, binding) {
        (Some(stored), Some(cookie)) => {
            constant_time_eq(stored.as_bytes(), sha256_b64(cookie).as_bytes())
        }
        _ => false,
    }
}

/// `a•••@example.org`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// Looks at a login link. Changes nothing.
pub async fn check_link(state: &AppState, key: &str, binding: Option<&str>) -> Result<LinkState> {
    let Some(found) =
        store::login_keys::find_usable(&state.db, &sha256_b64(key), LOGIN, state.now()).await?
    else {
        return Ok(LinkState::Invalid);
    };
    if !bound_to(&found, binding) {
        return Ok(LinkState::WrongBrowser);
    }
    Ok(LinkState::Usable {
        masked_email: mask_email(found.email.as_deref().unwrap_or("")),
    })
}

/// Uses a login link (POST from the page).
pub async fn use_link(state: &AppState, key: &str, browser: Browser<'_>) -> Result<Outcome> {
    let key_hash = sha256_b64(key);
    let now = state.now();
    let Some(found) = store::login_keys::find_usable(&state.db, &key_hash, LOGIN, now).await?
    else {
        return Ok(Outcome::Invalid);
    };
    if !bound_to(&found, browser.binding) {
        audit_failure(state, &found, browser, "wrong_browser").await?;
        return Ok(Outcome::WrongBrowser);
    }
    let Some(used) = store::login_keys::consume(&state.db, &key_hash, LOGIN, now).await? else {
        return Ok(Outcome::Invalid);
    };
    start(state, &used, browser, AMR_EMAIL).await
}

/// Uses a login code typed into the browser that asked for it.
pub async fn use_code(state: &AppState, typed: &str, browser: Browser<'_>) -> Result<Outcome> {
    let Some(found) = guess(state, LOGIN, typed, browser).await? else {
        return Ok(Outcome::Invalid);
    };
    let amr = if found.channel == "sms" {
        AMR_SMS
    } else {
        AMR_EMAIL
    };
    start(state, &found, browser, amr).await
}

/// One guess at the newest code of `purpose` for this browser: counts the attempt, compares,
/// and on a match uses the key. Returns the used key.
pub async fn guess(
    state: &AppState,
    purpose: &str,
    typed: &str,
    browser: Browser<'_>,
) -> Result<Option<LoginKey>> {
    let Some(binding) = browser.binding else {
        return Ok(None);
    };
    let now = state.now();
    let max = state.config.login.code_attempts;
    let Some(code) = secret::typed_code(typed, state.config.login.code_digits) else {
        // Not even the shape of a code: counted like a wrong one.
        if let Some(found) =
            store::login_keys::guess(&state.db, &sha256_b64(binding), purpose, now, max).await?
        {
            audit_failure(state, &found, browser, "wrong_code").await?;
        }
        return Ok(None);
    };
    let Some(found) =
        store::login_keys::guess(&state.db, &sha256_b64(binding), purpose, now, max).await?
    else {
        return Ok(None);
    };
    let stored = found.code_hash.as_deref().unwrap_or("");
    if !secret::code_matches(state, &found.key_hash, stored, &code) {
        audit_failure(state, &found, browser, "wrong_code").await?;
        return Ok(None);
    }
    Ok(store::login_keys::consume(&state.db, &found.key_hash, purpose, now).await?)
}

/// Starts the session for a used login key.
async fn start(
    state: &AppState,
    used: &LoginKey,
    browser: Browser<'_>,
    amr: &str,
) -> Result<Outcome> {
    let now = state.now();
    let Some(user_id) = used.user_id.as_deref() else {
        return Ok(Outcome::Invalid);
    };
    let Some(user) = store::users::find(&state.db, user_id).await? else {
        return Ok(Outcome::Invalid);
    };
    if !user.is_active() {
        return Ok(Outcome::Invalid);
    }
    if amr == AMR_EMAIL && user.email_verified == 0 {
        // The person proved they read this mailbox.
        store::users::set_email_verified(&state.db, &user.id, now).await?;
    }
    let factors = &crate::auth::factors::step::NewStep {
        user_id,
        first_amr: &[amr.to_string()],
        request_id: None,
        next: used.next.as_deref().or(browser.then),
        ip: Some(browser.ip),
        user_agent: browser.user_agent,
        replaces: browser.replaces,
        step_up: false,
    };
    if crate::auth::factors::requirement(&state.db, &state.config, user_id)
        .await?
        .required()
    {
        let step_cookie = crate::auth::factors::step::begin(
            &state.db,
            &state.config,
            crate::auth::factors::step::NewStep {
                request_id: factors
                    .next
                    .and_then(crate::auth::factors::step::request_of),
                ..*factors
            },
            now,
        )
        .await?;
        tracing::info!(user_id = %user_id, method = amr, "key right; second factor required");
        return Ok(Outcome::SecondFactor { step_cookie });
    }
    let (session, cookie) = session::create(
        state,
        session::NewSession {
            user_id,
            amr: &[amr.to_string()],
            acr: acr::SINGLE_FACTOR,
            replaces: browser.replaces,
            origin: store::sessions::Origin {
                ip: Some(browser.ip),
                user_agent: browser.user_agent,
            },
        },
        now,
    )
    .await?;
    store::audit::append(
        &state.db,
        &Event {
            kind: "login.success",
            user_id: Some(user_id),
            ip: Some(browser.ip),
            detail: json!({ "method": amr, "sid": session.sid }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tracing::info!(user_id = %user_id, sid = %session.sid, method = amr, "login with a key");
    crate::metrics::registry::login(amr, "success");
    Ok(Outcome::Success {
        session,
        cookie,
        next: used.next.clone(),
    })
}

/// Records a refused use of a key.
async fn audit_failure(
    state: &AppState,
    key: &LoginKey,
    browser: Browser<'_>,
    reason: &str,
) -> Result<()> {
    let method = if key.channel == "sms" {
        AMR_SMS
    } else {
        AMR_EMAIL
    };
    if key.purpose == LOGIN {
        crate::metrics::registry::login(method, "failure");
    }
    store::audit::append(
        &state.db,
        &Event {
            kind: "login.failure",
            user_id: key.user_id.as_deref(),
            ip: Some(browser.ip),
            detail: json!({
                "method": method,
                "purpose": key.purpose,
                "reason": reason,
                "attempts": key.attempts,
            }),
            ..Default::default()
        },
        state.now(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_masked() {
        assert_eq!(mask_email("anna@example.org"), "a•••@example.org");
        assert_eq!(mask_email("nope"), "•••");
    }
}
