//! The `nyckel` command line (ARCHITECTURE.md section 6 is the contract): every subcommand
//! takes `--config PATH` and `--json`. Errors print one clear line and exit non-zero.

mod audit;
mod clients;
mod keys;
mod orgs;
mod serve;
mod sessions;
mod users;

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
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage organisations and memberships.
    #[command(subcommand)]
    Org(orgs::OrgCommand),
    /// Manage clients (relying parties).
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// List and end people's login sessions.
    #[command(subcommand)]
    Session(sessions::SessionCommand),
    /// Read and export the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
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
            Command::Migrate => serve::migrate(config, out).await,
            Command::User(c) => users::run(c, config, out).await,
            Command::Org(c) => orgs::run(c, config, out).await,
            Command::Client(c) => clients::run(c, config, out).await,
            Command::Keys(c) => keys::run(c, config, out).await,
            Command::Session(c) => sessions::run(c, config, out).await,
            Command::Audit(c) => audit::run(c, config, out).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nyckel: {e:#}");
            ExitCode::FAILURE
        }
    }
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
    db.migrate().await?;
    Ok(db)
}

/// The current time for CLI commands.
pub fn now() -> i64 {
    use crate::clock::Clock;
    crate::clock::SystemClock.now()
}

/// Prints a list: `{"items": [...]}` with `--json` (the admin views' fields), else one line
/// per item (or `empty` when there is none).
pub fn print_items<T: serde::Serialize>(
    out: Out,
    items: &[T],
    empty: &str,
    line: impl Fn(&T) -> String,
) {
    if out.json {
        println!("{}", serde_json::json!({ "items": items }));
    } else if items.is_empty() {
        println!("{empty}");
    } else {
        for item in items {
            println!("{}", line(item));
        }
    }
}

/// Walks a paginated admin list to its end, or until `limit` items were read.
pub async fn all_pages<T, F, Fut>(
    limit: Option<usize>,
    mut fetch: F,
) -> Result<Vec<T>, crate::admin::AdminError>
where
    F: FnMut(Option<String>, i64) -> Fut,
    Fut:
        std::future::Future<Output = Result<crate::store::page::Page<T>, crate::admin::AdminError>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let want = match limit {
            Some(l) if items.len() >= l => return Ok(items),
            Some(l) => ((l - items.len()) as i64).min(crate::store::page::MAX_LIMIT),
            None => crate::store::page::MAX_LIMIT,
        };
        let page = fetch(cursor.take(), want).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(items),
        }
    }
}

/// The organisation with this id or slug, or an error naming it.
pub async fn find_org(
    db: &crate::store::Db,
    key: &str,
) -> anyhow::Result<crate::store::orgs::Organisation> {
    crate::store::orgs::find_by_id_or_slug(db, key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no organisation with the id or slug {key:?}"))
}

/// The account with this email, or an error naming it.
pub async fn find_user(
    db: &crate::store::Db,
    email: &str,
) -> anyhow::Result<crate::store::users::User> {
    crate::store::users::find_by_email(db, email.trim())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account with the email {}", email.trim()))
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`, for text output.
pub fn utc(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_civil_time() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_735_689_599), "2024-12-31 23:59:59 UTC");
    }
}
