//! `nyckel serve` and `nyckel migrate`.

use crate::cli::Out;
use crate::config::{Config, TlsMode};
use crate::state::AppState;

/// Starts the server and runs until a shutdown signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if config.is_development() {
        tracing::warn!(
            "development setup: self-signed TLS certificate in {}; configure tls.mode = \"files\" for production",
            config.keys_dir.display()
        );
    }
    if config.tls.mode == TlsMode::Off {
        tracing::warn!(
            "TLS is off: only run like this behind a TLS-terminating proxy or on loopback"
        );
    }
    // A backup run or verify killed before it cleaned up may have left files (a verify's
    // scratch database is plaintext): remove them unless one is working right now.
    let scratch = crate::backup::scratch_root(&config);
    match crate::backup::scratch::sweep(&scratch) {
        Ok(0) => {}
        Ok(removed) => tracing::warn!(
            folder = %scratch.display(),
            removed,
            "removed leftovers of a backup run or verify that did not finish"
        ),
        Err(e) => tracing::error!(
            folder = %scratch.display(),
            error = %crate::error::Chain(&e),
            "could not clean the backup scratch folder"
        ),
    }
    let state = AppState::build(config).await?;
    let anyone = crate::store::users::any(&state.db).await.unwrap_or(false);
    println!("nyckel issuer {}", state.issuer);
    if !anyone {
        println!("No accounts yet. Add a person and a client, for example:");
        println!(
            "  nyckel user create --email you@example.org --name \"Your Name\" --password-stdin"
        );
        println!(
            "  nyckel client create --name \"My app\" --redirect-uri https://app.example.org/callback"
        );
    }
    tracing::info!(ms = started.elapsed().as_millis() as u64, "ready to listen");
    crate::http::server::serve(state).await?;
    Ok(())
}

/// Applies migrations.
pub async fn migrate(config: Config, out: Out, dry_run: bool) -> anyhow::Result<()> {
    if !dry_run {
        crate::cli::open_db(&config).await?;
        out.print(&serde_json::json!({"migrated": true}), "migrations applied");
        return Ok(());
    }
    let db = crate::store::Db::connect(&config).await?;
    let status = crate::store::schema::status(&db).await?;
    let mut text = if status.pending.is_empty() {
        "the database is up to date: nothing would run".to_string()
    } else {
        let mut t = String::from("would run:");
        for s in &status.pending {
            t.push_str(&format!("\n  {} {}", s.version, s.description));
        }
        t
    };
    if !status.newer.is_empty() {
        text.push_str("\nthe database also has migrations newer than this binary:");
        for s in &status.newer {
            let kind = if s.is_contract() {
                "contract: this binary cannot run on it"
            } else {
                "expand: this binary keeps working"
            };
            text.push_str(&format!("\n  {} {} ({kind})", s.version, s.description));
        }
    }
    out.print(
        &serde_json::json!({ "dry_run": true, "pending": status.pending, "newer": status.newer }),
        &text,
    );
    Ok(())
}
