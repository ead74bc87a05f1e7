//! `nyckel audit list | export`: the audit log, newest first, as the operator (everything, or
//! one organisation's events). `export` writes JSON lines to standard output, page by page.

use std::io::Write;

use clap::Subcommand;

use crate::admin::Caller;
use crate::admin::audit::{self, Query};
use crate::cli::Out;
use crate::cli::support::{all_pages, find_org, print_items, utc};
use crate::config::Config;
use crate::paging::MAX_LIMIT;
use crate::state::AppState;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List events, newest first.
    List {
        /// Only this organisation's events (id or slug).
        #[arg(long, allow_hyphen_values = true)]
        org: Option<String>,
        /// Only events of this kind, e.g. `admin.roles_changed`.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many events (default: all).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Write every event as JSON lines to standard output, newest first.
    Export {
        /// Only this organisation's events (id or slug).
        #[arg(long, allow_hyphen_values = true)]
        org: Option<String>,
        /// Only events of this kind.
        #[arg(long)]
        kind: Option<String>,
    },
}

pub async fn run(cmd: AuditCommand, config: Config, out: Out) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    let caller = Caller::operator();
    let (state, caller) = (&state, &caller);
    match cmd {
        AuditCommand::List { org, kind, limit } => {
            let q = query(state, org, kind).await?;
            let q = &q;
            let events = all_pages(limit.map(|l| l as usize), |cursor, limit| async move {
                audit::list(state, caller, q, cursor.as_deref(), Some(limit)).await
            })
            .await?;
            print_items(out, &events, "no events", |e| {
                format!(
                    "{} {:<28} actor={} user={} org={} {}",
                    utc(e.at),
                    e.kind,
                    e.actor_id.as_deref().unwrap_or("-"),
                    e.user_id.as_deref().unwrap_or("-"),
                    e.organisation_id.as_deref().unwrap_or("-"),
                    e.detail
                )
            });
        }
        AuditCommand::Export { org, kind } => {
            let q = query(state, org, kind).await?;
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            let mut cursor: Option<String> = None;
            loop {
                let page =
                    audit::list(state, caller, &q, cursor.as_deref(), Some(MAX_LIMIT)).await?;
                for e in &page.items {
                    serde_json::to_writer(&mut w, e)?;
                    w.write_all(b"\n")?;
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            w.flush()?;
        }
    }
    Ok(())
}

async fn query(
    state: &AppState,
    org: Option<String>,
    kind: Option<String>,
) -> anyhow::Result<Query> {
    let org = match org {
        Some(key) => Some(find_org(&state.db, &key).await?.id),
        None => None,
    };
    Ok(Query {
        org,
        kind,
        ..Default::default()
    })
}
