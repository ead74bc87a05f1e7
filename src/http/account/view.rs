//! What the account page shows (read by `auth::own::overview`, for the session's own person
//! only), in the person's words.

use askama::Template;

use crate::auth::session::Session;
use crate::i18n::Texts;
use crate::oidc::authorize::scope_text_key;
use crate::state::AppState;
use crate::store::users::User;

use super::{agent, events};

/// How many recent security events the page lists.
pub const EVENTS_SHOWN: i64 = 20;

/// The account page.
#[derive(Template)]
#[template(path = "pages/account.html")]
pub struct AccountPage {
    pub t: Texts,
    pub csrf: String,
    /// The notice after a change.
    pub notice: Option<&'static str>,
    pub email: String,
    pub email_verified: bool,
    pub phone: Option<String>,
    pub phone_verified: bool,
    /// The name field's value (as stored, or as typed after a refusal).
    pub name: String,
    /// The language chosen: `sv`, `en`, or empty (the browser's).
    pub language: String,
    /// Why the profile form was refused.
    pub profile_error: Option<&'static str>,
    pub sessions: Vec<SessionItem>,
    pub apps: Vec<AppItem>,
    pub orgs: Vec<OrgItem>,
    pub events: Vec<EventItem>,
    /// Whether passkeys work on this installation (else their section is left out).
    pub passkeys: bool,
}

impl AccountPage {
    /// Whether the person has sessions other than this one.
    pub fn has_others(&self) -> bool {
        self.sessions.iter().any(|s| !s.current)
    }
}

/// One live session.
#[derive(Debug, Clone)]
pub struct SessionItem {
    pub sid: String,
    /// The session this page was loaded in.
    pub current: bool,
    /// Browser and system, e.g. "Firefox on Windows".
    pub device: String,
    pub ip: String,
    pub started: String,
    pub last_active: String,
}

/// One app the person has allowed.
#[derive(Debug, Clone)]
pub struct AppItem {
    pub client_id: String,
    pub name: String,
    /// What the app may do, in words.
    pub scopes: Vec<&'static str>,
    pub since: String,
}

/// One organisation and the person's roles there.
#[derive(Debug, Clone)]
pub struct OrgItem {
    pub name: String,
    pub roles: Vec<String>,
}

/// One security event.
#[derive(Debug, Clone)]
pub struct EventItem {
    pub at: String,
    pub text: String,
    /// Where from, when it was the person's own action (never an administrator's address).
    pub ip: Option<String>,
}

pub use crate::http::page::datetime;

/// Reads everything the page shows.
pub async fn load(
    state: &AppState,
    session: &Session,
    user: &User,
    t: Texts,
) -> Result<AccountPage, sqlx::Error> {
    let overview = crate::auth::own::overview(state, session, EVENTS_SHOWN).await?;
    // This session first, then the most recently used.
    let mut live = overview.sessions;
    let last_active = |s: &crate::store::sessions::SessionInfo| s.last_seen_at.max(s.created_at);
    live.sort_by(|a, b| {
        (b.sid == session.sid)
            .cmp(&(a.sid == session.sid))
            .then_with(|| last_active(b).cmp(&last_active(a)))
    });
    let sessions: Vec<SessionItem> = live
        .into_iter()
        .map(|s| SessionItem {
            current: s.sid == session.sid,
            device: agent::describe(s.user_agent.as_deref(), t),
            ip: s
                .ip
                .unwrap_or_else(|| t.t("account.sessions.unknown").to_string()),
            started: datetime(&state.time_zone, s.created_at),
            last_active: datetime(&state.time_zone, s.last_seen_at.max(s.created_at)),
            sid: s.sid,
        })
        .collect();
    let apps = overview
        .apps
        .into_iter()
        .map(|c| AppItem {
            scopes: scope_texts(&c.scope, t),
            since: datetime(&state.time_zone, c.created_at),
            client_id: c.client_id,
            name: c.client_name,
        })
        .collect();
    let orgs = overview
        .orgs
        .into_iter()
        .map(|m| OrgItem {
            name: m.name,
            roles: m.roles,
        })
        .collect();
    let events = overview
        .events
        .iter()
        .map(|e| events::item(e, t, &state.time_zone))
        .collect();
    Ok(AccountPage {
        t,
        csrf: session.csrf.clone(),
        notice: None,
        email: user.email.clone(),
        email_verified: user.email_verified != 0,
        phone: user.phone.clone(),
        phone_verified: user.phone_verified != 0,
        name: user.name.clone().unwrap_or_default(),
        language: user.locale.clone().unwrap_or_default(),
        profile_error: None,
        sessions,
        apps,
        orgs,
        events,
        passkeys: state.passkeys_on(),
    })
}

/// The scopes of a consent in words, each text once.
fn scope_texts(scope: &str, t: Texts) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in scope.split_whitespace() {
        let text = t.t(scope_text_key(s));
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}
