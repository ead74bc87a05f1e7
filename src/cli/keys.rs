//! `nyckel keys rotate | list | rotate-master`. A rotation is recorded in the audit log
//! (`keys.rotated`, actor `cli`); master-key rotation in [`master`].

mod master;

use clap::Subcommand;
use serde_json::json;

use crate::cli::{Out, now};
use crate::config::Config;
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Pre-publish the next signing key of every algorithm (used after keys.prepublish).
    Rotate,
    /// List signing keys and their status.
    List,
    /// Rotate the master key without downtime (docs/keys.md). Without options: promote the
    /// staged key (or, with none staged, make one and promote it at once: single node),
    /// re-sealing everything in the database under it in one transaction.
    RotateMaster(master::RotateMasterArgs),
}

pub async fn run(cmd: KeysCommand, config: Config, out: Out) -> anyhow::Result<()> {
    if let KeysCommand::RotateMaster(args) = cmd {
        return master::run(args, config, out).await;
    }
    let prepublish = config.keys.prepublish;
    let state = AppState::build(config).await?;
    let now = now();
    if let KeysCommand::Rotate = cmd {
        let created = state.keys.rotate(now, prepublish).await?;
        for (alg, kid) in &created {
            if !out.json {
                println!(
                    "{}: new key {kid} signs from {}",
                    alg.name(),
                    now + prepublish
                );
            }
        }
        if created.is_empty() && !out.json {
            println!("every algorithm already has a pending key; nothing to do");
        }
        if !created.is_empty() {
            let keys: Vec<serde_json::Value> = created
                .iter()
                .map(|(alg, kid)| json!({ "alg": alg.name(), "kid": kid }))
                .collect();
            crate::store::audit::append(
                &state.db,
                &crate::store::audit::Event {
                    kind: "keys.rotated",
                    actor_id: Some("cli"),
                    detail: json!({ "keys": keys, "activates_at": now + prepublish }),
                    ..Default::default()
                },
                now,
            )
            .await?;
        }
    }
    let rows: Vec<serde_json::Value> = state
        .keys
        .list()
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid,
                "alg": k.alg.name(),
                "status": k.status(now, state.keys.retention()).name(),
                "created_at": k.created_at,
                "activates_at": k.activates_at,
                "superseded_at": k.superseded_at,
            })
        })
        .collect();
    if out.json {
        println!("{}", json!({ "keys": rows }));
    } else {
        for r in &rows {
            println!(
                "{:<24} {:<6} {:<8} activates_at={}",
                r["kid"].as_str().unwrap_or_default(),
                r["alg"].as_str().unwrap_or_default(),
                r["status"].as_str().unwrap_or_default(),
                r["activates_at"]
            );
        }
    }
    Ok(())
}
