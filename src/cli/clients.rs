//! `nyckel client ...`: registering and managing clients (relying parties) through the admin
//! use-cases, as the operator. Secrets are printed once, when created or rotated.

use clap::Subcommand;
use serde_json::json;

use crate::admin::clients::{self, ClientChanges, ClientView, CreateClient};
use crate::admin::{AdminError, Caller, orgs};
use crate::cli::Out;
use crate::cli::support::{all_pages, find_org, print_items};
use crate::config::Config;
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its id and, for confidential clients, the secret (once).
    Create {
        #[arg(long)]
        name: String,
        /// Allowed redirect URI (exact match); repeat for several.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI; repeat for several.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (no secret, PKCE required), e.g. a mobile or single-page app.
        #[arg(long)]
        public: bool,
        /// Restrict the client to an organisation (id or slug); repeat for several.
        #[arg(long = "org", allow_hyphen_values = true)]
        orgs: Vec<String>,
        /// Grant type; repeat for several (default: authorization_code and refresh_token).
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Skip the consent page (the installation's own apps).
        #[arg(long)]
        first_party: bool,
        /// ID token (and logout token) signing algorithm: RS256 (default), ES256 or EdDSA.
        /// Apache's mod_auth_openidc up to 2.4.12 with cjose 0.6.2 (Debian 12) cannot read
        /// EdDSA: use RS256 or ES256 there.
        #[arg(long)]
        id_token_alg: Option<String>,
        /// Every login must pick an active organisation.
        #[arg(long)]
        require_org: bool,
        /// The organisation (id or slug) that owns the client: its admins manage it, and it
        /// is restricted to that organisation unless --org says otherwise.
        #[arg(long, value_name = "ORG", allow_hyphen_values = true)]
        owner: Option<String>,
        /// May be granted the `admin` scope (an admin console; with --owner also a service
        /// client using client_credentials for its organisation).
        #[arg(long)]
        admin_api: bool,
        /// A role the client may see in tokens; repeat for several (default: all roles).
        #[arg(long = "visible-role", value_name = "ROLE")]
        visible_roles: Vec<String>,
        /// A confidential legacy app that cannot send PKCE (every other client must send a
        /// code_challenge with S256; RFC 9700 2.1.1). Not for public clients.
        #[arg(long)]
        allow_no_pkce: bool,
        /// Every login through the client must be of two factors (a password-only session
        /// is asked for a second factor). Refused until the upgrade to 0.3.0 is finished
        /// (`nyckel upgrade finish`).
        #[arg(long)]
        require_two_factors: bool,
        /// Where the client is told, by a logout token, that a session it had tokens in ended
        /// (OpenID Connect Back-Channel Logout 1.0): https, or http on loopback for
        /// development. Refused until the upgrade to 0.4.0 is finished.
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// The client needs `sid` in logout tokens (Nyckel always sends it).
        #[arg(long)]
        backchannel_logout_session_required: bool,
        /// A page of the client that Nyckel's logged-out page loads in an iframe, so the app
        /// can clear its cookies (OpenID Connect Front-Channel Logout 1.0). Refused until the
        /// upgrade to 0.5.0 is finished.
        #[arg(long, value_name = "URI")]
        frontchannel_logout_uri: Option<String>,
        /// That page needs `iss` and `sid` (Nyckel always adds them).
        #[arg(long)]
        frontchannel_logout_session_required: bool,
    },
    /// List clients (default: every client, the installation's first).
    List {
        /// Only the clients owned by this organisation (id or slug).
        #[arg(long, value_name = "ORG", allow_hyphen_values = true)]
        owner: Option<String>,
    },
    /// Show one client (never its secret).
    Show {
        /// The client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Change a client's name, redirect URIs or settings; lists given replace the old ones.
    Update {
        /// The client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Allowed redirect URI; repeat for several (replaces the list).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Allowed post-logout redirect URI; repeat for several (replaces the list).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Whether every login must pick an active organisation.
        #[arg(long, value_name = "true|false")]
        require_org: Option<bool>,
        /// A role the client may see; repeat for several (replaces the list).
        #[arg(
            long = "visible-role",
            value_name = "ROLE",
            conflicts_with = "all_roles"
        )]
        visible_roles: Vec<String>,
        /// Let the client see every role again.
        #[arg(long)]
        all_roles: bool,
        /// Restrict the client to an organisation (id or slug); repeat for several (replaces
        /// the list).
        #[arg(long = "org")]
        orgs: Vec<String>,
        /// Whether authorization requests must carry PKCE (false only for a confidential
        /// legacy app that cannot send it).
        #[arg(long, value_name = "true|false")]
        require_pkce: Option<bool>,
        /// Whether every login through the client must be of two factors (switching it on
        /// waits for `nyckel upgrade finish`).
        #[arg(long, value_name = "true|false")]
        require_two_factors: Option<bool>,
        /// Where the client is told that a session ended (Back-Channel Logout).
        #[arg(long, value_name = "URI", conflicts_with = "no_backchannel_logout")]
        backchannel_logout_uri: Option<String>,
        /// Stop telling the client that sessions end.
        #[arg(long)]
        no_backchannel_logout: bool,
        /// Whether the client needs `sid` in logout tokens.
        #[arg(long, value_name = "true|false")]
        backchannel_logout_session_required: Option<bool>,
        /// The page loaded in an iframe at logout (Front-Channel Logout).
        #[arg(long, value_name = "URI", conflicts_with = "no_frontchannel_logout")]
        frontchannel_logout_uri: Option<String>,
        /// Stop loading the client's page at logout.
        #[arg(long)]
        no_frontchannel_logout: bool,
        /// Whether that page needs `iss` and `sid`.
        #[arg(long, value_name = "true|false")]
        frontchannel_logout_session_required: Option<bool>,
    },
    /// Replace a confidential client's secret; prints the new one (once).
    RotateSecret {
        /// The client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Delete a client; its grants and tokens end with it.
    Delete {
        /// The client id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(cmd: ClientCommand, config: Config, out: Out) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let caller = Caller::operator();
    let (state, caller) = (&state, &caller);
    match cmd {
        ClientCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            orgs,
            grant_types,
            first_party,
            id_token_alg,
            require_org,
            owner,
            admin_api,
            visible_roles,
            allow_no_pkce,
            require_two_factors,
            backchannel_logout_uri,
            backchannel_logout_session_required,
            frontchannel_logout_uri,
            frontchannel_logout_session_required,
        } => {
            let owner = match owner {
                Some(key) => Some(find_org(&state.db, &key).await?),
                None => None,
            };
            let created = clients::create_as(
                state,
                caller,
                owner.as_ref().map(|o| o.id.as_str()),
                CreateClient {
                    name,
                    redirect_uris,
                    post_logout_redirect_uris,
                    public,
                    organisations: orgs,
                    grant_types,
                    first_party,
                    id_token_alg,
                    require_organisation: require_org,
                    visible_roles: (!visible_roles.is_empty()).then_some(visible_roles),
                    admin_api,
                    allow_no_pkce,
                    require_two_factors,
                    backchannel_logout_uri,
                    backchannel_logout_session_required,
                    frontchannel_logout_uri,
                    frontchannel_logout_session_required,
                    ..Default::default()
                },
            )
            .await?;
            let mut text = format!("client_id: {}", created.client.client_id);
            if let Some(secret) = &created.client_secret {
                text.push_str(&format!(
                    "\nclient_secret: {secret}\n(shown once: store it now; Nyckel keeps only a hash)"
                ));
            }
            out.print(&json!(created), &text);
        }
        ClientCommand::List { owner } => {
            let mut all = Vec::new();
            let owners = match owner {
                Some(key) => vec![Some(find_org(&state.db, &key).await?.id)],
                None => {
                    let orgs = all_pages(None, |cursor, limit| async move {
                        orgs::list(state, caller, cursor.as_deref(), Some(limit)).await
                    })
                    .await?;
                    std::iter::once(None)
                        .chain(orgs.into_iter().map(|o| Some(o.id)))
                        .collect()
                }
            };
            for owner in &owners {
                let owner = owner.as_deref();
                all.extend(
                    all_pages(None, |cursor, limit| async move {
                        clients::list(state, caller, owner, cursor.as_deref(), Some(limit)).await
                    })
                    .await?,
                );
            }
            print_items(out, &all, "no clients", |c| {
                format!(
                    "{} {:<28} owner={} {}{}",
                    c.client_id,
                    c.name,
                    c.owner_organisation_id.as_deref().unwrap_or("installation"),
                    if c.public { "public" } else { "confidential" },
                    if c.admin_api { " admin-api" } else { "" }
                )
            });
        }
        ClientCommand::Show { id } => {
            let c = clients::get(state, caller, &id)
                .await
                .map_err(|e| no_client(e, &id))?;
            print_client(out, &c);
        }
        ClientCommand::Update {
            id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            require_org,
            visible_roles,
            all_roles,
            orgs,
            require_pkce,
            require_two_factors,
            backchannel_logout_uri,
            no_backchannel_logout,
            backchannel_logout_session_required,
            frontchannel_logout_uri,
            no_frontchannel_logout,
            frontchannel_logout_session_required,
        } => {
            let changes = ClientChanges {
                organisations: (!orgs.is_empty()).then_some(orgs),
                name,
                redirect_uris: (!redirect_uris.is_empty()).then_some(redirect_uris),
                post_logout_redirect_uris: (!post_logout_redirect_uris.is_empty())
                    .then_some(post_logout_redirect_uris),
                require_organisation: require_org,
                visible_roles: if all_roles {
                    Some(None)
                } else {
                    (!visible_roles.is_empty()).then_some(Some(visible_roles))
                },
                require_pkce,
                require_two_factors,
                backchannel_logout_uri: match (backchannel_logout_uri, no_backchannel_logout) {
                    (_, true) => Some(None),
                    (uri, false) => uri.map(Some),
                },
                backchannel_logout_session_required,
                frontchannel_logout_uri: match (frontchannel_logout_uri, no_frontchannel_logout) {
                    (_, true) => Some(None),
                    (uri, false) => uri.map(Some),
                },
                frontchannel_logout_session_required,
            };
            if changes == ClientChanges::default() {
                anyhow::bail!(
                    "nothing to change: give --name, --redirect-uri, --post-logout-redirect-uri, --require-org, --visible-role, --all-roles, --org, --require-pkce, --require-two-factors, --backchannel-logout-uri, --no-backchannel-logout, --backchannel-logout-session-required, --frontchannel-logout-uri, --no-frontchannel-logout or --frontchannel-logout-session-required"
                );
            }
            let c = clients::update(state, caller, &id, changes)
                .await
                .map_err(|e| no_client(e, &id))?;
            print_client(out, &c);
        }
        ClientCommand::RotateSecret { id } => {
            let secret = clients::rotate_secret(state, caller, &id)
                .await
                .map_err(|e| no_client(e, &id))?;
            out.print(
                &json!({ "client_id": id, "client_secret": secret }),
                &format!(
                    "client_id: {id}\nclient_secret: {secret}\n(shown once: store it now; the old secret no longer works)"
                ),
            );
        }
        ClientCommand::Delete { id, yes } => {
            if !yes {
                anyhow::bail!(
                    "deleting client {id} ends its grants and tokens; add --yes to confirm"
                );
            }
            clients::delete(state, caller, &id)
                .await
                .map_err(|e| no_client(e, &id))?;
            out.print(
                &json!({ "deleted": true, "client_id": id }),
                &format!("deleted client {id}"),
            );
        }
    }
    Ok(())
}

fn print_client(out: Out, c: &ClientView) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(" ")
        }
    };
    let text = format!(
        "client_id:                 {}\nname:                      {}\ntype:                      {}\nowner:                     {}\nredirect_uris:             {}\npost_logout_redirect_uris: {}\ngrant_types:               {}\norganisations:             {}\nrequire_organisation:      {}\nvisible_roles:             {}\nadmin_api:                 {}\nfirst_party:               {}\nid_token_alg:              {}\nrequire_pkce:              {}\nrequire_two_factors:       {}\nbackchannel_logout_uri:    {}\nbackchannel_logout_session_required: {}\nfrontchannel_logout_uri:   {}\nfrontchannel_logout_session_required: {}",
        c.client_id,
        c.name,
        if c.public { "public" } else { "confidential" },
        c.owner_organisation_id.as_deref().unwrap_or("installation"),
        list(&c.redirect_uris),
        list(&c.post_logout_redirect_uris),
        list(&c.grant_types),
        if c.organisations.is_empty() {
            "any".to_string()
        } else {
            c.organisations.join(" ")
        },
        c.require_organisation,
        c.visible_roles
            .as_deref()
            .map_or_else(|| "all".to_string(), |r| r.join(" ")),
        c.admin_api,
        c.first_party,
        c.id_token_alg,
        c.require_pkce,
        c.require_two_factors,
        c.backchannel_logout_uri.as_deref().unwrap_or("-"),
        c.backchannel_logout_session_required,
        c.frontchannel_logout_uri.as_deref().unwrap_or("-"),
        c.frontchannel_logout_session_required,
    );
    out.print(&json!(c), &text);
}

/// Names the client when it was not found.
fn no_client(e: AdminError, id: &str) -> anyhow::Error {
    match e {
        AdminError::NotFound(m) if m == "no client" => {
            anyhow::anyhow!("no client with the id {id:?}")
        }
        e => e.into(),
    }
}
