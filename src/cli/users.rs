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
        /// Mark the phone number as verified (the operator vouches for it, e.g. from a member
        /// register). Only verified numbers get SMS login and recovery codes; otherwise the
        /// person confirms the number themself from their account page.
        #[arg(long, requires = "phone")]
        phone_verified: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print everything Nyckel holds about a person as JSON (the same document as their
    /// "Download my data"; never secrets). Recorded in the audit log.
    Export {
        #[arg(long)]
        email: String,
    },
    /// Erase a person's account for good (GDPR): sessions and tokens revoked, memberships
    /// removed, audit events pseudonymised, tombstone recorded, a goodbye mail queued.
    Erase {
        #[arg(long)]
        email: String,
        /// Confirms the erasure (it cannot be undone).
        #[arg(long)]
        yes: bool,
    },
    /// Make a person superadmin of the installation, or take it away with --off.
    Superadmin {
        #[arg(long)]
        email: String,
        /// Take superadmin away instead of granting it.
        #[arg(long)]
        off: bool,
    },
    /// Remove a person's second factors (verified phone; passkeys) after proofing their
    /// identity out of band (docs/two-factor.md); ends their sessions and mails them.
    ResetFactors {
        #[arg(long)]
        email: String,
    },
}

pub async fn run(cmd: UserCommand, config: Config, out: Out) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Create {
            email,
            name,
            phone,
            phone_verified,
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
                    phone: phone.clone(),
                    password,
                },
                now(),
            )
            .await?;
            if phone_verified {
                crate::store::users::set_phone(&db, &id, phone.as_deref(), true, now()).await?;
            }
            out.print(
                &json!({ "id": id, "email": email.trim() }),
                &format!("created account {} (sub {id})", email.trim()),
            );
            Ok(())
        }
        UserCommand::Export { email } => {
            let state = crate::state::AppState::build(config).await?;
            let user = crate::cli::support::find_user(&state.db, &email).await?;
            let doc = crate::auth::own_data::document(&state.db, &user.id, state.now())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no account with that email address"))?;
            crate::store::audit::append(
                &state.db,
                &crate::store::audit::Event {
                    kind: "data.exported",
                    user_id: Some(&user.id),
                    actor_id: Some("cli"),
                    detail: json!({}),
                    ..Default::default()
                },
                state.now(),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(())
        }
        UserCommand::Erase { email, yes } => {
            if !yes {
                anyhow::bail!("erasing an account cannot be undone; add --yes to confirm");
            }
            let state = crate::state::AppState::build(config).await?;
            let user = crate::cli::support::find_user(&state.db, &email).await?;
            let erased = crate::auth::own_data::erase_account(
                &state,
                &user,
                crate::store::erasure::ErasedBy::Other("cli"),
            )
            .await?;
            out.print(
                &json!({ "sub": user.id, "erased": true, "organisations": erased.organisations.len() }),
                &format!(
                    "erased the account of {} (sub {}; {} organisations informed); a goodbye mail is queued",
                    user.email,
                    user.id,
                    erased.organisations.len()
                ),
            );
            Ok(())
        }
        UserCommand::Superadmin { email, off } => {
            let state = crate::state::AppState::build(config).await?;
            let user = crate::cli::support::find_user(&state.db, &email).await?;
            let on = !off;
            let changed = crate::admin::users::set_superadmin(
                &state,
                &crate::admin::Caller::operator(),
                &user.id,
                on,
            )
            .await?;
            let text = match (on, changed) {
                (true, true) => format!("{} is now superadmin", user.email),
                (true, false) => format!("{} was already superadmin", user.email),
                (false, true) => format!("{} is no longer superadmin", user.email),
                (false, false) => format!("{} was not superadmin", user.email),
            };
            out.print(
                &json!({ "user_id": user.id, "email": user.email, "superadmin": on, "changed": changed }),
                &text,
            );
            Ok(())
        }
        UserCommand::ResetFactors { email } => {
            let state = crate::state::AppState::build(config).await?;
            let Some(done) = crate::auth::factors::settings::reset(&state, &email).await? else {
                anyhow::bail!("no account with the email address {email}");
            };
            out.print(
                &json!(done),
                &format!(
                    "second factors of {email} removed (phone: {}, passkeys: {}, sessions ended: {})",
                    done.phone.as_deref().unwrap_or("none"),
                    done.passkeys,
                    done.sessions_ended
                ),
            );
            Ok(())
        }
    }
}
