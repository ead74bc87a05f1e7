//! The `nyckel` command line (ARCHITECTURE.md section 6 is the contract): every subcommand
//! takes `--config PATH` and `--json`. Errors print one clear line and exit non-zero.

mod admin;
mod audit;
mod backup;
mod clients;
mod import;
mod keys;
mod orgs;
mod serve;
mod sessions;
mod support;
mod upgrade;
mod users;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Nyckel, an OpenID Connect provider for organisations.
#[derive(Debug, Parser)]
#[command(name = "nyckel", version, about)]
pub struct Cli {
    /// Configuration file (default: ./nyckel.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Apply database migrations and exit.
    Migrate {
        /// Only show what would run (and any newer migrations the database has); change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(users::UserCommand),
    /// The installation's upgrade: status, and finishing it once every node runs this release.
    #[command(subcommand)]
    Upgrade(upgrade::UpgradeCommand),
    /// Manage organisations and memberships.
    #[command(subcommand)]
    Org(orgs::OrgCommand),
    /// Manage clients (relying parties).
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Administer the installation (setup link for the first administrator).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// List and end people's login sessions.
    #[command(subcommand)]
    Session(sessions::SessionCommand),
    /// Read and export the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Manage webhook endpoints and see their deliveries (docs/provisioning.md).
    #[command(subcommand)]
    Webhook(webhooks::WebhookCommand),
    /// Back up, list, verify and restore the database (docs/backups.md).
    #[command(subcommand)]
    Backup(backup::BackupCommand),
}

/// Output options shared by the subcommands.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `value` as JSON, or `text` otherwise.
    pub fn print(&self, value: &serde_json::Value, text: &str) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nyckel: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    crate::memory::tune_allocator();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nyckel: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = Out { json: cli.json };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve::run(config).await,
            Command::Migrate { dry_run } => serve::migrate(config, out, dry_run).await,
            Command::User(c) => users::run(c, config, out).await,
            Command::Org(c) => orgs::run(c, config, out).await,
            Command::Client(c) => clients::run(c, config, out).await,
            Command::Keys(c) => keys::run(c, config, out).await,
            Command::Admin(c) => admin::run(c, config, out).await,
            Command::Session(c) => sessions::run(c, config, out).await,
            Command::Audit(c) => audit::run(c, config, out).await,
            Command::Webhook(c) => webhooks::run(c, config, out).await,
            Command::Backup(c) => backup::run(c, config, out).await,
            Command::Upgrade(c) => upgrade::run(c, config, out).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nyckel: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each cause once: error types that print their
/// source inside their own message would otherwise repeat it.
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Connects and migrates, for commands that only need the database.
pub async fn open_db(config: &Config) -> anyhow::Result<crate::store::Db> {
    let db = crate::store::Db::connect(config).await?;
    let fresh = db.migrate().await?;
    crate::upgrade::after_migrating(&db, fresh, now()).await?;
    Ok(db)
}

/// The current time for CLI commands.
pub fn now() -> i64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.now()
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("database: {0}")]
        Db(#[from] std::io::Error),
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let inner = std::io::Error::other("invalid peer certificate: BadSignature");
        let e = anyhow::Error::from(Outer::from(inner)).context("connecting");
        assert_eq!(
            describe(&e),
            "connecting: database: invalid peer certificate: BadSignature"
        );
        let plain = anyhow::anyhow!("no such user").context("user show");
        assert_eq!(describe(&plain), "user show: no such user");
    }
}
