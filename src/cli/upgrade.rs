//! `nyckel upgrade status|finish`: where the installation's upgrade stands (this binary's
//! version, the finished version, the nodes seen and what they run) and finishing it once
//! every node runs this release, which lets the settings new in it be switched on
//! (`crate::upgrade`, docs/upgrades.md).

use clap::Subcommand;
use serde_json::json;

use crate::cli::{Out, now, open_db};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum UpgradeCommand {
    /// Show this binary's version, the version the upgrade was finished to, and the nodes
    /// seen in the last minute with their versions.
    Status,
    /// Record that every node runs this release: settings new in it can then be switched
    /// on, and nodes of older releases stop serving. Refused while an older node is live.
    Finish,
}

pub async fn run(cmd: UpgradeCommand, config: Config, out: Out) -> anyhow::Result<()> {
    let db = open_db(&config).await?;
    match cmd {
        UpgradeCommand::Status => {
            let s = crate::upgrade::status(&db, now()).await?;
            let mut text = format!(
                "this binary:       nyckel {}\nupgrade finished:  {}\nnodes seen in the last {} s:",
                s.version,
                s.finished
                    .as_deref()
                    .unwrap_or("not recorded (an installation from before 0.3.0)"),
                crate::upgrade::LIVE_WINDOW,
            );
            if s.live_nodes.is_empty() {
                text.push_str(" none (nodes of 0.2.0 and older record nothing)");
            }
            for n in &s.live_nodes {
                text.push_str(&format!("\n  {} runs {}", n.node, n.version));
            }
            if s.can_finish {
                text.push_str("\nonce every node runs this release: nyckel upgrade finish");
            }
            out.print(&json!(s), &text);
        }
        UpgradeCommand::Finish => {
            let version = crate::upgrade::finish(&db, now()).await?;
            out.print(
                &json!({ "finished": version.to_string() }),
                &format!(
                    "the upgrade to nyckel {version} is finished: its new settings can be switched on, and older nodes stop serving"
                ),
            );
        }
    }
    db.close().await;
    Ok(())
}
