//! `nyckel org import --org SLUG FILE.csv [--dry-run]`: members from a CSV file
//! (`crate::scim::import`), as the operator. The dry run prints what each row would do; the
//! import prints its progress to standard error and, at the end, what each row did.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;

use crate::admin::Caller;
use crate::cli::Out;
use crate::scim::Scim;
use crate::scim::import::{self, Line, Outcome, Summary};
use crate::state::AppState;

/// Runs the command.
pub async fn run(
    state: &AppState,
    org: &str,
    file: &Path,
    dry_run: bool,
    out: Out,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let rows =
        import::parse(&bytes).with_context(|| format!("{} cannot be imported", file.display()))?;
    let Some(organisation) = crate::scim::organisation(state, org).await? else {
        bail!("no organisation {org:?}");
    };
    crate::upgrade::require_finished(&state.db, crate::upgrade::SCIM).await?;
    let s = Scim::new(state, Caller::operator(), organisation);
    let lines = if dry_run {
        import::plan(&s, &rows).await?
    } else {
        let (started, mut shown) = (Instant::now(), Instant::now());
        let lines = import::run(&s, &rows, |done, total| {
            if done == total || shown.elapsed() >= Duration::from_secs(5) {
                eprintln!(
                    "imported {done} of {total} rows ({} s)",
                    started.elapsed().as_secs()
                );
                shown = Instant::now();
            }
        })
        .await?;
        let summary = Summary::of(&lines);
        let mut tx = state.db.begin().await?;
        crate::admin::record(
            &mut tx,
            &s.caller,
            state.now(),
            "admin.members_imported",
            Some(&s.org.id),
            None,
            json!({ "file": file.file_name().map(|f| f.to_string_lossy().to_string()), "summary": summary }),
        )
        .await?;
        tx.commit().await?;
        lines
    };
    let summary = Summary::of(&lines);
    let text = report(&lines, &summary, dry_run);
    out.print(
        &json!({ "dry_run": dry_run, "summary": summary, "rows": lines }),
        &text,
    );
    Ok(())
}

fn report(lines: &[Line], s: &Summary, dry_run: bool) -> String {
    let mut text = String::new();
    let (invite, link, update) = if dry_run {
        (
            "will be invited",
            "is a member: will be linked",
            "will be updated",
        )
    } else {
        ("invited", "linked (already a member)", "updated")
    };
    for l in lines {
        let what = match &l.outcome {
            Outcome::Invite => invite.to_string(),
            Outcome::Link => link.to_string(),
            Outcome::Update => update.to_string(),
            Outcome::Unchanged => continue,
            Outcome::Refused(why) => format!("refused: {why}"),
        };
        text.push_str(&format!("line {}: {}: {what}\n", l.line, l.email));
    }
    text.push_str(&format!(
        "{} rows{}: {} invited, {} linked, {} updated, {} unchanged, {} refused",
        s.rows,
        if dry_run {
            " (dry run, nothing changed)"
        } else {
            ""
        },
        s.invited,
        s.linked,
        s.updated,
        s.unchanged,
        s.refused
    ));
    text
}
