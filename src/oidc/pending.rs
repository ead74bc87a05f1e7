//! Pending authorization requests: a validated authorization request, stored server-side
//! while the person logs in, picks an organisation or consents. The request is bound to the
//! browser that started it by a `__Host-` cookie whose SHA-256 is stored with it, and every
//! form that continues it carries the request's CSRF token.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::crypto::{constant_time_eq, random_id, secret_token, sha256_b64};
use crate::error::Result;
use crate::store::{self, Db, auth_requests::AuthRequestRow};

/// The cookie that binds pending requests to a browser.
pub const BINDING_COOKIE: &str = "__Host-nyckel_txn";

/// The validated parameters of an authorization request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthParams {
    pub client_id: String,
    /// Exactly as sent (and matched against the registration).
    pub redirect_uri: String,
    /// Granted-to-be scopes (supported and requested), space-separated.
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// S256 challenge, if sent.
    pub code_challenge: Option<String>,
    /// `prompt=login` or an exceeded `max_age`: the person must log in after `created_at`.
    pub force_login: bool,
    /// `prompt=consent`.
    pub force_consent: bool,
    /// `prompt=none`.
    pub no_prompt: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// `organization` as sent (id or slug).
    pub organization: Option<String>,
    /// The supported `acr_values` requested, in order (OIDC Core 3.1.2.1; unknown values
    /// are dropped: they are voluntary).
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// The `sub` of a valid `id_token_hint` (OIDC Core 3.1.2.1): the person the client
    /// expects. Rows written before it existed read as `None`.
    #[serde(default)]
    pub hint_sub: Option<String>,
}

impl AuthParams {
    /// Whether the client asked for a two-factor login: `urn:nyckel:acr:2fa` requested and
    /// nothing weaker accepted.
    pub fn wants_two_factors(&self) -> bool {
        use crate::auth::session::acr;
        self.acr_values.iter().any(|v| v == acr::MULTI_FACTOR)
            && !self.acr_values.iter().any(|v| v == acr::SINGLE_FACTOR)
    }
}

/// A pending request as loaded. Its `Debug` leaves out the CSRF token.
#[derive(Clone)]
pub struct Pending {
    pub id: String,
    pub csrf: String,
    pub params: AuthParams,
    pub created_at: UnixTime,
}

crate::redact::debug_showing!(Pending {
    id,
    params,
    created_at
});

/// Why a pending request cannot be continued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingError {
    /// Unknown or expired.
    Expired,
    /// Another browser, or a missing binding cookie.
    WrongBrowser,
    /// The form's CSRF token does not match.
    Csrf,
}

/// Stores a new pending request. `binding` is the browser's binding cookie value, if it
/// has one; returns the request and the binding cookie value to set (new or the same).
pub async fn create(
    db: &Db,
    params: AuthParams,
    binding: Option<&str>,
    ttl: i64,
    now: UnixTime,
) -> Result<(Pending, String)> {
    let binding = match binding {
        Some(b) if b.len() >= 43 => b.to_string(),
        _ => secret_token(),
    };
    let row = AuthRequestRow {
        id: random_id(),
        binding_hash: sha256_b64(&binding),
        csrf: secret_token(),
        client_id: params.client_id.clone(),
        params: serde_json::to_string(&params)?,
        created_at: now,
        expires_at: now + ttl,
    };
    store::auth_requests::insert(db, &row).await?;
    Ok((
        Pending {
            id: row.id,
            csrf: row.csrf,
            params,
            created_at: now,
        },
        binding,
    ))
}

/// The redirect URI of a pending request that has not expired, whoever's browser holds it
/// (pages use it only to let their form's answer redirect on to the client).
pub async fn redirect_uri(db: &Db, id: &str, now: UnixTime) -> Result<Option<String>> {
    let Some(row) = store::auth_requests::find(db, id, now).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<AuthParams>(&row.params)
        .ok()
        .map(|p| p.redirect_uri))
}

/// Loads a pending request for the browser presenting `binding`; with `csrf`, also checks
/// the form token.
pub async fn load(
    db: &Db,
    id: &str,
    binding: Option<&str>,
    csrf: Option<&str>,
    now: UnixTime,
) -> Result<Result<Pending, PendingError>> {
    let Some(row) = store::auth_requests::find(db, id, now).await? else {
        return Ok(Err(PendingError::Expired));
    };
    let bound = binding
        .is_some_and(|b| constant_time_eq(sha256_b64(b).as_bytes(), row.binding_hash.as_bytes()));
    if !bound {
        return Ok(Err(PendingError::WrongBrowser));
    }
    if let Some(csrf) = csrf
        && !constant_time_eq(csrf.as_bytes(), row.csrf.as_bytes())
    {
        return Ok(Err(PendingError::Csrf));
    }
    let params: AuthParams = serde_json::from_str(&row.params)?;
    Ok(Ok(Pending {
        id: row.id,
        csrf: row.csrf,
        params,
        created_at: row.created_at,
    }))
}

/// Removes a pending request once it has been answered; false if another request already
/// did (double submit).
pub async fn finish(db: &Db, id: &str) -> Result<bool> {
    Ok(store::auth_requests::take(db, id).await?)
}
