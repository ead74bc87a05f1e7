//! `nyckel org ...`.

use clap::Subcommand;
use serde_json::json;

use crate::cli::{Out, now, open_db};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        #[arg(long)]
        name: String,
        /// URL-friendly name (default: derived from the name).
        #[arg(long)]
        slug: Option<String>,
    },
    /// Add a person to an organisation with roles (adds roles if already a member).
    AddMember {
        /// Organisation id or slug.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// A role; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

pub async fn run(cmd: OrgCommand, config: Config, out: Out) -> anyhow::Result<()> {
    let db = open_db(&config).await?;
    match cmd {
        OrgCommand::Create { name, slug } => {
            let org = crate::admin::orgs::create(&db, &name, slug.as_deref(), now()).await?;
            out.print(
                &json!({ "id": org.id, "slug": org.slug, "name": org.name }),
                &format!(
                    "created organisation {} (id {}, slug {})",
                    org.name, org.id, org.slug
                ),
            );
        }
        OrgCommand::AddMember { org, email, roles } => {
            let (org, user_id, roles) =
                crate::admin::orgs::add_member(&db, &org, &email, &roles, now()).await?;
            out.print(
                &json!({ "org_id": org.id, "user_id": user_id, "roles": roles }),
                &format!("{email} in {}: {}", org.slug, roles.join(", ")),
            );
        }
    }
    Ok(())
}
