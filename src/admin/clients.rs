//! Clients (relying parties): registering them (the operator's path and [`create_as`]),
//! listing, editing, rotating secrets and deleting, for the organisation that owns them or,
//! for installation clients, the superadmin. Secrets are 256-bit random values shown once
//! and stored as SHA-256 hashes.

use serde_json::json;

use crate::admin::cursor;
use crate::admin::{AdminError, Caller, Named, check_owner, load_org, record};
use crate::clock::UnixTime;
use crate::crypto::{random_id, secret_token, sha256_b64};
use crate::oidc::redirect::validate_registered;
use crate::orgs::permissions::Action;
use crate::paging::{self as page, Page};
use crate::state::AppState;
use crate::store::{self, Db, Tx, clients::Client};
use crate::webhooks::events;

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
    /// A confidential legacy app that cannot send PKCE (the documented opt-out; never for a
    /// public client).
    pub allow_no_pkce: bool,
    /// Every login through the client must be of two factors (gated: `upgrade`).
    pub require_two_factors: bool,
    /// Where the client is told that a session ended (Back-Channel Logout; gated: `upgrade`).
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in logout tokens.
    pub backchannel_logout_session_required: bool,
    /// A page of the client loaded in an iframe at logout (Front-Channel Logout; gated).
    pub frontchannel_logout_uri: Option<String>,
    /// Whether that page needs `iss` and `sid`.
    pub frontchannel_logout_session_required: bool,
}

/// The created client; `secret` is present once, for confidential clients.
pub struct Created {
    pub client: Client,
    pub secret: Option<String>,
}

crate::redact::debug_showing!(Created { client });

/// Registers a client, without an audit event (the operator's command and fixtures; the
/// command records it with [`create_in`]).
#[tracing::instrument(skip_all)]
pub async fn create(db: &Db, req: CreateClient, now: UnixTime) -> Result<Created, AdminError> {
    let mut tx = db.begin().await?;
    let created = create_in(&mut tx, req, now).await?;
    tx.commit().await?;
    Ok(created)
}

/// Registers a client inside `tx`.
#[tracing::instrument(skip_all)]
pub async fn create_in(
    tx: &mut Tx<'_>,
    req: CreateClient,
    now: UnixTime,
) -> Result<Created, AdminError> {
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
    if req.public && req.allow_no_pkce {
        return invalid("a public client always uses PKCE (it has no secret)".into());
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
    if let Some(uri) = &req.backchannel_logout_uri {
        check_backchannel(uri, true)?;
    }
    if let Some(uri) = &req.frontchannel_logout_uri {
        check_frontchannel(uri)?;
    }
    let id_token_alg = req.id_token_alg.clone().unwrap_or_else(|| "RS256".into());
    if crate::keys::jws::Alg::parse(&id_token_alg).is_none() {
        return invalid(format!(
            "{id_token_alg:?} is not a supported ID token algorithm (RS256, ES256, EdDSA)"
        ));
    }
    let mut organisations = Vec::new();
    for org in &req.organisations {
        let found = store::orgs::find_by_id_or_slug_in(tx, org)
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
        require_pkce: req.public || !req.allow_no_pkce,
        require_two_factors: req.require_two_factors,
        backchannel_logout_uri: req.backchannel_logout_uri,
        backchannel_logout_session_required: req.backchannel_logout_session_required,
        frontchannel_logout_uri: req.frontchannel_logout_uri,
        frontchannel_logout_session_required: req.frontchannel_logout_session_required,
        created_at: now,
    };
    store::clients::insert(&mut *tx, &client, now).await?;
    Ok(Created { client, secret })
}

/// Checks a back-channel logout URI: what a redirect URI may be (absolute, in normal form,
/// `https`, or `http` on loopback for development, no fragment). A loopback host is the
/// server itself and an internal address its network, so only a superadmin (the operator)
/// may register one: an organisation's admin must not make Nyckel post to services on its
/// own machine or network.
fn check_backchannel(uri: &str, internal_allowed: bool) -> Result<(), AdminError> {
    let invalid = |m: &str| AdminError::Invalid(format!("backchannel_logout_uri {uri}: {m}"));
    validate_registered(uri).map_err(invalid)?;
    let internal = url::Url::parse(uri)
        .is_ok_and(|u| crate::outbound::host_kind(&u) != crate::outbound::Where::Elsewhere);
    if internal && !internal_allowed {
        return Err(AdminError::Forbidden(format!(
            "backchannel_logout_uri {uri}: only a superadmin may register a loopback or link-local address (this server and its own link)"
        )));
    }
    Ok(())
}

/// Checks a front-channel logout URI: what a redirect URI may be (it is loaded by the
/// person's browser, never by the server, so loopback is fine for anyone), with a query
/// allowed (`iss` and `sid` are added to it).
fn check_frontchannel(uri: &str) -> Result<(), AdminError> {
    validate_registered(uri)
        .map_err(|m| AdminError::Invalid(format!("frontchannel_logout_uri {uri}: {m}")))
}

/// When `on` (a gated setting is being switched on): the upgrade to the release that added
/// it must be finished, else 409 with what to do.
async fn switching_on(
    state: &AppState,
    on: bool,
    gate: crate::upgrade::Gate,
) -> Result<(), AdminError> {
    if on {
        crate::upgrade::require_finished(&state.db, gate)
            .await
            .map_err(gated)?;
    }
    Ok(())
}

/// A setting that waits for the upgrade to finish: 409 with what to do; a database error
/// stays one.
fn gated(e: crate::upgrade::UpgradeError) -> AdminError {
    match e {
        crate::upgrade::UpgradeError::Db(e) => e.into(),
        other => AdminError::Conflict(other.to_string()),
    }
}

/// A client as the admin surface shows it (never its secret or hash).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub first_party: bool,
    #[schema(schema_with = crate::http::api::doc::uri_list)]
    pub redirect_uris: Vec<String>,
    #[schema(schema_with = crate::http::api::doc::uri_list)]
    pub post_logout_redirect_uris: Vec<String>,
    #[schema(schema_with = crate::http::api::doc::grant_types)]
    pub grant_types: Vec<String>,
    #[schema(schema_with = crate::http::api::doc::id_token_alg)]
    pub id_token_alg: String,
    /// Organisations whose members may use it (empty: any).
    pub organisations: Vec<String>,
    pub require_organisation: bool,
    /// Roles the client may see in tokens (`None`: all).
    #[schema(required = true)]
    pub visible_roles: Option<Vec<String>>,
    pub admin_api: bool,
    /// Authorization requests must carry a PKCE challenge (S256).
    pub require_pkce: bool,
    /// Every login through the client is of two factors.
    pub require_two_factors: bool,
    /// Where the client is told that a session ended (OpenID Connect Back-Channel Logout).
    #[schema(required = true, schema_with = crate::http::api::doc::optional_uri)]
    pub backchannel_logout_uri: Option<String>,
    /// Whether the client needs `sid` in logout tokens (Nyckel always sends it).
    pub backchannel_logout_session_required: bool,
    /// A page of the client loaded in an iframe when the person logs out at Nyckel (OpenID
    /// Connect Front-Channel Logout).
    #[schema(required = true, schema_with = crate::http::api::doc::optional_uri)]
    pub frontchannel_logout_uri: Option<String>,
    /// Whether that page needs `iss` and `sid` (Nyckel always adds them).
    pub frontchannel_logout_session_required: bool,
    /// The owning organisation (`None`: the installation).
    #[schema(required = true)]
    pub owner_organisation_id: Option<String>,
    #[schema(value_type = crate::http::api::doc::Instant)]
    pub created_at: i64,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        ClientView {
            client_id: c.id,
            name: c.name,
            public: c.public,
            first_party: c.first_party,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types,
            id_token_alg: c.id_token_alg,
            organisations: c.organisations,
            require_organisation: c.require_organisation,
            visible_roles: c.visible_roles,
            admin_api: c.admin_api,
            require_pkce: c.require_pkce,
            require_two_factors: c.require_two_factors,
            backchannel_logout_uri: c.backchannel_logout_uri,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            frontchannel_logout_uri: c.frontchannel_logout_uri,
            frontchannel_logout_session_required: c.frontchannel_logout_session_required,
            owner_organisation_id: c.owner_organisation_id,
            created_at: c.created_at,
        }
    }
}

/// A created client with its secret, shown once.
#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = CreatedClient)]
pub struct CreatedView {
    #[serde(flatten)]
    pub client: ClientView,
    #[schema(required = true)]
    pub client_secret: Option<String>,
}

crate::redact::debug_showing!(CreatedView { client });

/// Loads a client and checks `action` on it.
async fn load(
    state: &AppState,
    caller: &Caller,
    action: Action,
    id: &str,
) -> Result<Client, AdminError> {
    let client = store::clients::find(&state.db, id)
        .await?
        .ok_or_else(|| AdminError::NotFound("no client".into()))?;
    check_owner(
        caller,
        action,
        client.owner_organisation_id.as_deref(),
        Named::One("client"),
    )?;
    Ok(client)
}

/// Clients owned by an organisation (`org_key`) or by the installation (`None`).
#[tracing::instrument(skip_all)]
pub async fn list(
    state: &AppState,
    caller: &Caller,
    org_key: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<ClientView>, AdminError> {
    let owner = match org_key {
        Some(key) => Some(load_org(state, key).await?.id),
        None => None,
    };
    check_owner(
        caller,
        Action::ClientList,
        owner.as_deref(),
        Named::Collection("clients"),
    )?;
    let limit = page::limit(limit);
    let after = cursor::key(cursor, 2)?;
    let rows = store::clients::list_owned(
        &state.db,
        owner.as_deref(),
        after.as_ref().map(|a| (a[0].as_str(), a[1].as_str())),
        limit,
    )
    .await?;
    let page = page::finish(rows, limit, |c| page::encode_cursor(&[&c.name, &c.id]));
    Ok(Page {
        items: page.items.into_iter().map(ClientView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

/// One client.
#[tracing::instrument(skip_all)]
pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<ClientView, AdminError> {
    Ok(load(state, caller, Action::ClientRead, id).await?.into())
}

/// Creates a client owned by `org_key` (or by the installation when `None`, superadmin).
/// An org admin's client is restricted to their organisation and cannot skip consent.
#[tracing::instrument(skip_all)]
pub async fn create_as(
    state: &AppState,
    caller: &Caller,
    org_key: Option<&str>,
    mut req: CreateClient,
) -> Result<CreatedView, AdminError> {
    let owner = match org_key {
        Some(key) => Some(load_org(state, key).await?),
        None => None,
    };
    check_owner(
        caller,
        Action::ClientCreate,
        owner.as_ref().map(|o| o.id.as_str()),
        Named::Collection("clients"),
    )?;
    let superadmin = caller.principal.is_superadmin();
    if let Some(org) = &owner {
        req.owner_organisation_id = Some(org.id.clone());
        if !superadmin {
            if req.first_party {
                return Err(AdminError::Forbidden(
                    "only a superadmin may make a first-party client (one that skips consent)"
                        .into(),
                ));
            }
            let foreign = req
                .organisations
                .iter()
                .any(|o| o != &org.id && o != &org.slug);
            if foreign {
                return Err(AdminError::Forbidden(
                    "an organisation's client may only be restricted to that organisation".into(),
                ));
            }
            req.organisations = vec![org.id.clone()];
        } else if req.organisations.is_empty() {
            req.organisations = vec![org.id.clone()];
        }
    } else {
        // An installation client with `admin_api` (an admin console) gets the `admin` scope
        // for people only; `client_credentials` needs an owning organisation.
        req.owner_organisation_id = None;
    }
    if let (Some(org), Some(roles)) = (&owner, &req.visible_roles) {
        req.visible_roles = Some(crate::admin::members::check_roles(state, &org.id, roles).await?);
    }
    // A service client acts for its owning organisation with `client_credentials`; an
    // installation console (or a public client) gets the scope for people only.
    if req.admin_api
        && req.owner_organisation_id.is_some()
        && !req.public
        && !req.grant_types.iter().any(|g| g == "client_credentials")
    {
        if req.grant_types.is_empty() && !req.redirect_uris.is_empty() {
            req.grant_types = vec!["authorization_code".into(), "refresh_token".into()];
        }
        req.grant_types.push("client_credentials".into());
    }
    use crate::upgrade::{
        CLIENT_BACKCHANNEL_LOGOUT, CLIENT_FRONTCHANNEL_LOGOUT, CLIENT_TWO_FACTORS,
    };
    if let Some(uri) = &req.backchannel_logout_uri {
        check_backchannel(uri, superadmin)?;
    }
    switching_on(state, req.require_two_factors, CLIENT_TWO_FACTORS).await?;
    let back = req.backchannel_logout_uri.is_some();
    switching_on(state, back, CLIENT_BACKCHANNEL_LOGOUT).await?;
    let front = req.frontchannel_logout_uri.is_some();
    switching_on(state, front, CLIENT_FRONTCHANNEL_LOGOUT).await?;
    let now = state.now();
    let mut tx = state.db.begin().await?;
    let created = create_in(&mut tx, req, now).await?;
    let told = client_changed(&mut tx, state, &created.client, "created").await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.client_created",
        created.client.owner_organisation_id.as_deref(),
        None,
        json!({ "client": created.client.id, "name": created.client.name }),
    )
    .await?;
    tx.commit().await?;
    events::wake(state, told);
    state.clients.forget(&created.client.id);
    Ok(CreatedView {
        client: created.client.into(),
        client_secret: created.secret,
    })
}

/// What may be changed on a client (absent fields stay).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub require_organisation: Option<bool>,
    /// `Some(None)` clears the restriction (all roles visible).
    pub visible_roles: Option<Option<Vec<String>>>,
    /// Organisations whose members may use the client (ids or slugs; empty: any).
    /// Superadmin only: an organisation's client stays restricted to that organisation.
    pub organisations: Option<Vec<String>>,
    /// Whether authorization requests must carry PKCE (`false` only for a confidential
    /// legacy app).
    pub require_pkce: Option<bool>,
    /// Whether every login through the client must be of two factors (switching it on is
    /// gated until the upgrade to 0.3.0 is finished: `upgrade`).
    pub require_two_factors: Option<bool>,
    /// `Some(None)` stops back-channel logout; `Some(Some(uri))` sets where the client is
    /// told (gated until the upgrade to 0.4.0 is finished).
    pub backchannel_logout_uri: Option<Option<String>>,
    pub backchannel_logout_session_required: Option<bool>,
    /// `Some(None)` stops front-channel logout; `Some(Some(uri))` sets the page (gated until
    /// the upgrade to 0.5.0 is finished).
    pub frontchannel_logout_uri: Option<Option<String>>,
    pub frontchannel_logout_session_required: Option<bool>,
}

/// Edits a client.
#[tracing::instrument(skip_all)]
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &str,
    changes: ClientChanges,
) -> Result<ClientView, AdminError> {
    let mut client = load(state, caller, Action::ClientUpdate, id).await?;
    if let Some(name) = &changes.name {
        client.name = crate::admin::clean_text("the name", name, 200)?;
    }
    if let Some(uris) = changes.redirect_uris {
        for uri in &uris {
            validate_registered(uri).map_err(|m| AdminError::Invalid(format!("{uri}: {m}")))?;
        }
        if uris.is_empty() && client.allows_grant("authorization_code") {
            return Err(AdminError::Invalid(
                "a client that logs people in needs at least one redirect URI".into(),
            ));
        }
        client.redirect_uris = uris;
    }
    if let Some(uris) = changes.post_logout_redirect_uris {
        for uri in &uris {
            validate_registered(uri).map_err(|m| AdminError::Invalid(format!("{uri}: {m}")))?;
        }
        client.post_logout_redirect_uris = uris;
    }
    if let Some(r) = changes.require_organisation {
        client.require_organisation = r;
    }
    use crate::upgrade::{CLIENT_BACKCHANNEL_LOGOUT, CLIENT_FRONTCHANNEL_LOGOUT};
    if let Some(r) = changes.require_two_factors {
        let on = r && !client.require_two_factors;
        switching_on(state, on, crate::upgrade::CLIENT_TWO_FACTORS).await?;
        client.require_two_factors = r;
    }
    if let Some(uri) = changes.backchannel_logout_uri {
        if let Some(uri) = &uri {
            check_backchannel(uri, caller.principal.is_superadmin())?;
            let on = client.backchannel_logout_uri.is_none();
            switching_on(state, on, CLIENT_BACKCHANNEL_LOGOUT).await?;
        }
        client.backchannel_logout_uri = uri;
    }
    if let Some(r) = changes.backchannel_logout_session_required {
        client.backchannel_logout_session_required = r;
    }
    if let Some(uri) = changes.frontchannel_logout_uri {
        if let Some(uri) = &uri {
            check_frontchannel(uri)?;
            let on = client.frontchannel_logout_uri.is_none();
            switching_on(state, on, CLIENT_FRONTCHANNEL_LOGOUT).await?;
        }
        client.frontchannel_logout_uri = uri;
    }
    if let Some(r) = changes.frontchannel_logout_session_required {
        client.frontchannel_logout_session_required = r;
    }
    if let Some(r) = changes.require_pkce {
        if !r && client.public {
            return Err(AdminError::Invalid(
                "a public client always uses PKCE (it has no secret)".into(),
            ));
        }
        client.require_pkce = r;
    }
    if let Some(orgs) = changes.organisations {
        if !caller.principal.is_superadmin() {
            return Err(AdminError::Forbidden(
                "only a superadmin changes which organisations may use a client".into(),
            ));
        }
        let mut ids = Vec::new();
        for key in &orgs {
            let org = load_org(state, key).await?;
            if !ids.contains(&org.id) {
                ids.push(org.id);
            }
        }
        client.organisations = ids;
    }
    if let Some(v) = changes.visible_roles {
        client.visible_roles = match (v, client.owner_organisation_id.as_deref()) {
            (Some(roles), Some(org)) => {
                Some(crate::admin::members::check_roles(state, org, &roles).await?)
            }
            (v, _) => v,
        };
    }
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::clients::update(&mut tx, &client, now).await?;
    let told = client_changed(&mut tx, state, &client, "updated").await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.client_updated",
        client.owner_organisation_id.as_deref(),
        None,
        json!({
            "client": client.id,
            "name": client.name,
            "redirect_uris": client.redirect_uris,
            "post_logout_redirect_uris": client.post_logout_redirect_uris,
            "require_pkce": client.require_pkce,
            "require_two_factors": client.require_two_factors,
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "backchannel_logout_session_required": client.backchannel_logout_session_required,
            "frontchannel_logout_uri": client.frontchannel_logout_uri,
            "frontchannel_logout_session_required": client.frontchannel_logout_session_required,
        }),
    )
    .await?;
    tx.commit().await?;
    events::wake(state, told);
    state.clients.forget(&client.id);
    Ok(client.into())
}

/// One logout token sent (or being sent) to a client, as its admins see it: never the token.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogoutDelivery {
    pub queued_at: i64,
    pub attempts: i64,
    pub state: DeliveryState,
    /// Why the last attempt failed (the receiver's host and the HTTP status or transport
    /// error).
    pub last_error: Option<String>,
}

/// Where a logout token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Delivered,
    Waiting,
    GivenUp,
}

/// The client's latest logout tokens (Back-Channel Logout), newest first.
#[tracing::instrument(skip_all)]
pub async fn logout_deliveries(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Vec<LogoutDelivery>, AdminError> {
    let client = load(state, caller, Action::ClientRead, id).await?;
    let channel = crate::oidc::backchannel::CHANNEL;
    let rows = store::outbox::recent_for(&state.db, channel, &client.id, 20).await?;
    let max = crate::mail::delivery::MAX_ATTEMPTS;
    Ok(rows
        .into_iter()
        .map(|r| LogoutDelivery {
            queued_at: r.created_at,
            attempts: r.attempts,
            state: match (r.sent_at, r.attempts >= max && r.claimed_until.is_none()) {
                (Some(_), _) => DeliveryState::Delivered,
                (None, true) => DeliveryState::GivenUp,
                (None, false) => DeliveryState::Waiting,
            },
            last_error: r.last_error,
        })
        .collect())
}

/// Replaces a confidential client's secret; the new one is returned once.
#[tracing::instrument(skip_all)]
pub async fn rotate_secret(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<String, AdminError> {
    let client = load(state, caller, Action::ClientRotateSecret, id).await?;
    if client.public {
        return Err(AdminError::Conflict("a public client has no secret".into()));
    }
    let secret = secret_token();
    let now = state.now();
    let mut tx = state.db.begin().await?;
    store::clients::set_secret_hash(&mut tx, &client.id, &sha256_b64(&secret), now).await?;
    let told = client_changed(&mut tx, state, &client, "secret_rotated").await?;
    record(
        &mut tx,
        caller,
        now,
        "admin.client_secret_rotated",
        client.owner_organisation_id.as_deref(),
        None,
        json!({ "client": client.id }),
    )
    .await?;
    tx.commit().await?;
    events::wake(state, told);
    state.clients.forget(&client.id);
    Ok(secret)
}

/// Deletes a client; its grants and tokens end with it.
#[tracing::instrument(skip_all)]
pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<(), AdminError> {
    let client = load(state, caller, Action::ClientDelete, id).await?;
    let mut tx = state.db.begin().await?;
    let told = client_changed(&mut tx, state, &client, "deleted").await?;
    store::clients::delete(&mut tx, &client.id).await?;
    record(
        &mut tx,
        caller,
        state.now(),
        "admin.client_deleted",
        client.owner_organisation_id.as_deref(),
        None,
        json!({ "client": client.id, "name": client.name }),
    )
    .await?;
    tx.commit().await?;
    events::wake(state, told);
    state.clients.forget(&client.id);
    Ok(())
}

/// Queues `client.changed` (`change`: created, updated, secret_rotated, deleted) inside `tx`.
async fn client_changed(
    tx: &mut Tx<'_>,
    state: &AppState,
    client: &Client,
    change: &'static str,
) -> Result<usize, AdminError> {
    Ok(events::emit(tx, state, events::Event::ClientChanged { client, change }).await?)
}
