//! Token introspection (RFC 7662) for confidential clients (resource servers register as
//! confidential clients). A token is reported active only when it is live AND concerns the
//! caller; anything else is `{"active": false}` with no hint why.

use serde_json::{Value, json};

use crate::clock::UnixTime;
use crate::crypto::sha256_b64;
use crate::oidc::access;
use crate::oidc::client_auth::{self, Form};
use crate::oidc::error::OAuthError;
use crate::state::AppState;
use crate::store::{self, users::User};

/// Answers an introspection request.
pub async fn introspect(
    state: &AppState,
    authorization: Option<&str>,
    form: &Form,
    now: UnixTime,
) -> Result<Value, OAuthError> {
    let auth = client_auth::authenticate(&state.clients, authorization, form).await?;
    if auth.client.public {
        return Err(OAuthError::invalid_client());
    }
    let token = form.require("token")?;
    let caller = auth.client.id.as_str();
    let answer = if looks_like_jwt(token) {
        access_token(state, token, caller, now).await?
    } else {
        refresh_token(state, token, caller, now).await?
    };
    Ok(answer.unwrap_or_else(|| json!({ "active": false })))
}

/// Whether a token has the shape of a compact JWS (our refresh tokens are base64url only).
pub fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

async fn access_token(
    state: &AppState,
    token: &str,
    caller: &str,
    now: UnixTime,
) -> Result<Option<Value>, OAuthError> {
    let Ok(v) = access::validate(state, token, now).await? else {
        return Ok(None);
    };
    if !v.concerns(caller) {
        return Ok(None);
    }
    let mut out = json!({
        "active": true,
        "scope": v.scope,
        "client_id": v.client_id,
        "sub": v.sub,
        "exp": v.exp,
        "token_type": "Bearer",
        "jti": v.jti,
    });
    for claim in [
        "iat",
        "iss",
        "aud",
        "auth_time",
        "sid",
        "org_id",
        "org_roles",
    ] {
        if let Some(value) = v.claims.get(claim) {
            out[claim] = value.clone();
        }
    }
    Ok(Some(out))
}

async fn refresh_token(
    state: &AppState,
    token: &str,
    caller: &str,
    now: UnixTime,
) -> Result<Option<Value>, OAuthError> {
    let Some((grant_id, expires_at, used_at)) =
        store::refresh_tokens::find(&state.db, &sha256_b64(token)).await?
    else {
        return Ok(None);
    };
    if used_at.is_some() || expires_at <= now {
        return Ok(None);
    }
    let Some(grant) = store::grants::find(&state.db, &grant_id).await? else {
        return Ok(None);
    };
    if grant.client_id != caller || !grant.is_live(now) {
        return Ok(None);
    }
    let Some(user_id) = grant.user_id.as_deref() else {
        return Ok(None);
    };
    if !store::users::find(&state.db, user_id)
        .await?
        .is_some_and(|u| User::is_active(&u))
    {
        return Ok(None);
    }
    Ok(Some(json!({
        "active": true,
        "client_id": grant.client_id,
        "sub": user_id,
        "exp": expires_at,
        "scope": grant.scope,
        "token_type": "refresh_token",
    })))
}
