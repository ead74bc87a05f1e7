//! `nyckel client ...`.

use clap::Subcommand;
use serde_json::json;

use crate::admin::clients::{CreateClient, create};
use crate::cli::{Out, now, open_db};
use crate::config::Config;

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
        #[arg(long = "org")]
        orgs: Vec<String>,
        /// Grant type; repeat for several (default: authorization_code and refresh_token).
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Skip the consent page (the installation's own apps).
        #[arg(long)]
        first_party: bool,
        /// ID token signing algorithm: RS256 (default), ES256 or EdDSA.
        #[arg(long)]
        id_token_alg: Option<String>,
        /// Every login must pick an active organisation.
        #[arg(long)]
        require_org: bool,
    },
}

pub async fn run(cmd: ClientCommand, config: Config, out: Out) -> anyhow::Result<()> {
    let db = open_db(&config).await?;
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
        } => {
            let created = create(
                &db,
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
                    ..Default::default()
                },
                now(),
            )
            .await?;
            let c = &created.client;
            let mut text = format!("client_id: {}", c.id);
            if let Some(secret) = &created.secret {
                text.push_str(&format!(
                    "\nclient_secret: {secret}\n(shown once: store it now; Nyckel keeps only a hash)"
                ));
            }
            out.print(
                &json!({
                    "client_id": c.id,
                    "client_secret": created.secret,
                    "name": c.name,
                    "public": c.public,
                    "redirect_uris": c.redirect_uris,
                    "post_logout_redirect_uris": c.post_logout_redirect_uris,
                    "grant_types": c.grant_types,
                    "organisations": c.organisations,
                    "first_party": c.first_party,
                    "id_token_alg": c.id_token_alg,
                }),
                &text,
            );
        }
    }
    Ok(())
}
