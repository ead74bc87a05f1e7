//! `nyckel session list | end`: a person's login sessions, as the operator (superadmin), for
//! a lost or stolen device. Ending a session revokes the tokens issued in it.

use clap::Subcommand;
use serde_json::json;

use crate::admin::{Caller, sessions};
use crate::cli::Out;
use crate::cli::support::{find_user, missing, print_items, utc};
use crate::config::Config;
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List a person's live sessions, newest first.
    List {
        #[arg(long)]
        email: String,
    },
    /// End a session (from `session list`) and revoke the tokens issued in it.
    End {
        /// The session id (`sid`).
        #[arg(long, allow_hyphen_values = true)]
        sid: String,
    },
}

pub async fn run(cmd: SessionCommand, config: Config, out: Out) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let caller = Caller::operator();
    match cmd {
        SessionCommand::List { email } => {
            let user = find_user(&state.db, &email).await?;
            let list = sessions::list_of_person(&state, &caller, &user.id).await?;
            print_items(
                out,
                &list,
                &format!("{} has no live sessions", user.email),
                |s| {
                    format!(
                        "{} started {} last seen {} amr={} ip={} {}",
                        s.sid,
                        utc(s.created_at),
                        utc(s.last_seen_at),
                        s.amr.join(","),
                        s.ip.as_deref().unwrap_or("-"),
                        s.user_agent.as_deref().unwrap_or("")
                    )
                },
            );
        }
        SessionCommand::End { sid } => {
            let user_id = sessions::end_any(&state, &caller, &sid)
                .await
                .map_err(missing(|| format!("no session with the sid {sid:?}")))?;
            out.print(
                &json!({ "ended": true, "sid": sid, "user_id": user_id }),
                &format!("ended session {sid}; its tokens are revoked"),
            );
        }
    }
    Ok(())
}
