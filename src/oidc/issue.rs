//! Issuing an authorization code: the grant (what the person allowed this client, in which
//! session and organisation) and the code that refers to it, written in one transaction.
//! Only the code's SHA-256 is stored; the code itself goes to the browser once.

use crate::auth::session::Session;
use crate::clock::UnixTime;
use crate::config::TokenConfig;
use crate::crypto::{random_id, secret_token, sha256_b64};
use crate::error::Result;
use crate::oidc::pending::AuthParams;
use crate::store::{self, Db, codes::CodeRow, grants::GrantRow};

/// A freshly issued code.
#[derive(Debug)]
pub struct Issued {
    /// The code for the redirect (never log it).
    pub code: String,
    pub grant_id: String,
}

/// Creates the grant of `scope` and the code for `params`, made in `session`, with the
/// active organisation (if any).
pub async fn issue_code(
    db: &Db,
    tokens: &TokenConfig,
    session: &Session,
    params: &AuthParams,
    scope: &str,
    organisation_id: Option<&str>,
    now: UnixTime,
) -> Result<Issued> {
    let grant = GrantRow {
        id: random_id(),
        client_id: params.client_id.clone(),
        user_id: Some(session.user_id.clone()),
        sid: Some(session.sid.clone()),
        scope: scope.to_string(),
        organisation_id: organisation_id.map(str::to_string),
        auth_time: Some(session.auth_time),
        amr: store::to_json_list(&session.amr),
        acr: session.acr.clone(),
        created_at: now,
        expires_at: now + tokens.refresh_absolute_ttl,
        revoked_at: None,
    };
    let code = secret_token();
    let row = CodeRow {
        code_hash: sha256_b64(&code),
        grant_id: grant.id.clone(),
        client_id: params.client_id.clone(),
        redirect_uri: params.redirect_uri.clone(),
        nonce: params.nonce.clone(),
        code_challenge: params.code_challenge.clone(),
        created_at: now,
        expires_at: now + tokens.code_ttl,
    };
    let mut tx = db.begin().await?;
    store::grants::insert(&mut tx, &grant).await?;
    store::codes::insert(&mut tx, &row).await?;
    tx.commit().await?;
    tracing::info!(grant = %grant.id, client = %grant.client_id, "authorization code issued");
    Ok(Issued {
        code,
        grant_id: grant.id,
    })
}
