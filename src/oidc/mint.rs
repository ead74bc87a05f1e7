//! Minting tokens: JWT access tokens (RFC 9068, `typ: at+jwt`, always ES256) and ID tokens
//! (OIDC Core 2, `typ: JWT`, signed with the client's chosen algorithm), plus the scope
//! claims both ID tokens and userinfo carry (one function, so they never disagree).
//!
//! Access tokens carry the grant id in the private claim `gid`: revoking the grant (logout,
//! code or refresh token reuse) kills the access token at userinfo and introspection. They
//! carry `org_id`/`org_roles` for the active organisation only, never other organisations'
//! roles (ARCHITECTURE.md section 4).

use serde_json::{Map, Value, json};

use crate::clock::UnixTime;
use crate::crypto::{b64, random_id};
use crate::keys::jws::Alg;
use crate::oidc::error::OAuthError;
use crate::oidc::scope;
use crate::orgs;
use crate::state::AppState;
use crate::store::clients::Client;
use crate::store::from_json_list;
use crate::store::grants::GrantRow;
use crate::store::orgs::Membership;
use crate::store::users::User;

/// The `typ` header of access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `typ` header of ID tokens.
pub const ID_TOKEN_TYP: &str = "JWT";
/// The `typ` header of logout tokens (Back-Channel Logout 1.0, section 2.4).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// The event a logout token carries (Back-Channel Logout 1.0, section 2.4).
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Seconds a logout token is good for: it is signed again at every delivery attempt.
pub const LOGOUT_TOKEN_TTL: i64 = 120;
/// The private claim naming the grant an access token belongs to.
pub const GRANT_CLAIM: &str = "gid";

/// A signed access token. Its `Debug` shows the `jti`, not the token.
pub struct AccessToken {
    pub token: String,
    pub jti: String,
    /// Seconds until it expires, for `expires_in`.
    pub expires_in: i64,
}

crate::redact::debug_showing!(AccessToken { jti, expires_in });

/// What an access token issued for a person carries beyond the client's claims.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub grant: &'a GrantRow,
    /// The person's roles in the grant's active organisation (when it has one).
    pub org_roles: Option<&'a [String]>,
}

/// Signs an access token for `client_id`. `person` is `None` for client_credentials, where
/// the client is its own subject.
pub fn access_token(
    state: &AppState,
    client_id: &str,
    scope: &str,
    person: Option<Person<'_>>,
    now: UnixTime,
) -> Result<AccessToken, OAuthError> {
    let ttl = state.config.tokens.access_token_ttl;
    let jti = random_id();
    let mut c = Map::with_capacity(14);
    c.insert("iss".into(), json!(state.issuer));
    match person {
        Some(p) => {
            let sub = p.grant.user_id.as_deref().ok_or_else(|| {
                tracing::error!(grant = %p.grant.id, "a person's token for a grant without a person");
                OAuthError::server_error()
            })?;
            c.insert("sub".into(), json!(sub));
        }
        None => {
            c.insert("sub".into(), json!(client_id));
        }
    }
    c.insert("aud".into(), json!(client_id));
    c.insert("client_id".into(), json!(client_id));
    c.insert("scope".into(), json!(scope));
    c.insert("jti".into(), json!(jti));
    c.insert("iat".into(), json!(now));
    c.insert("exp".into(), json!(now + ttl));
    if let Some(p) = person {
        if let Some(at) = p.grant.auth_time {
            c.insert("auth_time".into(), json!(at));
        }
        if let Some(sid) = &p.grant.sid {
            c.insert("sid".into(), json!(sid));
        }
        c.insert(GRANT_CLAIM.into(), json!(p.grant.id));
        if let (Some(org), Some(roles)) = (&p.grant.organisation_id, p.org_roles) {
            c.insert("org_id".into(), json!(org));
            c.insert("org_roles".into(), json!(roles));
        }
    }
    let token = sign(state, Alg::Es256, ACCESS_TOKEN_TYP, &Value::Object(c), now)?;
    Ok(AccessToken {
        token,
        jti,
        expires_in: ttl,
    })
}

/// Everything an ID token is made of.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenInput<'a> {
    pub client: &'a Client,
    pub grant: &'a GrantRow,
    pub user: &'a User,
    /// The nonce exactly as sent at /authorize.
    pub nonce: Option<&'a str>,
    /// The access token issued with it (for `at_hash`).
    pub access_token: &'a str,
    /// The person's memberships, when the scope has `orgs` (filtered here by the client).
    pub memberships: Option<&'a [Membership]>,
    /// Roles in the active organisation.
    pub org_roles: Option<&'a [String]>,
}

/// Signs an ID token with the client's algorithm.
pub fn id_token(
    state: &AppState,
    input: IdTokenInput<'_>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let alg = client_alg(input.client)?;
    let g = input.grant;
    let mut c = Map::with_capacity(20);
    c.insert("iss".into(), json!(state.issuer));
    c.insert("sub".into(), json!(input.user.id));
    c.insert("aud".into(), json!(input.client.id));
    c.insert("exp".into(), json!(now + state.config.tokens.id_token_ttl));
    c.insert("iat".into(), json!(now));
    if let Some(at) = g.auth_time {
        c.insert("auth_time".into(), json!(at));
    }
    if let Some(nonce) = input.nonce {
        c.insert("nonce".into(), json!(nonce));
    }
    c.insert("amr".into(), json!(from_json_list(&g.amr)));
    c.insert("acr".into(), json!(g.acr));
    if let Some(sid) = &g.sid {
        c.insert("sid".into(), json!(sid));
    }
    c.insert("at_hash".into(), json!(at_hash(alg, input.access_token)));
    let orgs = input
        .memberships
        .map(|m| orgs::orgs_claim(&orgs::visible_to(input.client, m)));
    let active = match (&g.organisation_id, input.org_roles) {
        (Some(org), Some(roles)) => Some((org.as_str(), roles)),
        _ => None,
    };
    scope_claims(&mut c, &g.scope, input.user, orgs, active);
    sign(state, alg, ID_TOKEN_TYP, &Value::Object(c), now)
}

/// What a logout token names: the client told, the person and the session that ended, and
/// the token's id (the outbox row's id, the same at every attempt, so the receiver can
/// recognise a repeated delivery).
#[derive(Debug, Clone, Copy)]
pub struct Logout<'a> {
    pub client: &'a Client,
    pub sub: &'a str,
    pub sid: &'a str,
    pub jti: &'a str,
}

/// Signs a logout token (Back-Channel Logout 1.0, section 2.4) with the client's ID token
/// algorithm: `iss`, `aud`, `iat`, `exp`, `jti`, `events`, `sub` and `sid` (always both:
/// discovery says `backchannel_logout_session_supported`), never a `nonce`.
pub fn logout_token(
    state: &AppState,
    logout: Logout<'_>,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let alg = client_alg(logout.client)?;
    let claims = json!({
        "iss": state.issuer,
        "aud": logout.client.id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": logout.jti,
        "sub": logout.sub,
        "sid": logout.sid,
        "events": { LOGOUT_EVENT: {} },
    });
    sign(state, alg, LOGOUT_TOKEN_TYP, &claims, now)
}

/// Adds the claims the scope grants (OIDC Core 5.4 and ARCHITECTURE.md section 4): `profile`
/// gives `name`; `email` gives `email`, `email_verified`; `phone` gives `phone_number`,
/// `phone_number_verified`; `orgs` gives `orgs` (already filtered for the client); an active
/// organisation gives `org_id` and `org_roles`. Shared by ID tokens and userinfo.
pub fn scope_claims(
    c: &mut Map<String, Value>,
    granted: &str,
    user: &User,
    orgs: Option<Value>,
    active: Option<(&str, &[String])>,
) {
    if scope::has(granted, "profile")
        && let Some(name) = &user.name
    {
        c.insert("name".into(), json!(name));
    }
    if scope::has(granted, "email") {
        c.insert("email".into(), json!(user.email));
        c.insert("email_verified".into(), json!(user.email_verified != 0));
    }
    if scope::has(granted, "phone")
        && let Some(phone) = &user.phone
    {
        c.insert("phone_number".into(), json!(phone));
        // No phone verification is recorded yet, so the number is not claimed verified.
        c.insert("phone_number_verified".into(), json!(false));
    }
    if scope::has(granted, "orgs")
        && let Some(orgs) = orgs
    {
        c.insert("orgs".into(), orgs);
    }
    if let Some((org, roles)) = active {
        c.insert("org_id".into(), json!(org));
        c.insert("org_roles".into(), json!(roles));
    }
}

/// `at_hash` (OIDC Core 3.1.3.6): the left half of the access token's hash, base64url, with
/// the hash of the signing algorithm: SHA-256 for RS256 and ES256, SHA-512 for EdDSA with
/// Ed25519 (what the `openidconnect` crate checks, and OIDF's reading for Ed25519).
pub fn at_hash(alg: Alg, access_token: &str) -> String {
    let (algorithm, half) = match alg {
        Alg::Rs256 | Alg::Es256 => (&ring::digest::SHA256, 16),
        Alg::EdDsa => (&ring::digest::SHA512, 32),
    };
    let digest = ring::digest::digest(algorithm, access_token.as_bytes());
    b64(&digest.as_ref()[..half])
}

/// The algorithm of the client's ID tokens (and logout tokens).
fn client_alg(client: &Client) -> Result<Alg, OAuthError> {
    Alg::parse(&client.id_token_alg).ok_or_else(|| {
        tracing::error!(client = %client.id, "client has an unsupported id_token_alg");
        OAuthError::server_error()
    })
}

fn sign(
    state: &AppState,
    alg: Alg,
    typ: &str,
    claims: &Value,
    now: UnixTime,
) -> Result<String, OAuthError> {
    let key = state.keys.signing_key(alg, now)?;
    key.sign(typ, claims).map_err(|e| {
        tracing::error!(error = %crate::error::Chain(&e), kid = %key.kid, "signing a token failed");
        OAuthError::server_error()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_follows_the_algorithm() {
        // OIDC Core A.3 example: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        // has at_hash "77QmUPtjPfzWtF2AnpK9RQ" with RS256.
        assert_eq!(
            at_hash(Alg::Rs256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(at_hash(Alg::Es256, "x").len(), 22);
        assert_eq!(at_hash(Alg::EdDsa, "x").len(), 43);
    }
}
