//! Backup series, from `backup_status` (written by whichever node ran the scheduled backup),
//! so every node reports the same values: the time of the last good backup and the last
//! result per configured destination, and the count of scheduled runs by result (cluster-wide
//! totals; aggregate them with `max`, not `sum`).

use std::fmt::Write;

use crate::state::AppState;
use crate::store::backup_status::{self, OVERALL};

/// Label values are destination names (letters, digits, `-`, `_`: nothing to escape).
pub async fn render_into(out: &mut String, state: &AppState) -> crate::error::Result<()> {
    let dests = &state.config.backup.destinations;
    if dests.is_empty() {
        return Ok(());
    }
    let rows = backup_status::all(&state.db).await?;
    let row = |name: &str| rows.iter().find(|r| r.destination == name);
    let _ = writeln!(
        out,
        "# HELP nyckel_backup_last_success_timestamp_seconds When the newest good scheduled backup was written to the destination (unix seconds; 0: never). Alert on time() minus this.\n# TYPE nyckel_backup_last_success_timestamp_seconds gauge"
    );
    for d in dests {
        let t = row(&d.name).and_then(|r| r.last_success_at).unwrap_or(0);
        let _ = writeln!(
            out,
            "nyckel_backup_last_success_timestamp_seconds{{destination=\"{}\"}} {t}",
            d.name
        );
    }
    let _ = writeln!(
        out,
        "# HELP nyckel_backup_last_result Result of the last scheduled backup at the destination (1 ok, 0 failed; absent before the first run).\n# TYPE nyckel_backup_last_result gauge"
    );
    for d in dests {
        if let Some(r) = row(&d.name) {
            let _ = writeln!(
                out,
                "nyckel_backup_last_result{{destination=\"{}\"}} {}",
                d.name, r.last_ok
            );
        }
    }
    let overall = row(OVERALL);
    let _ = writeln!(
        out,
        "# HELP nyckel_backup_runs_total Scheduled backup runs across the cluster by result (ok: written to every destination and pruned).\n# TYPE nyckel_backup_runs_total counter"
    );
    for (result, n) in [
        ("failed", overall.map_or(0, |r| r.runs_failed)),
        ("ok", overall.map_or(0, |r| r.runs_ok)),
    ] {
        let _ = writeln!(out, "nyckel_backup_runs_total{{result=\"{result}\"}} {n}");
    }
    Ok(())
}
