//! The password login use-case: throttle check, password verification, failure counters,
//! re-hashing with stronger parameters, the new session and the audit record. No axum types:
//! the HTTP layer hands in plain values and renders the [`Outcome`].
//!
//! Every failure looks the same to the caller ([`Outcome::Invalid`]): unknown email, wrong
//! password, an account without a password, a disabled account (checked after the hash, so it
//! costs the same) and an oversized password (refused before hashing). Throttled attempts do
//! not check the password at all and look the same for known and unknown emails.
//!
//! Each checked attempt is counted as a failure before the password is verified and given
//! back (IP) or cleared (account) on success, so a burst of concurrent attempts cannot get
//! past the delays or the hard stop (see `auth::throttle::raced`).

use std::net::IpAddr;

use serde_json::json;

use crate::auth::password::{Hasher, Password, Verdict};
use crate::auth::session::{self, Session, acr};
use crate::auth::throttle::{self, Decision};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::error::Result;
use crate::state::AppState;
use crate::store::{self, Db, audit::Event};

/// The `amr` of a password login (RFC 8176).
pub const AMR_PASSWORD: &str = "pwd";

/// One login attempt as typed.
#[derive(Debug)]
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: &'a Password,
    /// The client's address (trusted proxies already resolved).
    pub ip: IpAddr,
    /// The client the person is logging in for, if any (audit only).
    pub client_id: Option<&'a str>,
    /// The SHA-256 of the browser's previous session cookie, which ends on success.
    pub replaces: Option<&'a str>,
    /// The browser's `User-Agent` (recorded with the session, cut to 256 characters).
    pub user_agent: Option<&'a str>,
    /// The pending authorization request the login continues, if any (kept with a login
    /// step when a second factor is required).
    pub request_id: Option<&'a str>,
    /// Where to continue after the login (a local path; kept with a login step).
    pub next: Option<&'a str>,
}

/// What the attempt led to. Its `Debug` never shows the cookie value.
pub enum Outcome {
    /// Logged in: the new session and the cookie value to give the browser (secret).
    Success { session: Session, cookie: String },
    /// The password was right but a second factor is required (`auth::factors`): no
    /// session; a login step and its cookie value (secret) instead.
    SecondFactor { step_cookie: String },
    /// Wrong email or password (deliberately not saying which).
    Invalid,
    /// Too many failures recently; the password was not checked.
    Throttled { retry_after: i64 },
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Success { session, .. } => f
                .debug_struct("Success")
                .field("session", session)
                .finish_non_exhaustive(),
            Outcome::SecondFactor { .. } => f.write_str("SecondFactor"),
            Outcome::Invalid => f.write_str("Invalid"),
            Outcome::Throttled { retry_after } => f
                .debug_struct("Throttled")
                .field("retry_after", retry_after)
                .finish(),
        }
    }
}

/// Why an attempt failed, for the audit record only (never shown).
#[derive(Debug, Clone, Copy)]
enum Failure {
    UnknownAccount,
    WrongPassword,
    Disabled,
    TooLong,
}

impl Failure {
    fn as_str(self) -> &'static str {
        match self {
            Failure::UnknownAccount => "unknown_account",
            Failure::WrongPassword => "wrong_password",
            Failure::Disabled => "disabled",
            Failure::TooLong => "too_long",
        }
    }
}

/// Runs a password login attempt at `now`.
#[tracing::instrument(skip_all)]
pub async fn password(state: &AppState, attempt: Attempt<'_>, now: UnixTime) -> Result<Outcome> {
    let (db, hasher, config) = (&state.db, &state.hasher, &state.config);
    // A flood of attempts waits here, before touching the database (`Hasher::admit`).
    let _admitted = hasher.admit().await?;
    let account_key = throttle::account_key(attempt.email);
    let ip_key = throttle::ip_key(attempt.ip);
    let ip = attempt.ip.to_string();

    let account = store::throttle::get(db, &account_key).await?;
    let by_ip = store::throttle::get(db, &ip_key).await?;
    if let Decision::Throttled { retry_after } =
        throttle::decide(account, by_ip, &config.throttle, now)
    {
        let ctx = (attempt.client_id, ip.as_str(), account_key.as_str());
        audit_throttled(db, ctx, account.failures, by_ip.failures, false, now).await?;
        crate::metrics::registry::login(AMR_PASSWORD, "throttled");
        return Ok(Outcome::Throttled { retry_after });
    }

    // Count the attempt as a failure before checking it (given back on success), so that
    // concurrent attempts cannot all pass a counter read before any of them failed.
    let reset_after = config.throttle.hard_stop_window;
    let account_failures =
        store::throttle::record_failure(db, &account_key, now, reset_after).await?;
    let ip_failures = store::throttle::record_failure(db, &ip_key, now, reset_after).await?;
    if throttle::account_raced(account.failures, account_failures, &config.throttle)
        || throttle::ip_raced(by_ip.failures, ip_failures, &config.throttle)
    {
        let ctx = (attempt.client_id, ip.as_str(), account_key.as_str());
        audit_throttled(db, ctx, account_failures, ip_failures, true, now).await?;
        crate::metrics::registry::login(AMR_PASSWORD, "throttled");
        let counted = |failures| store::throttle::Counter {
            failures: failures - 1,
            last_failure_at: now,
        };
        let retry_after = match throttle::decide(
            counted(account_failures),
            counted(ip_failures),
            &config.throttle,
            now,
        ) {
            Decision::Throttled { retry_after } => retry_after,
            Decision::Allow => 1,
        };
        return Ok(Outcome::Throttled { retry_after });
    }

    let (user_id, failure) = match check(db, hasher, config, &attempt, now).await? {
        Checked::Passed(user_id) => {
            store::throttle::forgive(db, &ip_key).await?;
            return succeed(state, &attempt, &account_key, &ip, &user_id, now).await;
        }
        Checked::Failed(user_id, failure) => (user_id, failure),
    };

    store::audit::append(
        db,
        &Event {
            kind: "login.failure",
            user_id: user_id.as_deref(),
            client_id: attempt.client_id,
            ip: Some(&ip),
            detail: json!({
                "method": AMR_PASSWORD,
                "account": account_key,
                "reason": failure.as_str(),
                "account_failures": account_failures,
                "ip_failures": ip_failures,
            }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tracing::info!(
        user_id = user_id.as_deref().unwrap_or("-"),
        reason = failure.as_str(),
        account_failures,
        "password login failed"
    );
    crate::metrics::registry::login(AMR_PASSWORD, "failure");
    Ok(Outcome::Invalid)
}

/// Records an attempt that was not checked because of throttling. `ctx` is the client id,
/// the IP address and the account key; `raced` marks attempts stopped after concurrent ones.
async fn audit_throttled(
    db: &Db,
    ctx: (Option<&str>, &str, &str),
    account_failures: i64,
    ip_failures: i64,
    raced: bool,
    now: UnixTime,
) -> Result<()> {
    let (client_id, ip, account_key) = ctx;
    store::audit::append(
        db,
        &Event {
            kind: "login.throttled",
            user_id: None,
            client_id,
            ip: Some(ip),
            detail: json!({
                "method": AMR_PASSWORD,
                "account": account_key,
                "account_failures": account_failures,
                "ip_failures": ip_failures,
                "concurrent": raced,
            }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tracing::info!(
        account_failures,
        ip_failures,
        raced,
        "password login throttled"
    );
    Ok(())
}

/// Clears the account counter, starts the session and records the login.
async fn succeed(
    state: &AppState,
    attempt: &Attempt<'_>,
    account_key: &str,
    ip: &str,
    user_id: &str,
    now: UnixTime,
) -> Result<Outcome> {
    let (db, config) = (&state.db, &state.config);
    store::throttle::clear(db, account_key).await?;
    // A second factor required: no session yet, a login step instead (SECURITY.md 6.4.3:
    // whatever led to this password, it alone is not enough).
    if crate::auth::factors::requirement(db, config, user_id)
        .await?
        .required()
    {
        let step_cookie = crate::auth::factors::step::begin(
            db,
            config,
            crate::auth::factors::step::NewStep {
                user_id,
                first_amr: &[AMR_PASSWORD.to_string()],
                request_id: attempt.request_id,
                next: attempt.next,
                ip: Some(ip),
                user_agent: attempt.user_agent,
                replaces: attempt.replaces,
                step_up: false,
            },
            now,
        )
        .await?;
        tracing::info!(user_id = %user_id, "password right; second factor required");
        crate::metrics::registry::login(AMR_PASSWORD, "first_factor");
        return Ok(Outcome::SecondFactor { step_cookie });
    }
    let (session, cookie) = session::create(
        state,
        session::NewSession {
            user_id,
            amr: &[AMR_PASSWORD.to_string()],
            acr: acr::SINGLE_FACTOR,
            replaces: attempt.replaces,
            origin: store::sessions::Origin {
                ip: Some(ip),
                user_agent: attempt.user_agent,
            },
        },
        now,
    )
    .await?;
    store::audit::append(
        db,
        &Event {
            kind: "login.success",
            user_id: Some(user_id),
            client_id: attempt.client_id,
            ip: Some(ip),
            detail: json!({ "method": AMR_PASSWORD, "sid": session.sid }),
            ..Default::default()
        },
        now,
    )
    .await?;
    tracing::info!(user_id = %user_id, sid = %session.sid, "password login");
    crate::metrics::registry::login(AMR_PASSWORD, "success");
    Ok(Outcome::Success { session, cookie })
}

/// The result of checking the password.
enum Checked {
    /// Right password, active account: its id.
    Passed(String),
    /// Failed; the account's id when the email belongs to one.
    Failed(Option<String>, Failure),
}

/// Verifies the password. Re-hashes a right password stored with weaker parameters.
async fn check(
    db: &Db,
    hasher: &Hasher,
    config: &Config,
    attempt: &Attempt<'_>,
    now: UnixTime,
) -> Result<Checked> {
    // Refuse absurd lengths before they reach argon2 (SECURITY.md 6.2.9); the policy maximum
    // is in code points, a code point is at most 4 bytes.
    if attempt.password.expose().len() > config.password.max_length.saturating_mul(4) {
        return Ok(Checked::Failed(None, Failure::TooLong));
    }
    let user = store::users::find_by_email(db, attempt.email).await?;
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let verdict = hasher.verify(attempt.password, stored).await?;
    let Some(user) = user else {
        return Ok(Checked::Failed(None, Failure::UnknownAccount));
    };
    if verdict == Verdict::Mismatch {
        return Ok(Checked::Failed(Some(user.id), Failure::WrongPassword));
    }
    if !user.is_active() {
        return Ok(Checked::Failed(Some(user.id), Failure::Disabled));
    }
    if verdict == Verdict::MatchNeedsRehash {
        // The login succeeds whether or not the upgrade is stored; it is tried again next time.
        match hasher.hash(attempt.password).await {
            Ok(hash) => {
                if let Err(e) = store::users::set_password_hash(db, &user.id, &hash, now).await {
                    tracing::warn!(user_id = %user.id, error = %crate::error::Chain(&e), "storing the re-hashed password failed");
                } else {
                    tracing::info!(user_id = %user.id, "password re-hashed with current parameters");
                }
            }
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %crate::error::Chain(&e), "re-hashing the password failed")
            }
        }
    }
    Ok(Checked::Passed(user.id))
}
