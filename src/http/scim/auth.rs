//! Who may call an organisation's SCIM endpoint: a `client_credentials` access token with
//! the `scim` scope, of a client registered for the admin API and owned by that very
//! organisation (the rule of trust boundaries: an organisation's client never reaches
//! outside it, and no installation client or person reaches SCIM at all). Checked at every
//! request, from the database: a client deleted or switched off stops at once.
//!
//! Refusals: no token 401; a token that is not a live Nyckel access token 401
//! `invalid_token`; a live token without the `scim` scope or of the wrong kind 403
//! `insufficient_scope`; another organisation's endpoint (or one that does not exist) 404,
//! the same answer for both, so a token learns nothing about other organisations.

use axum::http::HeaderMap;
use axum::http::header;

use crate::admin::Caller;
use crate::admin::principal::Principal;
use crate::oidc::scope;
use crate::scim::Scim;
use crate::scim::error::{ScimError, ScimErrorKind};
use crate::state::AppState;

/// Why the caller was refused, with the `WWW-Authenticate` challenge when there is one.
pub struct Refused {
    pub error: ScimError,
    pub challenge: Option<&'static str>,
}

impl From<ScimError> for Refused {
    fn from(error: ScimError) -> Self {
        Refused {
            error,
            challenge: None,
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The request's context, or why not.
pub async fn authorize<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    ip: Option<String>,
    org_key: &str,
) -> Result<Scim<'a>, Refused> {
    let Some(token) = bearer(headers) else {
        return Err(Refused {
            error: ScimError::new(ScimErrorKind::Unauthorized, "a bearer token is required"),
            challenge: Some("Bearer realm=\"scim\""),
        });
    };
    let invalid = || Refused {
        error: ScimError::new(ScimErrorKind::Unauthorized, "the token is not valid"),
        challenge: Some("Bearer realm=\"scim\", error=\"invalid_token\""),
    };
    let valid = match crate::oidc::access::validate(state, token, state.now()).await {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => return Err(invalid()),
        Err(e) => {
            tracing::error!(error = %e, "SCIM token check failed");
            return Err(ScimError::bare(ScimErrorKind::Unavailable).into());
        }
    };
    let insufficient = || Refused {
        error: ScimError::new(
            ScimErrorKind::Forbidden,
            "the token needs the scim scope, from the client_credentials grant of a client of this organisation",
        ),
        challenge: Some("Bearer realm=\"scim\", error=\"insufficient_scope\", scope=\"scim\""),
    };
    if !scope::has(&valid.scope, scope::SCIM) || valid.grant.is_some() || valid.user.is_some() {
        return Err(insufficient());
    }
    let client = match state.clients.get(&valid.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(invalid()),
        Err(e) => {
            tracing::error!(error = %e, "SCIM client lookup failed");
            return Err(ScimError::bare(ScimErrorKind::Unavailable).into());
        }
    };
    let Some(owner) = client
        .owner_organisation_id
        .clone()
        .filter(|_| client.admin_api)
    else {
        return Err(insufficient());
    };
    let not_found = || Refused::from(ScimError::new(ScimErrorKind::NotFound, "no organisation"));
    let org = crate::scim::organisation(state, org_key)
        .await?
        .ok_or_else(not_found)?;
    if org.id != owner {
        return Err(not_found());
    }
    if let Err(e) = crate::upgrade::require_finished(&state.db, crate::upgrade::SCIM).await {
        return Err(ScimError::new(ScimErrorKind::Conflict, e.to_string()).into());
    }
    let caller = Caller {
        principal: Principal::Service {
            client_id: client.id.clone(),
            organisation_id: owner,
        },
        ip,
    };
    Ok(Scim::new(state, caller, org))
}
