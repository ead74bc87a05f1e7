//! `nyckel admin ...`: installation administration from the server's shell.
//!
//! `setup-link` prints a one-time link that lets someone make an account a superadmin (the
//! first administrator's way in). The link is the secret: it is printed once, to standard
//! output only, and stored as a SHA-256. When superadmins exist already it still works, with
//! a warning on standard error.

use clap::Subcommand;
use serde_json::json;

use crate::auth::setup;
use crate::cli::{Out, now, open_db};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Print a one-time link that makes an account a superadmin.
    SetupLink {
        /// The account's email address (the link then works only for it).
        #[arg(long)]
        email: Option<String>,
    },
}

pub async fn run(cmd: AdminCommand, config: Config, out: Out) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::SetupLink { email } => {
            let db = open_db(&config).await?;
            let link = setup::create_link(&db, &config, email.as_deref(), now()).await?;
            db.close().await;
            if link.superadmins_exist {
                eprintln!(
                    "nyckel: warning: this installation already has a superadmin; the link makes one more"
                );
            }
            let minutes = (config.admin.setup_link_ttl + 59) / 60;
            out.print(
                &json!({
                    "link": link.url,
                    "expires_at": link.expires_at,
                    "email": email.as_deref().map(str::trim),
                }),
                &format!(
                    "{}\n\nOpen this link within {minutes} minutes to set up an administrator. It works once.",
                    link.url
                ),
            );
            Ok(())
        }
    }
}
