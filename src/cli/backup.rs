//! `nyckel backup run | list | verify | restore | signing-key | pin | unpin | keygen | prune`
//! (docs/backups.md).
//! Every failure exits non-zero with one clear line; `run` and `verify` also exit non-zero
//! when any destination failed, after printing the per-destination summary.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use crate::backup;
use crate::cli::{Out, now, open_db};
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup now and write it to every destination.
    Run,
    /// List the backups at each destination.
    List {
        /// Only this destination.
        #[arg(long)]
        destination: Option<String>,
    },
    /// Check a backup's signature, then download, decrypt and check it, restoring it into a
    /// scratch database.
    Verify {
        /// The backup (default: the newest complete one at each destination).
        id: Option<String>,
        /// The age identity file (the private key kept offline).
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// Only this destination.
        #[arg(long)]
        destination: Option<String>,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Restore a backup into a new, empty database (its signature is checked first).
    Restore {
        id: String,
        /// The age identity file (the private key kept offline).
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// The empty database to restore into (sqlite://PATH or postgres://...).
        #[arg(long, value_name = "DATABASE_URL")]
        into: String,
        /// Read the backup from this destination (default: the first that holds a good copy).
        #[arg(long)]
        destination: Option<String>,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Print the public key that signs this installation's backups (derived from the master
    /// key) and every key whose backups are trusted.
    SigningKey,
    /// Keep a backup forever (retention never removes it).
    Pin {
        id: String,
        #[arg(long)]
        destination: Option<String>,
    },
    /// Let retention treat a pinned backup normally again.
    Unpin {
        id: String,
        #[arg(long)]
        destination: Option<String>,
    },
    /// Make a new age key pair: the identity goes to FILE (mode 0600), the public key is
    /// printed for `backup.recipients`.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Delete the backups that retention (keep_daily/weekly/monthly/yearly) does not keep;
    /// pinned backups and the newest verified one always stay.
    Prune {
        /// Only show what would be deleted.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        destination: Option<String>,
    },
}

/// Whose backups `verify` and `restore` accept (docs/backups.md, Signatures).
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Also trust backups signed by this backup-signing public key (`ed25519:...`, as
    /// `nyckel backup signing-key` prints it); repeatable. The keys of the master key file
    /// and `backup.trusted_signing_keys` are always trusted.
    #[arg(long = "trust-key", value_name = "KEY")]
    trust_keys: Vec<String>,
    /// Accept a backup that is not signed because it was written before backups were signed
    /// (format 1). It proves nothing about who wrote it: use it only for a backup you know
    /// this installation wrote before the upgrade.
    #[arg(long)]
    allow_unsigned: bool,
}

impl TrustArgs {
    fn options(self) -> backup::ReadOptions {
        backup::ReadOptions {
            trust_keys: self.trust_keys,
            allow_unsigned: self.allow_unsigned,
        }
    }
}

pub async fn run(cmd: BackupCommand, config: Config, out: Out) -> anyhow::Result<()> {
    match cmd {
        BackupCommand::Run => {
            let db = open_db(&config).await?;
            let report = backup::run(&db, &config, now()).await?;
            db.close().await;
            let text = report
                .destinations
                .iter()
                .map(|d| match &d.error {
                    None => format!("  {}: ok, {} bytes, {:.1} s", d.name, d.bytes, d.seconds),
                    Some(e) => format!("  {}: FAILED: {e}", d.name),
                })
                .collect::<Vec<_>>()
                .join("\n");
            out.print(
                &serde_json::to_value(&report)?,
                &format!(
                    "backup {}: {} tables, {} rows, snapshot {:.1} s\n{text}",
                    report.id, report.tables, report.rows, report.snapshot_seconds
                ),
            );
            if !report.ok() {
                let failed: Vec<&str> = report
                    .destinations
                    .iter()
                    .filter(|d| !d.ok)
                    .map(|d| d.name.as_str())
                    .collect();
                anyhow::bail!("backup {} failed at: {}", report.id, failed.join(", "));
            }
        }
        BackupCommand::List { destination } => {
            let all = backup::list(&config, destination.as_deref()).await?;
            let mut failed = Vec::new();
            let mut json_out = Vec::new();
            for (name, entries) in all {
                match entries {
                    Ok(entries) => {
                        if !out.json {
                            println!("{name}:");
                            for e in &entries {
                                println!(
                                    "  {}  {:>12} bytes  {}  {}{}{}",
                                    e.id,
                                    e.size,
                                    if e.complete { "complete" } else { "INCOMPLETE" },
                                    e.signature.name(),
                                    e.verified_at
                                        .map(|t| format!("  verified {t}"))
                                        .unwrap_or_default(),
                                    if e.pinned { "  pinned" } else { "" }
                                );
                            }
                        }
                        json_out.push(json!({ "destination": name, "backups": entries }));
                    }
                    Err(e) => {
                        eprintln!("nyckel: {name}: {e}");
                        json_out.push(json!({ "destination": name, "error": e.to_string() }));
                        failed.push(name);
                    }
                }
            }
            if out.json {
                println!("{}", json!({ "items": json_out }));
            }
            if !failed.is_empty() {
                anyhow::bail!("could not list: {}", failed.join(", "));
            }
        }
        BackupCommand::Verify {
            id,
            identity,
            destination,
            trust,
        } => {
            let reports = backup::verify(
                &config,
                id.as_deref(),
                &identity,
                destination.as_deref(),
                &trust.options(),
                now(),
            )
            .await?;
            let text = reports
                .iter()
                .map(|r| match &r.error {
                    None => format!(
                        "{}: backup {} verified: {} tables, {} rows, {:.1} s{}",
                        r.destination,
                        r.id.as_deref().unwrap_or("?"),
                        r.tables,
                        r.rows,
                        r.seconds,
                        r.warnings
                            .iter()
                            .map(|w| format!("\n  warning: {w}"))
                            .collect::<String>()
                    ),
                    Some(e) => format!("{}: VERIFY FAILED: {e}", r.destination),
                })
                .collect::<Vec<_>>()
                .join("\n");
            out.print(&json!({ "items": reports }), &text);
            let failed: Vec<String> = reports
                .iter()
                .filter(|r| !r.ok)
                .map(|r| format!("{}: {}", r.destination, r.error.as_deref().unwrap_or("")))
                .collect();
            if !failed.is_empty() {
                anyhow::bail!("verify failed: {}", failed.join("; "));
            }
        }
        BackupCommand::Restore {
            id,
            identity,
            into,
            destination,
            trust,
        } => {
            let r = backup::restore(
                &config,
                &id,
                &identity,
                &into,
                destination.as_deref(),
                &trust.options(),
            )
            .await?;
            out.print(
                &serde_json::to_value(&r)?,
                &format!(
                    "restored backup {} from {}: {} tables, {} rows; {} tombstones applied ({} accounts erased again); {:.1} s{}",
                    r.id,
                    r.destination,
                    r.tables,
                    r.rows,
                    r.tombstones,
                    r.erased_again,
                    r.seconds,
                    r.skipped
                        .iter()
                        .map(|w| format!("\n  not used: {w}"))
                        .chain(r.warnings.iter().map(|w| format!("\n  warning: {w}")))
                        .collect::<String>()
                ),
            );
        }
        BackupCommand::SigningKey => signing_key(&config, out)?,
        BackupCommand::Pin { id, destination } => {
            let at = backup::set_pinned(&config, &id, true, destination.as_deref()).await?;
            out.print(
                &json!({ "id": id, "pinned": true, "destinations": at }),
                &format!("backup {id} pinned at {}", at.join(", ")),
            );
        }
        BackupCommand::Unpin { id, destination } => {
            let at = backup::set_pinned(&config, &id, false, destination.as_deref()).await?;
            out.print(
                &json!({ "id": id, "pinned": false, "destinations": at }),
                &format!("backup {id} unpinned at {}", at.join(", ")),
            );
        }
        BackupCommand::Keygen { out: path } => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let (text, public) = backup::crypt::generate(now());
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            out.print(
                &json!({ "identity_file": path, "recipient": public }),
                &format!(
                    "identity written to {} (keep it offline, away from the backups)\nrecipient for backup.recipients: {public}",
                    path.display()
                ),
            );
        }
        BackupCommand::Prune {
            dry_run,
            destination,
        } => prune(&config, dry_run, destination.as_deref(), out).await?,
    }
    Ok(())
}

fn signing_key(config: &Config, out: Out) -> anyhow::Result<()> {
    let signer = backup::signer(config)?;
    let trust = backup::trust(config, &[])?;
    let public = signer.public();
    let trusted = trust.keys();
    let mut text = format!(
        "backups are signed by backup-signing key {} (derived from the current master key):\n  {}\ntrusted:",
        public.id(),
        public.to_text()
    );
    for k in &trusted {
        text.push_str(&format!("\n  {}  {}  ({})", k.id, k.public_key, k.source));
    }
    out.print(
        &json!({
            "signing_key": { "id": public.id(), "public_key": public.to_text() },
            "trusted": trusted,
        }),
        &text,
    );
    Ok(())
}

async fn prune(
    config: &Config,
    dry_run: bool,
    destination: Option<&str>,
    out: Out,
) -> anyhow::Result<()> {
    let reports = backup::prune::prune(config, destination, now(), dry_run).await?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    let text = reports
        .iter()
        .map(|r| match &r.error {
            None => format!(
                "{}: kept {}, {verb} {}{}{}",
                r.destination,
                r.kept.len(),
                r.deleted.len(),
                if r.deleted.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.deleted.join(" "))
                },
                if r.not_trusted.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; NOT SIGNED BY THIS INSTALLATION, left alone (check and delete by hand): {}",
                        r.not_trusted.join(" ")
                    )
                }
            ),
            Some(e) => format!("{}: PRUNE FAILED: {e}", r.destination),
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.print(&serde_json::to_value(&reports)?, &text);
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.destination.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("pruning failed at: {}", failed.join(", "));
    }
    Ok(())
}
