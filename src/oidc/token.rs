//! The token endpoint (RFC 6749 section 3.2, OIDC Core 3.1.3): `authorization_code` (with
//! PKCE and code-reuse revocation), `refresh_token` (rotation with reuse detection that
//! revokes the whole family) and `client_credentials`. Anything else is
//! `unsupported_grant_type`: never implicit, never the password grant (SECURITY.md 10.4.4).
//!
//! Database work for one request happens in one transaction; tokens are signed after the
//! commit, so no write lock is held while RSA signs.

use serde::Serialize;

use crate::clock::UnixTime;
use crate::crypto::{b64, constant_time_eq, secret_token, sha256, sha256_b64};
use crate::oidc::client_auth::{self, Authenticated, Form};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::mint::{self, IdTokenInput, Person};
use crate::oidc::scope;
use crate::orgs;
use crate::state::AppState;
use crate::store::{
    self, Tx, clients::Client, codes, grants::GrantRow, refresh_tokens, users::User,
};

/// A successful token response (RFC 6749 5.1). Its `Debug` leaves the tokens out.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

crate::redact::debug_showing!(TokenResponse {
    token_type,
    expires_in,
    scope
});

/// Handles a token request: `authorization` is the `Authorization` header, `form` the body.
pub async fn exchange(
    state: &AppState,
    authorization: Option<&str>,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let grant_type = form.require("grant_type")?;
    match grant_type {
        "authorization_code" | "refresh_token" | "client_credentials" => {}
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "supported grant types: authorization_code, refresh_token, client_credentials",
            ));
        }
    }
    let auth = client_auth::authenticate(&state.clients, authorization, form).await?;
    client_auth::require_grant(&auth.client, grant_type)?;
    let issued = match grant_type {
        "authorization_code" => authorization_code(state, &auth, form, now).await,
        "refresh_token" => refresh_token(state, &auth, form, now).await,
        _ => client_credentials(state, &auth, form, now),
    };
    if issued.is_ok() {
        crate::metrics::registry::inc("nyckel_tokens_issued_total", &[("grant_type", grant_type)]);
    }
    issued
}

/// `client_credentials`: the client acts for itself. No database writes.
fn client_credentials(
    state: &AppState,
    auth: &Authenticated,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    if auth.client.public {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    // Every scope but `admin` and `scim` is about a person, so a client acting for itself
    // is granted none of them; unknown scopes are dropped too. `admin` (the admin API) and
    // `scim` (the organisation's SCIM endpoint) go to a client registered for the admin API
    // and owned by an organisation. The response says what was granted.
    let requested = form.get("scope").unwrap_or("");
    let service = auth.client.admin_api && auth.client.owner_organisation_id.is_some();
    let granted: Vec<&str> = [scope::ADMIN, scope::SCIM]
        .into_iter()
        .filter(|s| service && scope::has(requested, s))
        .collect();
    let granted = granted.join(" ");
    let at = mint::access_token(state, &auth.client.id, &granted, None, now)?;
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: at.expires_in,
        scope: granted,
        id_token: None,
        refresh_token: None,
    })
}

/// What the transaction of a code or refresh exchange established.
struct Loaded {
    grant: GrantRow,
    user: User,
    org_roles: Option<Vec<String>>,
    refresh_token: Option<String>,
}

/// The access token of `grant` for `client`, carrying those of the person's organisation
/// `roles` the client may see; those roles are returned too (the ID token carries the same).
fn person_access_token(
    state: &AppState,
    client: &Client,
    grant: &GrantRow,
    roles: Option<&[String]>,
    scope: &str,
    now: UnixTime,
) -> Result<(mint::AccessToken, Option<Vec<String>>), OAuthError> {
    let org_roles = roles.map(|r| orgs::visible_roles(client, r));
    let person = Person {
        grant,
        org_roles: org_roles.as_deref(),
    };
    let at = mint::access_token(state, &client.id, scope, Some(person), now)?;
    Ok((at, org_roles))
}

/// `authorization_code` (RFC 6749 4.1.3, RFC 7636 4.6, OIDC Core 3.1.3.2).
async fn authorization_code(
    state: &AppState,
    auth: &Authenticated,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let code = form.require("code")?;
    let redirect_uri = form.require("redirect_uri")?;
    let verifier = form.get("code_verifier");
    let client = &auth.client;

    let mut tx = state.db.begin().await?;
    let row = match codes::take(&mut tx, &sha256_b64(code), now).await? {
        codes::Taken::Fresh(row) => row,
        codes::Taken::Reused {
            grant_id,
            client_id: owner,
        } if owner == client.id => {
            tx.rollback().await?;
            // RFC 6749 4.1.2 / RFC 9700 4.2.4: tokens issued from the first use die.
            store::grants::revoke(&state.db, &grant_id, now).await?;
            tracing::warn!(client = %client.id, grant = %grant_id, "authorization code reused; grant revoked");
            audit_reuse(state, "code_reused", &client.id, &grant_id, now).await;
            return Err(OAuthError::invalid_grant(
                "the code is invalid, expired or used",
            ));
        }
        // Unknown, expired, or a used code presented by another client: only the client it
        // was issued to can show that its code was stolen, so nothing is revoked.
        codes::Taken::Invalid | codes::Taken::Reused { .. } => {
            tx.rollback().await?;
            return Err(OAuthError::invalid_grant(
                "the code is invalid, expired or used",
            ));
        }
    };
    // From here on the code is used whatever happens: failures commit its consumption, so a
    // code cannot be tried again with another verifier, client or redirect URI.
    if let Err(e) = check_code(&row, &client.id, redirect_uri, verifier) {
        tx.commit().await?;
        tracing::info!(client = %client.id, grant = %row.grant_id, reason = ?e.description, "code refused");
        return Err(e);
    }
    let loaded = match load_grant(&mut tx, &row.grant_id, &client.id, now).await {
        Ok(l) => l,
        Err(e) => {
            tx.commit().await?;
            return Err(e);
        }
    };
    let refresh = issue_refresh(state, &mut tx, auth, &loaded.grant, now).await?;
    tx.commit().await?;
    let loaded = Loaded {
        refresh_token: refresh,
        ..loaded
    };

    let scope = loaded.grant.scope.clone();
    let (at, org_roles) = person_access_token(
        state,
        client,
        &loaded.grant,
        loaded.org_roles.as_deref(),
        &scope,
        now,
    )?;
    let id_token = if scope::has(&scope, "openid") {
        let memberships = if scope::has(&scope, "orgs") {
            Some(store::orgs::memberships_of(&state.db, &loaded.user.id).await?)
        } else {
            None
        };
        Some(mint::id_token(
            state,
            IdTokenInput {
                client,
                grant: &loaded.grant,
                user: &loaded.user,
                nonce: row.nonce.as_deref(),
                access_token: &at.token,
                memberships: memberships.as_deref(),
                org_roles: org_roles.as_deref(),
            },
            now,
        )?)
    } else {
        None
    };
    tracing::info!(client = %client.id, grant = %loaded.grant.id, "code exchanged");
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: at.expires_in,
        scope,
        id_token,
        refresh_token: loaded.refresh_token,
    })
}

/// The checks on a fresh code: its client, redirect URI and PKCE.
fn check_code(
    row: &codes::CodeRow,
    client_id: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    if row.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if row.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the one in the authorization request",
        ));
    }
    match (&row.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            if !valid_verifier(verifier) {
                return Err(OAuthError::invalid_grant(
                    "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            let computed = b64(&sha256(verifier.as_bytes()));
            if !constant_time_eq(computed.as_bytes(), challenge.as_bytes()) {
                return Err(OAuthError::invalid_grant("code_verifier does not match"));
            }
            Ok(())
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        // RFC 9700 2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent, but the authorization request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

/// RFC 7636 4.1: 43-128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Loads the grant, its person and the active organisation's roles, checking that the grant
/// belongs to `client_id`, is live and the person may still log in.
async fn load_grant(
    tx: &mut Tx<'_>,
    grant_id: &str,
    client_id: &str,
    now: UnixTime,
) -> Result<Loaded, OAuthError> {
    let dead = || OAuthError::invalid_grant("the grant has expired or was revoked");
    let grant = store::grants::find_in(tx, grant_id)
        .await?
        .ok_or_else(dead)?;
    if grant.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "the grant belongs to another client",
        ));
    }
    if !grant.is_live(now) {
        return Err(dead());
    }
    let user_id = grant.user_id.as_deref().ok_or_else(dead)?;
    let user = store::users::find_in(tx, user_id)
        .await?
        .filter(User::is_active)
        .ok_or_else(|| OAuthError::invalid_grant("the account is disabled"))?;
    let org_roles =
        match &grant.organisation_id {
            Some(org) => Some(store::orgs::roles_in(tx, &user.id, org).await?.ok_or_else(
                || OAuthError::invalid_grant("no longer a member of the organisation"),
            )?),
            None => None,
        };
    Ok(Loaded {
        grant,
        user,
        org_roles,
        refresh_token: None,
    })
}

/// The grant and roles a refresh works with.
struct RefreshGrant {
    grant: GrantRow,
    org_roles: Option<Vec<String>>,
}

/// The checks of [`load_grant`] on a [`refresh_tokens::Lookup`].
fn check_refresh(
    found: refresh_tokens::Lookup,
    client_id: &str,
    now: UnixTime,
) -> Result<RefreshGrant, OAuthError> {
    let grant = found.grant;
    if grant.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "the grant belongs to another client",
        ));
    }
    if !grant.is_live(now) || grant.user_id.is_none() {
        return Err(OAuthError::invalid_grant(
            "the grant has expired or was revoked",
        ));
    }
    if found.user_disabled != Some(0) {
        return Err(OAuthError::invalid_grant("the account is disabled"));
    }
    let org_roles = match &grant.organisation_id {
        Some(_) => Some(store::from_json_list(&found.org_roles.ok_or_else(
            || OAuthError::invalid_grant("no longer a member of the organisation"),
        )?)),
        None => None,
    };
    Ok(RefreshGrant { grant, org_roles })
}

/// Stores a new refresh token for the grant when the client may refresh. It expires after
/// the idle lifetime, and never after the grant's absolute end (SECURITY.md 10.4.8).
async fn issue_refresh(
    state: &AppState,
    tx: &mut Tx<'_>,
    auth: &Authenticated,
    grant: &GrantRow,
    now: UnixTime,
) -> Result<Option<String>, OAuthError> {
    if !auth.client.allows_grant("refresh_token") {
        return Ok(None);
    }
    let token = secret_token();
    let expires_at = (now + state.config.tokens.refresh_idle_ttl).min(grant.expires_at);
    refresh_tokens::insert(tx, &sha256_b64(&token), &grant.id, now, expires_at).await?;
    Ok(Some(token))
}

/// `refresh_token` (RFC 6749 6): rotation, reuse detection, scope narrowing. No ID token:
/// OIDC Core 12.2 lets us omit it, which keeps refresh cheap.
async fn refresh_token(
    state: &AppState,
    auth: &Authenticated,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let presented = form.require("refresh_token")?;
    let requested = form.get("scope");
    let client = &auth.client;

    let hash = sha256_b64(presented);
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or used");

    // Read phase, one query and no write lock (SQLite has one writer): the token, its grant,
    // the person and their organisation roles. A token presented by another client is not
    // consumed, and a used one presented by another client is not reuse: only the owning
    // client's presentation may revoke the family (issue 14, defect 5).
    let found = match refresh_tokens::lookup(&state.db, &hash).await? {
        Some(f) if f.grant.client_id != client.id => return Err(invalid()),
        Some(f) if f.used_at.is_some() => {
            return Err(reused(state, &client.id, &f.grant.id, now).await?);
        }
        Some(f) if f.expires_at > now => f,
        _ => return Err(invalid()),
    };
    let grant_id = found.grant.id.clone();
    let loaded = check_refresh(found, &client.id, now)?;
    let scope = match requested {
        None => loaded.grant.scope.clone(),
        Some(requested) => narrow(&loaded.grant.scope, requested).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::InvalidScope,
                "the requested scope exceeds what was granted",
            )
        })?,
    };

    // Write phase: consume the token (one atomic statement) and store its successor,
    // committed together with other rotations (see `oidc::rotation`).
    let new_token = secret_token();
    let expires_at = (now + state.config.tokens.refresh_idle_ttl).min(loaded.grant.expires_at);
    let taken = state
        .rotator
        .rotate(
            hash,
            grant_id.clone(),
            sha256_b64(&new_token),
            now,
            expires_at,
        )
        .await?;
    match taken {
        refresh_tokens::Taken::Fresh { grant_id: taken } if taken == grant_id => {}
        refresh_tokens::Taken::Reused { grant_id } => {
            return Err(reused(state, &client.id, &grant_id, now).await?);
        }
        _ => return Err(invalid()),
    }

    let (at, _) = person_access_token(
        state,
        client,
        &loaded.grant,
        loaded.org_roles.as_deref(),
        &scope,
        now,
    )?;
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: at.expires_in,
        scope,
        id_token: None,
        refresh_token: Some(new_token),
    })
}

/// A used refresh token came back (RFC 9700 4.14.2): one of the two holders is an attacker,
/// so the whole family dies. Returns the error to answer with.
async fn reused(
    state: &AppState,
    client_id: &str,
    grant_id: &str,
    now: UnixTime,
) -> Result<OAuthError, OAuthError> {
    store::grants::revoke(&state.db, grant_id, now).await?;
    tracing::warn!(client = %client_id, grant = %grant_id, "refresh token reused; grant revoked");
    audit_reuse(state, "refresh_token_reused", client_id, grant_id, now).await;
    Ok(OAuthError::invalid_grant(
        "the refresh token is invalid, expired or used",
    ))
}

/// Records a reuse (a sign of a stolen code or token) in the audit log; a failure to record
/// is logged and does not change the answer.
async fn audit_reuse(state: &AppState, kind: &str, client_id: &str, grant_id: &str, now: UnixTime) {
    let event = store::audit::Event {
        kind,
        client_id: Some(client_id),
        detail: serde_json::json!({ "grant_id": grant_id }),
        ..Default::default()
    };
    if let Err(e) = store::audit::append(&state.db, &event, now).await {
        tracing::error!(error = %crate::error::Chain(&e), "could not record an audit event");
    }
}

/// The requested scopes if every one of them was granted (in the granted order), else `None`.
fn narrow(granted: &str, requested: &str) -> Option<String> {
    let requested: Vec<&str> = requested.split_whitespace().collect();
    if requested.iter().any(|r| !scope::has(granted, r)) {
        return None;
    }
    Some(
        granted
            .split_whitespace()
            .filter(|g| requested.contains(g))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifiers_follow_rfc_7636() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(valid_verifier(&"a-._~".repeat(20)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn scope_narrows_but_never_widens() {
        assert_eq!(
            narrow("openid email orgs", "orgs openid").as_deref(),
            Some("openid orgs")
        );
        assert_eq!(narrow("openid email", "openid phone"), None);
        assert_eq!(narrow("openid", "admin"), None);
    }

    #[test]
    fn pkce_downgrade_is_refused() {
        let row = codes::CodeRow {
            code_hash: "h".into(),
            grant_id: "g".into(),
            client_id: "c".into(),
            redirect_uri: "https://app.example/cb".into(),
            nonce: None,
            code_challenge: None,
            created_at: 0,
            expires_at: 1,
        };
        let v = "a".repeat(43);
        assert!(check_code(&row, "c", "https://app.example/cb", Some(&v)).is_err());
        assert!(check_code(&row, "c", "https://app.example/cb", None).is_ok());
        assert!(check_code(&row, "c", "https://app.example/cb/", None).is_err());
        assert!(check_code(&row, "d", "https://app.example/cb", None).is_err());
    }
}
