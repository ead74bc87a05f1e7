//! `nyckel user ...`.

use std::io::BufRead;

use clap::Subcommand;
use serde_json::json;

use crate::admin::users::{CreateUser, create};
use crate::auth::password::{Hasher, Password};
use crate::auth::policy::PasswordPolicy;
use crate::cli::{Out, now, open_db};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Phone number in E.164 form, e.g. +46701234567.
        #[arg(long)]
        phone: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn run(cmd: UserCommand, config: Config, out: Out) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Create {
            email,
            name,
            phone,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let line = line.trim_end_matches(['\n', '\r']).to_string();
                if line.is_empty() {
                    anyhow::bail!("--password-stdin: no password on standard input");
                }
                Some(Password::new(line))
            } else {
                None
            };
            let db = open_db(&config).await?;
            let hasher = Hasher::new(&config.password);
            let policy = PasswordPolicy::from_config(&config.password);
            let id = create(
                &db,
                &hasher,
                &policy,
                CreateUser {
                    email: email.clone(),
                    name,
                    phone,
                    password,
                },
                now(),
            )
            .await?;
            out.print(
                &json!({ "id": id, "email": email.trim() }),
                &format!("created account {} (sub {id})", email.trim()),
            );
            Ok(())
        }
    }
}
