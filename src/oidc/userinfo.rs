//! The userinfo endpoint (OIDC Core 5.3): `sub` plus the claims the access token's scope
//! grants, the same claims as in the ID token ([`crate::oidc::mint::scope_claims`]), read
//! fresh from the database, and `org_id`/`org_roles` for the active organisation.

use serde_json::{Map, Value, json};

use crate::clock::UnixTime;
use crate::oidc::access::{self, Refused};
use crate::oidc::error::OAuthError;
use crate::oidc::{mint, scope};
use crate::orgs;
use crate::state::AppState;
use crate::store;

/// Why userinfo is refused.
#[derive(Debug)]
pub enum UserinfoError {
    /// Missing, invalid, expired or revoked token (RFC 6750 3.1 `invalid_token`, 401).
    InvalidToken(Refused),
    /// The token lacks the `openid` scope or is not a person's (`insufficient_scope`, 403).
    InsufficientScope,
    /// Something broke; already logged.
    Internal(OAuthError),
}

impl From<OAuthError> for UserinfoError {
    fn from(e: OAuthError) -> Self {
        Self::Internal(e)
    }
}

/// The claims for the bearer of `token`.
pub async fn claims(
    state: &AppState,
    token: &str,
    now: UnixTime,
) -> Result<Map<String, Value>, UserinfoError> {
    let valid = access::validate(state, token, now)
        .await?
        .map_err(UserinfoError::InvalidToken)?;
    if !scope::has(&valid.scope, "openid") {
        return Err(UserinfoError::InsufficientScope);
    }
    let (Some(grant), Some(user)) = (&valid.grant, &valid.user) else {
        return Err(UserinfoError::InsufficientScope);
    };
    let mut c = Map::new();
    c.insert("sub".into(), json!(user.id));
    let wants_orgs = scope::has(&valid.scope, "orgs");
    let memberships = if wants_orgs || grant.organisation_id.is_some() {
        store::orgs::memberships_of(&state.db, &user.id)
            .await
            .map_err(OAuthError::from)?
    } else {
        Vec::new()
    };
    let client = state
        .clients
        .get(&valid.client_id)
        .await
        .map_err(OAuthError::from)?
        .ok_or(UserinfoError::InvalidToken(Refused::Revoked))?;
    let visible = orgs::visible_to(&client, &memberships);
    let orgs_claim = wants_orgs.then(|| orgs::orgs_claim(&visible));
    let active = grant.organisation_id.as_deref().and_then(|org| {
        visible
            .iter()
            .find(|m| m.organisation_id == org)
            .map(|m| (org, m.roles.as_slice()))
    });
    mint::scope_claims(&mut c, &valid.scope, user, orgs_claim, active);
    Ok(c)
}
