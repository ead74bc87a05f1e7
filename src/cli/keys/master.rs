//! `nyckel keys rotate-master [--stage | --forget-old | --reseal]`: master-key rotation
//! without downtime (docs/keys.md). The database is changed before the file, so every node
//! can always open what the database holds: staging adds a key that opens but does not seal;
//! promotion re-seals every sealed row under the staged key in one transaction, then writes
//! the file with that key current; a retired key leaves the file only when no row is sealed
//! under it. Recorded in the audit log (`keys.master_staged`, `keys.master_rotated`,
//! `keys.master_forgotten`; actor `cli`). Prints key ids (fingerprints) and public keys (the
//! backup-signing key derived from each master key, `backup::sign`), never key material.

use clap::Args;
use serde_json::{Value, json};

use crate::backup::sign;
use crate::cli::{Out, now};
use crate::config::Config;
use crate::keys::master::MasterKey;
use crate::keys::reseal;
use crate::state::AppState;
use crate::store;

#[derive(Debug, Args)]
pub struct RotateMasterArgs {
    /// Only add a new key that opens but does not seal yet; copy the file to every node,
    /// then run `rotate-master` to promote it.
    #[arg(long, conflicts_with_all = ["forget_old", "reseal"])]
    stage: bool,
    /// Remove retired keys from the file; refused while any row is still sealed under one.
    #[arg(long, conflicts_with = "reseal")]
    forget_old: bool,
    /// Re-seal rows still sealed under an older key (e.g. queued by a node that had not yet
    /// read the new file) under the current key. Changes no key.
    #[arg(long)]
    reseal: bool,
}

pub async fn run(args: RotateMasterArgs, config: Config, out: Out) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let master = state.keys.master();
    let path = master.path().display().to_string();
    if args.stage {
        let (staged, id) = master.with_staged()?;
        staged.save()?;
        state.keys.set_master(staged.clone());
        audit(&state, "keys.master_staged", json!({ "staged": id })).await?;
        report(
            &state,
            &staged,
            out,
            &format!(
                "staged master key {id}: it opens but does not seal yet. Copy {path} to every node, wait keys.reload_interval, then run `nyckel keys rotate-master`."
            ),
        )
        .await
    } else if args.forget_old {
        forget_old(&state, &master, out).await
    } else if args.reseal {
        let changed = reseal::reseal_all(&state.db, &master).await?;
        report(
            &state,
            &master,
            out,
            &format!(
                "re-sealed {changed} rows under master key {}",
                master.current_id()
            ),
        )
        .await
    } else {
        promote(&state, &master, out, &path).await
    }
}

async fn promote(state: &AppState, master: &MasterKey, out: Out, path: &str) -> anyhow::Result<()> {
    // Without a staged key (one node): stage one first, so the file holds it before the
    // database does.
    let (staged, one_go) = match master.staged_id() {
        Some(_) => (master.clone(), false),
        None => {
            let (staged, _) = master.with_staged()?;
            staged.save()?;
            (staged, true)
        }
    };
    let (promoted, old) = staged.promoted()?;
    let changed = reseal::reseal_all(&state.db, &promoted).await?;
    promoted.save()?;
    state.keys.set_master(promoted.clone());
    let new = promoted.current_id().to_string();
    audit(
        state,
        "keys.master_rotated",
        json!({ "from": old, "to": new, "resealed": changed }),
    )
    .await?;
    let signing = sign::public_keys(&promoted);
    let mut text = format!(
        "master key {new} is current (was {old}); re-sealed {changed} rows. Copy {path} to every node; once every node has read it (keys.reload_interval), run `nyckel keys rotate-master --forget-old`.\nBackups are now signed by backup-signing key {}; backups signed before verify while master key {old} is in the file (or its public key {} is in backup.trusted_signing_keys).",
        signing.first().map(|(_, k)| k.id()).unwrap_or_default(),
        signing
            .iter()
            .find(|(id, _)| *id == old)
            .map(|(_, k)| k.to_text())
            .unwrap_or_default()
    );
    if one_go {
        text.push_str(
            "\nNote: no key was staged, so the new key was made and promoted at once; with several nodes, stage first (--stage) so that every node can open what the new key seals.",
        );
    }
    report(state, &promoted, out, &text).await
}

async fn forget_old(state: &AppState, master: &MasterKey, out: Out) -> anyhow::Result<()> {
    let (kept, gone) = master.without_retired();
    if gone.is_empty() {
        return report(state, master, out, "no retired master keys to forget").await;
    }
    let census = reseal::census(&state.db, master).await?;
    let still: Vec<String> = gone
        .iter()
        .filter_map(|id| {
            census
                .by_key
                .get(id)
                .map(|n| format!("{n} rows under master key {id}"))
        })
        .collect();
    if !still.is_empty() {
        anyhow::bail!(
            "not forgetting retired master keys: {} are still sealed under them. Make sure every node has the current key file (keys.reload_interval), run `nyckel keys rotate-master --reseal`, then try again.",
            still.join(", ")
        );
    }
    let signing: Vec<String> = sign::public_keys(master)
        .into_iter()
        .filter(|(id, _)| gone.contains(id))
        .map(|(_, k)| k.to_text())
        .collect();
    kept.save()?;
    state.keys.set_master(kept.clone());
    audit(state, "keys.master_forgotten", json!({ "forgotten": gone })).await?;
    report(
        state,
        &kept,
        out,
        &format!(
            "forgot master keys {}; copy {} to every node. Keep the forgotten keys in escrow while backups sealed under them are kept.\nBackups signed under them verify only with them back in the file, or with their backup-signing public keys in backup.trusted_signing_keys: {}",
            gone.join(", "),
            master.path().display(),
            signing.join(" ")
        ),
    )
    .await
}

async fn audit(state: &AppState, kind: &'static str, detail: Value) -> anyhow::Result<()> {
    store::audit::append(
        &state.db,
        &store::audit::Event {
            kind,
            actor_id: Some("cli"),
            detail,
            ..Default::default()
        },
        now(),
    )
    .await?;
    Ok(())
}

/// Prints what happened and the keys of the file with the rows sealed under each and the
/// backup-signing key derived from each.
async fn report(state: &AppState, master: &MasterKey, out: Out, text: &str) -> anyhow::Result<()> {
    let census = reseal::census(&state.db, master).await?;
    let signing = sign::public_keys(master);
    let keys: Vec<Value> = master
        .list()
        .into_iter()
        .map(|(id, st)| {
            let backup_signing = signing
                .iter()
                .find(|(m, _)| *m == id)
                .map(|(_, k)| k.to_text());
            json!({
                "id": id,
                "state": st.name(),
                "sealed_rows": census.by_key.get(&id).copied().unwrap_or(0),
                "backup_signing_key": backup_signing,
            })
        })
        .collect();
    if out.json {
        println!(
            "{}",
            json!({ "message": text, "master_keys": keys, "unopenable_rows": census.unopenable })
        );
    } else {
        println!("{text}");
        for k in &keys {
            println!(
                "{:<12} {:<8} sealed_rows={}",
                k["id"].as_str().unwrap_or_default(),
                k["state"].as_str().unwrap_or_default(),
                k["sealed_rows"]
            );
        }
    }
    Ok(())
}
