//! Registering clients (relying parties). Secrets are 256-bit random values shown once and
//! stored as SHA-256 hashes.

use crate::admin::AdminError;
use crate::clock::UnixTime;
use crate::crypto::{random_id, secret_token, sha256_b64};
use crate::oidc::redirect::validate_registered;
use crate::store::{self, Db, clients::Client};

/// Grant types a client may be given.
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];

/// A client as asked for.
#[derive(Debug, Default)]
pub struct CreateClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub organisations: Vec<String>,
    pub grant_types: Vec<String>,
    pub first_party: bool,
    pub id_token_alg: Option<String>,
    pub require_organisation: bool,
    /// The owning organisation's id (`None`: the installation).
    pub owner_organisation_id: Option<String>,
    /// Roles the client may see; `None`: all.
    pub visible_roles: Option<Vec<String>>,
    /// May be granted the `admin` scope.
    pub admin_api: bool,
}

/// The created client; `secret` is present once, for confidential clients.
#[derive(Debug)]
pub struct Created {
    pub client: Client,
    pub secret: Option<String>,
}

/// Registers a client.
pub async fn create(db: &Db, req: CreateClient, now: UnixTime) -> Result<Created, AdminError> {
    let invalid = |m: String| Err(AdminError::Invalid(m));
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return invalid("the name must be 1-200 characters without control characters".into());
    }
    let mut grant_types = if req.grant_types.is_empty() {
        vec![
            "authorization_code".to_string(),
            "refresh_token".to_string(),
        ]
    } else {
        req.grant_types.clone()
    };
    grant_types.dedup();
    if let Some(bad) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return invalid(format!(
            "{bad:?} is not a supported grant type ({})",
            GRANT_TYPES.join(", ")
        ));
    }
    if req.public && grant_types.iter().any(|g| g == "client_credentials") {
        return invalid("a public client cannot use client_credentials (it has no secret)".into());
    }
    let uses_code = grant_types.iter().any(|g| g == "authorization_code");
    if uses_code && req.redirect_uris.is_empty() {
        return invalid("a client that logs people in needs at least one --redirect-uri".into());
    }
    for uri in req
        .redirect_uris
        .iter()
        .chain(&req.post_logout_redirect_uris)
    {
        validate_registered(uri).map_err(|m| AdminError::Invalid(format!("{uri}: {m}")))?;
    }
    let id_token_alg = req.id_token_alg.clone().unwrap_or_else(|| "RS256".into());
    if crate::keys::jws::Alg::parse(&id_token_alg).is_none() {
        return invalid(format!(
            "{id_token_alg:?} is not a supported ID token algorithm (RS256, ES256, EdDSA)"
        ));
    }
    let mut organisations = Vec::new();
    for org in &req.organisations {
        let found = store::orgs::find_by_id_or_slug(db, org)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("no organisation {org:?}")))?;
        if !organisations.contains(&found.id) {
            organisations.push(found.id);
        }
    }
    let secret = (!req.public).then(secret_token);
    let client = Client {
        id: random_id(),
        name: name.to_string(),
        secret_hash: secret.as_deref().map(sha256_b64),
        public: req.public,
        first_party: req.first_party,
        redirect_uris: req.redirect_uris,
        post_logout_redirect_uris: req.post_logout_redirect_uris,
        grant_types,
        id_token_alg,
        require_organisation: req.require_organisation,
        organisations,
        owner_organisation_id: req.owner_organisation_id.clone(),
        visible_roles: req.visible_roles.clone(),
        admin_api: req.admin_api,
        created_at: now,
    };
    store::clients::insert(db, &client, now).await?;
    Ok(Created { client, secret })
}
