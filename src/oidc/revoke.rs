//! Token revocation (RFC 7009). A client revokes only its own tokens: a refresh token
//! revokes its whole grant (and so the access tokens issued under it); an access token is
//! remembered by `jti` until it would have expired. Unknown, invalid or foreign tokens get the
//! same 200, so the endpoint tells nothing about tokens that are not the caller's.

use crate::clock::UnixTime;
use crate::crypto::sha256_b64;
use crate::oidc::access;
use crate::oidc::client_auth::{self, Form};
use crate::oidc::error::OAuthError;
use crate::oidc::introspect::looks_like_jwt;
use crate::state::AppState;
use crate::store;

/// Handles a revocation request; `Ok(())` is the 200 RFC 7009 asks for in every case that
/// passed client authentication.
pub async fn revoke(
    state: &AppState,
    authorization: Option<&str>,
    form: &Form,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let auth = client_auth::authenticate(&state.clients, authorization, form).await?;
    let token = form.require("token")?;
    let caller = auth.client.id.as_str();
    if looks_like_jwt(token) {
        let Ok(v) = access::verify(state, token) else {
            return Ok(());
        };
        if v.client_id == caller && v.exp > now {
            store::revoked::insert(&state.db, &v.jti, v.exp).await?;
            tracing::info!(client = %caller, jti = %v.jti, "access token revoked");
        }
        return Ok(());
    }
    let Some((grant_id, _, _)) = store::refresh_tokens::find(&state.db, &sha256_b64(token)).await?
    else {
        return Ok(());
    };
    let Some(grant) = store::grants::find(&state.db, &grant_id).await? else {
        return Ok(());
    };
    if grant.client_id == caller {
        store::grants::revoke(&state.db, &grant.id, now).await?;
        tracing::info!(client = %caller, grant = %grant.id, "grant revoked by its client");
    }
    Ok(())
}
