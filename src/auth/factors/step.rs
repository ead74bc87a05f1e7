//! The login step: a login that passed its first factor and waits for the second, or a live
//! session being stepped up. The browser holds a 256-bit random value (the step cookie);
//! only its SHA-256 is stored. A step lives `login.step_ttl` seconds, dies after
//! `login.code_attempts` wrong second factors, and ends in at most one session: [`finish`]
//! consumes it in one atomic statement. No session exists until then, so a first factor
//! alone never reaches anything a session would.

use serde_json::json;

use super::{AMR_MFA, combined_amr};
use crate::auth::session::{self, Session, acr};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::crypto::{b64, secret_token, sha256_b64};
use crate::error::Result;
use crate::keys::KeyRing;
use crate::state::AppState;
use crate::store::{self, Db, audit::Event, login_steps::StepRow};

/// A step to begin.
#[derive(Debug, Clone, Copy)]
pub struct NewStep<'a> {
    pub user_id: &'a str,
    /// The first factor's methods (for a step-up: the session's).
    pub first_amr: &'a [String],
    /// The pending authorization request this login continues.
    pub request_id: Option<&'a str>,
    /// Where to continue afterwards (a local path).
    pub next: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// The cookie hash of the session the finished login replaces.
    pub replaces: Option<&'a str>,
    /// Stepping up a live session (rather than a new login).
    pub step_up: bool,
}

/// A live step. Its `Debug` leaves out the key.
#[derive(Clone)]
pub struct Step {
    /// SHA-256 of the step cookie (also what SMS codes for this step are bound to).
    pub id_hash: String,
    pub user_id: String,
    pub first_amr: Vec<String>,
    pub request_id: Option<String>,
    pub next: Option<String>,
    pub step_up: bool,
    pub expires_at: UnixTime,
    pub failures: i64,
}

crate::redact::debug_showing!(Step {
    user_id,
    first_amr,
    request_id,
    step_up
});

impl From<StepRow> for Step {
    fn from(r: StepRow) -> Self {
        Self {
            id_hash: r.id_hash,
            user_id: r.user_id,
            first_amr: store::from_json_list(&r.first_amr),
            request_id: r.request_id,
            next: r.next,
            step_up: r.step_up != 0,
            expires_at: r.expires_at,
            failures: r.failures,
        }
    }
}

/// The path a login for a pending authorization request continues at.
pub const CONTINUE_PATH: &str = "/authorize/continue?req=";

/// The pending request a continue path names, if it is one.
pub fn request_of(next: &str) -> Option<&str> {
    next.strip_prefix(CONTINUE_PATH)
        .filter(|id| !id.is_empty() && !id.contains(['&', '#', '%']))
}

/// How many wrong second factors end a step.
pub fn max_failures(config: &Config) -> i64 {
    config.login.code_attempts
}

/// Begins a step; returns the cookie value (for the browser only; never stored or logged).
pub async fn begin(db: &Db, config: &Config, new: NewStep<'_>, now: UnixTime) -> Result<String> {
    let cookie = secret_token();
    let row = StepRow {
        id_hash: sha256_b64(&cookie),
        user_id: new.user_id.to_string(),
        first_amr: store::to_json_list(new.first_amr),
        request_id: new.request_id.map(str::to_string),
        next: new.next.map(str::to_string),
        ip: new.ip.map(str::to_string),
        user_agent: new.user_agent.map(str::to_string),
        replaces: new.replaces.map(str::to_string),
        step_up: i64::from(new.step_up),
        created_at: now,
        expires_at: now + config.login.step_ttl,
        failures: 0,
    };
    store::login_steps::insert(db, &row).await?;
    store::audit::append(
        db,
        &Event {
            kind: if new.step_up {
                "login.step_up"
            } else {
                "login.first_factor"
            },
            user_id: Some(new.user_id),
            ip: new.ip,
            detail: json!({ "first_amr": new.first_amr }),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(cookie)
}

/// The live step of a step cookie, if any.
pub async fn load(db: &Db, config: &Config, cookie: &str, now: UnixTime) -> Result<Option<Step>> {
    let found =
        store::login_steps::find_live(db, &sha256_b64(cookie), now, max_failures(config)).await?;
    Ok(found.map(Step::from))
}

/// The CSRF token of a step's forms: a MAC of its hash under the master key, so only the
/// browser that holds the step (and sees its page) has it.
pub fn csrf(keys: &KeyRing, step: &Step) -> String {
    b64(&keys.mac("step-csrf", step.id_hash.as_bytes()))
}

/// Every CSRF token `step` accepts: [`csrf`] under each master key of the file (the check
/// itself is `http::csrf::step_ok`).
pub fn csrf_tokens(keys: &KeyRing, step: &Step) -> Vec<String> {
    keys.macs("step-csrf", step.id_hash.as_bytes())
        .iter()
        .map(|mac| b64(mac))
        .collect()
}

/// Counts a wrong second factor; true when the step is dead now.
pub async fn fail(
    db: &Db,
    config: &Config,
    step: &Step,
    method: &str,
    ip: &str,
    now: UnixTime,
) -> Result<bool> {
    let failures = store::login_steps::fail(db, &step.id_hash).await?;
    let dead = failures.is_none_or(|n| n >= max_failures(config));
    store::audit::append(
        db,
        &Event {
            kind: "login.failure",
            user_id: Some(&step.user_id),
            ip: Some(ip),
            detail: json!({
                "method": method,
                "reason": "wrong_second_factor",
                "failures": failures,
                "step_ended": dead,
            }),
            ..Default::default()
        },
        now,
    )
    .await?;
    crate::metrics::registry::login(method, "failure");
    Ok(dead)
}

/// Abandons a step (the person starts over).
pub async fn abandon(db: &Db, step: &Step) -> Result<()> {
    store::login_steps::delete(db, &step.id_hash).await?;
    Ok(())
}

/// Ends the step with its second factor `second` (an RFC 8176 value): consumes it (once,
/// atomically) and starts the two-factor session, replacing the browser's old one. `None`
/// when the step was used, expired or ended meanwhile.
pub async fn finish(
    state: &AppState,
    step: &Step,
    second: &str,
) -> Result<Option<(Session, String)>> {
    let (db, config, now) = (&state.db, &state.config, state.now());
    let Some(row) =
        store::login_steps::consume(db, &step.id_hash, now, max_failures(config)).await?
    else {
        return Ok(None);
    };
    let active = store::users::find(db, &row.user_id)
        .await?
        .is_some_and(|u| u.is_active());
    if !active {
        return Ok(None);
    }
    let first = store::from_json_list(&row.first_amr);
    let amr = combined_amr(&first, second);
    let (session, cookie) = session::create(
        state,
        session::NewSession {
            user_id: &row.user_id,
            amr: &amr,
            acr: acr::MULTI_FACTOR,
            replaces: row.replaces.as_deref(),
            origin: store::sessions::Origin {
                ip: row.ip.as_deref(),
                user_agent: row.user_agent.as_deref(),
            },
        },
        now,
    )
    .await?;
    store::audit::append(
        db,
        &Event {
            kind: "login.success",
            user_id: Some(&row.user_id),
            ip: row.ip.as_deref(),
            detail: json!({
                "method": amr,
                "sid": session.sid,
                "step_up": row.step_up != 0,
            }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tracing::info!(user_id = %row.user_id, sid = %session.sid, second, "two-factor login");
    crate::metrics::registry::login(AMR_MFA, "success");
    Ok(Some((session, cookie)))
}

/// The answer to a second factor offered in a step.
pub enum Checked {
    /// Right: the two-factor session and its cookie value (secret).
    Done { session: Session, cookie: String },
    /// Wrong (or nothing to check against); the step lives on.
    Wrong,
    /// Wrong, and the step is dead now (or was already).
    Ended,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Checked::Done { .. } => "Done",
            Checked::Wrong => "Wrong",
            Checked::Ended => "Ended",
        })
    }
}

/// Counts a wrong second factor of `method` against the step.
pub async fn wrong(state: &AppState, step: &Step, method: &str, ip: &str) -> Result<Checked> {
    let dead = fail(&state.db, &state.config, step, method, ip, state.now()).await?;
    Ok(if dead { Checked::Ended } else { Checked::Wrong })
}

/// A right second factor `second`: ends the step in a session ([`finish`]).
pub async fn done(state: &AppState, step: &Step, second: &str) -> Result<Checked> {
    match finish(state, step, second).await? {
        Some((session, cookie)) => Ok(Checked::Done { session, cookie }),
        None => Ok(Checked::Ended),
    }
}
