//! Validating our own access tokens (RFC 9068 section 4), shared by userinfo and
//! introspection: ES256 only, `typ: at+jwt` (so an ID token is never accepted as an access
//! token, SECURITY.md 9.2.x), `iss` exactly ours, not expired, not revoked by `jti`, its grant
//! (`gid`) still live and its person still active.

use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::keys::jws::Alg;
use crate::oidc::error::OAuthError;
use crate::oidc::mint::{ACCESS_TOKEN_TYP, GRANT_CLAIM};
use crate::state::AppState;
use crate::store::{self, grants::GrantRow, users::User};

/// A live access token.
#[derive(Debug, Clone)]
pub struct Valid {
    pub claims: Map<String, Value>,
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub exp: i64,
    /// The grant, for tokens issued to a person.
    pub grant: Option<GrantRow>,
    /// The person, for tokens issued to a person.
    pub user: Option<User>,
}

impl Valid {
    /// Whether `client_id` may learn about this token: it was issued to it, or names it as
    /// an audience.
    pub fn concerns(&self, client_id: &str) -> bool {
        if self.client_id == client_id {
            return true;
        }
        match self.claims.get("aud") {
            Some(Value::String(a)) => a == client_id,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
            _ => false,
        }
    }
}

/// Why a token is not accepted (never told to the caller beyond `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Bad signature, wrong type or issuer, malformed claims.
    Invalid,
    Expired,
    Revoked,
}

/// A token whose signature, type, issuer and shape are ours; no database consulted.
#[derive(Debug, Clone)]
pub struct Verified {
    pub claims: Map<String, Value>,
    pub sub: String,
    pub client_id: String,
    pub scope: String,
    pub jti: String,
    pub exp: i64,
    pub iat: i64,
    pub gid: Option<String>,
}

/// Checks signature, `typ`, `iss` and the presence of the claims we rely on (not expiry).
pub fn verify(state: &AppState, token: &str) -> Result<Verified, Refused> {
    let v = state
        .keys
        .verify(token, &[Alg::Es256])
        .map_err(|_| Refused::Invalid)?;
    if v.typ() != Some(ACCESS_TOKEN_TYP) {
        return Err(Refused::Invalid);
    }
    let c = v.claims;
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |k: &str| c.get(k).and_then(Value::as_i64);
    if s("iss").as_deref() != Some(state.issuer.as_str()) {
        return Err(Refused::Invalid);
    }
    let (Some(sub), Some(client_id), Some(jti), Some(exp), Some(iat)) =
        (s("sub"), s("client_id"), s("jti"), n("exp"), n("iat"))
    else {
        return Err(Refused::Invalid);
    };
    let scope = s("scope").unwrap_or_default();
    let gid = s(GRANT_CLAIM);
    Ok(Verified {
        sub,
        client_id,
        scope,
        jti,
        exp,
        iat,
        gid,
        claims: c,
    })
}

/// Validates an access token fully: [`verify`], then expiry, revocation, grant and person.
pub async fn validate(
    state: &AppState,
    token: &str,
    now: UnixTime,
) -> Result<Result<Valid, Refused>, OAuthError> {
    let v = match verify(state, token) {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    if v.exp <= now {
        return Ok(Err(Refused::Expired));
    }
    if store::revoked::contains(&state.db, &v.jti).await? {
        return Ok(Err(Refused::Revoked));
    }
    let (grant, user) = match &v.gid {
        Some(gid) => {
            let Some(grant) = store::grants::find(&state.db, gid).await? else {
                return Ok(Err(Refused::Revoked));
            };
            if !grant.is_live(now)
                || grant.client_id != v.client_id
                || grant.user_id.as_deref() != Some(v.sub.as_str())
            {
                return Ok(Err(Refused::Revoked));
            }
            let Some(user) = store::users::find(&state.db, &v.sub)
                .await?
                .filter(User::is_active)
            else {
                return Ok(Err(Refused::Revoked));
            };
            (Some(grant), Some(user))
        }
        // A client's own token (client_credentials): its subject is the client.
        None if v.sub == v.client_id => (None, None),
        None => return Ok(Err(Refused::Invalid)),
    };
    Ok(Ok(Valid {
        claims: v.claims,
        sub: v.sub,
        client_id: v.client_id,
        scope: v.scope,
        jti: v.jti,
        exp: v.exp,
        grant,
        user,
    }))
}
