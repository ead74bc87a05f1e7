//! Login sessions: server-side rows keyed by the SHA-256 of a 256-bit random cookie value.
//! Every login gets a new cookie value (no fixation) and replaces the browser's previous
//! session: the same person signing in again (step-up, `prompt=login`, `max_age`) keeps the
//! session's `sid`, so that apps holding it are still told when it ends; another person
//! signing in ends the earlier person's session as a sign-out would ([`create`]). Sessions
//! end after `session.idle_timeout` without activity or `session.absolute_timeout` after
//! login, whichever comes first.

use crate::clock::UnixTime;
use crate::config::SessionConfig;
use crate::crypto::{random_id, secret_token, sha256_b64};
use crate::error::Result;
use crate::oidc::backchannel;
use crate::state::AppState;
use crate::store::{self, Db, sessions::SessionRow};

/// How often (seconds) activity is written back; reads in between do not write.
pub const TOUCH_EVERY: i64 = 60;

/// Authentication methods (RFC 8176 `amr` values) and the resulting `acr`.
pub mod acr {
    /// One factor (password, or a login link).
    pub const SINGLE_FACTOR: &str = "urn:nyckel:acr:1fa";
    /// Two independent factors, or a passkey with user verification.
    pub const MULTI_FACTOR: &str = "urn:nyckel:acr:2fa";
}

/// A live session. Its `Debug` leaves out the CSRF token.
#[derive(Clone)]
pub struct Session {
    /// SHA-256 of the cookie value (the row key).
    pub id_hash: String,
    /// Public session id, as the `sid` claim.
    pub sid: String,
    pub user_id: String,
    /// Per-session CSRF token for forms posted while logged in.
    pub csrf: String,
    pub auth_time: UnixTime,
    pub amr: Vec<String>,
    pub acr: String,
}

crate::redact::debug_showing!(Session {
    sid,
    user_id,
    auth_time,
    amr,
    acr
});

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Self {
            amr: store::from_json_list(&r.amr),
            id_hash: r.id_hash,
            sid: r.sid,
            user_id: r.user_id,
            csrf: r.csrf,
            auth_time: r.auth_time,
            acr: r.acr,
        }
    }
}

/// A session to start after a successful login.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub user_id: &'a str,
    /// RFC 8176 methods used.
    pub amr: &'a [String],
    pub acr: &'a str,
    /// The hash of the browser's previous session, which ends.
    pub replaces: Option<&'a str>,
    pub origin: store::sessions::Origin<'a>,
}

/// Creates a session after a successful login and returns it with the cookie value
/// (shown to the browser only; never stored or logged), in one transaction with the end of
/// the browser's previous session (`replaces`):
/// - the same person: the new session keeps the previous one's `sid`, so the grants made in
///   it (and the apps that hold that `sid`) belong to the new one and end with it;
/// - another person (a shared computer): the earlier person's session ends as at sign-out:
///   its grants are revoked, its apps are queued a logout token (`oidc::backchannel`) and
///   `logout` is recorded with the reason `another_login`.
pub async fn create(
    state: &AppState,
    new: NewSession<'_>,
    now: UnixTime,
) -> Result<(Session, String)> {
    let idle = state.config.session.idle_timeout;
    let previous = match new.replaces {
        // A session past its idle timeout has expired, which tells nobody.
        Some(hash) => store::sessions::find(&state.db, hash, now)
            .await?
            .filter(|old| old.last_seen_at + idle > now),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let mut sid = None;
    let mut told = 0;
    // Only the login that ended the previous session carries it on (two racing logins from
    // one browser: the other one gets a new `sid`).
    if let Some(old) = previous
        && store::sessions::take(&mut tx, &old.id_hash).await?
    {
        if old.user_id == new.user_id {
            sid = Some(old.sid);
        } else {
            store::grants::revoke_by_sid(&mut tx, &old.sid, now).await?;
            told = backchannel::queue(&mut tx, state, std::slice::from_ref(&old.sid)).await?;
            let event = store::audit::Event {
                kind: "logout",
                user_id: Some(&old.user_id),
                detail: serde_json::json!({ "sid": old.sid, "reason": "another_login" }),
                ..Default::default()
            };
            store::audit::append(&mut tx, &event, now).await?;
        }
    } else if let Some(hash) = new.replaces {
        // Expired (its row goes now), or ended meanwhile.
        store::sessions::delete(&mut tx, hash).await?;
    }
    let created = insert(&mut tx, &state.config.session, new, sid, now).await?;
    tx.commit().await?;
    backchannel::wake(state, told);
    Ok(created)
}

/// Inserts a session row for `new` (its `replaces` is not looked at), with `sid` or a new
/// one. [`create`] is the login's way in; tests and tools that need a session in a browser
/// without one call this.
pub async fn insert(
    db: impl Into<store::Conn<'_>>,
    config: &SessionConfig,
    new: NewSession<'_>,
    sid: Option<String>,
    now: UnixTime,
) -> Result<(Session, String)> {
    let NewSession {
        user_id,
        amr,
        acr,
        origin,
        ..
    } = new;
    let cookie = secret_token();
    let row = SessionRow {
        id_hash: sha256_b64(&cookie),
        sid: sid.unwrap_or_else(random_id),
        user_id: user_id.to_string(),
        csrf: secret_token(),
        auth_time: now,
        amr: store::to_json_list(amr),
        acr: acr.to_string(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + config.absolute_timeout,
    };
    store::sessions::insert(db, &row, origin).await?;
    Ok((row.into(), cookie))
}

/// Finds the live session for a cookie value, enforcing idle and absolute timeouts and
/// recording activity at most every [`TOUCH_EVERY`] seconds. Expired sessions are deleted.
pub async fn load(
    db: &Db,
    config: &SessionConfig,
    cookie: &str,
    now: UnixTime,
) -> Result<Option<Session>> {
    let hash = sha256_b64(cookie);
    let Some(row) = store::sessions::find(db, &hash, now).await? else {
        return Ok(None);
    };
    if row.last_seen_at + config.idle_timeout <= now {
        store::sessions::delete(db, &hash).await?;
        return Ok(None);
    }
    let Some(user) = store::users::find(db, &row.user_id).await? else {
        return Ok(None);
    };
    if !user.is_active() {
        store::sessions::delete(db, &hash).await?;
        return Ok(None);
    }
    if now - row.last_seen_at >= TOUCH_EVERY {
        store::sessions::touch(db, &hash, now).await?;
    }
    Ok(Some(row.into()))
}

/// The address and browser (`User-Agent`) the session was begun from, as recorded then.
pub async fn origin(db: &Db, session: &Session) -> Result<(Option<String>, Option<String>)> {
    let info = store::sessions::find_by_sid(db, &session.sid).await?;
    Ok(info.map(|o| (o.ip, o.user_agent)).unwrap_or_default())
}

/// Logout at the person's request (RP-initiated logout through `client_id`, if any): ends the
/// session, revokes every grant (refresh and access tokens) made in it, queues a logout token
/// for every client that had tokens in it (`oidc::backchannel`) and records `logout` in the
/// audit log, in one transaction. Returns the front-channel logout URIs of the clients that
/// had tokens in it (`oidc::frontchannel`), for the logged-out page.
pub async fn log_out(
    state: &AppState,
    session: &Session,
    client_id: Option<&str>,
) -> Result<Vec<String>> {
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::sessions::delete(&mut tx, &session.id_hash).await?;
    store::grants::revoke_by_sid(&mut tx, &session.sid, now).await?;
    let told = backchannel::queue(&mut tx, state, std::slice::from_ref(&session.sid)).await?;
    let front = store::grants::front_channels(&mut tx, &session.sid).await?;
    let event = store::audit::Event {
        kind: "logout",
        user_id: Some(&session.user_id),
        client_id,
        ..Default::default()
    };
    store::audit::append(&mut tx, &event, now).await?;
    tx.commit().await?;
    backchannel::wake(state, told);
    Ok(front)
}
