//! Prometheus metrics (text format 0.0.4), served on the separate `[metrics] listen` address by
//! `http::metrics`: HTTP
//! requests by route and status with latency histograms, logins by method and result
//! (including throttled attempts), tokens issued by grant type ([`registry`]); messages with
//! keys sent and refused by the send limits, hits of the global SMS cap (an alert: sending
//! stopped), SMS sent in the last 24 hours against the cap; the outbox depth per channel and
//! the database pools' connections (each pool once); whether the database answers
//! (`nyckel_db_up`); the build (`nyckel_build_info{version, commit}`); scheduled job runs
//! (`nyckel_jobs_run_total{job}`, every job from the start).
//!
//! The metrics are served while the database is away: `nyckel_db_up` is then 0 and the
//! series read from the database are left out (a failed scrape would hide the outage).

pub mod backup;
pub mod registry;

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::sms::limits::COUNTERS;
use crate::state::AppState;
use crate::store;

/// Declares every scheduled job's run counter and the logout-token outcomes, so each is
/// reported from 0 (a job that has not run yet is still a series).
pub fn declare_counters() {
    for job in crate::upkeep::JOBS {
        registry::declare(crate::upkeep::JOBS_RUN, &[("job", job)]);
    }
    crate::oidc::backchannel::declare_metrics();
    crate::webhooks::deliver::declare_metrics();
}

fn series(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

/// The git commit this binary was built from (`build.rs`; `unknown` without git).
pub const COMMIT: &str = env!("BUILD_GIT_COMMIT");

/// The metrics text. Never fails for the database: when it does not answer, `nyckel_db_up`
/// is 0 and the series read from it are left out.
pub async fn render(state: &AppState) -> crate::error::Result<String> {
    let mut out = String::new();
    registry::render_into(&mut out);
    series(
        &mut out,
        "nyckel_build_info",
        "gauge",
        "The build of this node: its version and the git commit it was built from (always 1).",
        &[(
            format!(
                r#"{{version="{}",commit="{COMMIT}"}}"#,
                env!("CARGO_PKG_VERSION")
            ),
            1,
        )],
    );
    // SQLite: a pool for reads and one connection for writes. PostgreSQL: one pool for both,
    // reported once.
    let pools = match state.db.backend() {
        store::Backend::Sqlite => vec![("read", state.db.pool()), ("write", state.db.writer())],
        store::Backend::Postgres => vec![("shared", state.db.pool())],
    };
    let mut samples = Vec::new();
    for (name, pool) in pools {
        let size = u64::from(pool.size());
        // Never more than the open connections (sqlx 0.8.6 can wrap the idle count: #3645).
        let idle = (pool.num_idle() as u64).min(size);
        samples.push((format!(r#"{{pool="{name}",state="idle"}}"#), idle));
        samples.push((
            format!(r#"{{pool="{name}",state="in_use"}}"#),
            size.saturating_sub(idle),
        ));
    }
    series(
        &mut out,
        "nyckel_db_pool_connections",
        "gauge",
        "Open database connections per pool (SQLite: read, write; PostgreSQL: shared) by state.",
        &samples,
    );
    // Bounded by `database.acquire_timeout`.
    let up = state.db.ping().await;
    series(
        &mut out,
        "nyckel_db_up",
        "gauge",
        "Whether the database answered a query within database.acquire_timeout (1) or not (0).",
        &[(String::new(), u64::from(up))],
    );
    let c = &COUNTERS;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    series(
        &mut out,
        "nyckel_key_messages_total",
        "counter",
        "Messages with a login or recovery key, by channel and outcome (refused: send limits).",
        &[
            (
                r#"{channel="sms",outcome="sent"}"#.into(),
                load(&c.sms_sent),
            ),
            (
                r#"{channel="sms",outcome="refused"}"#.into(),
                load(&c.sms_refused),
            ),
            (
                r#"{channel="email",outcome="sent"}"#.into(),
                load(&c.email_sent),
            ),
            (
                r#"{channel="email",outcome="refused"}"#.into(),
                load(&c.email_refused),
            ),
        ],
    );
    series(
        &mut out,
        "nyckel_sms_global_cap_hits_total",
        "counter",
        "SMS stopped by the global daily cap (alert on any increase: SMS sending has stopped).",
        &[(String::new(), load(&c.sms_global_cap_hits))],
    );
    series(
        &mut out,
        "nyckel_sms_global_daily_cap",
        "gauge",
        "The configured global daily SMS cap (sms.global_daily).",
        &[(String::new(), state.config.sms.global_daily.max(0) as u64)],
    );
    if up && let Err(e) = render_from_database(&mut out, state).await {
        tracing::warn!(error = %crate::error::Chain(&e), "the database series were left out of the metrics");
    }
    Ok(out)
}

/// The series read from the database (all nodes' totals). On an error the series written
/// so far stay; the rest are left out.
async fn render_from_database(out: &mut String, state: &AppState) -> crate::error::Result<()> {
    let since = state.now() - 86400;
    // The scrape has no request deadline: its queries are bounded (`store::bounded`).
    let sent_24h = store::bounded(store::message_sends::count_sent(
        &state.db,
        "sms",
        store::message_sends::Scope::All,
        since,
    ))
    .await?;
    series(
        out,
        "nyckel_sms_sent_24h",
        "gauge",
        "SMS sent in the last 24 hours (all nodes).",
        &[(String::new(), sent_24h.max(0) as u64)],
    );
    let depth = store::bounded(store::outbox::depth(
        &state.db,
        crate::mail::delivery::MAX_ATTEMPTS,
    ))
    .await?;
    let mut samples: Vec<(String, u64)> = [
        "email",
        crate::oidc::backchannel::CHANNEL,
        "request",
        "sms",
        crate::webhooks::deliver::CHANNEL,
    ]
    .iter()
    .map(|ch| {
        let n = depth.iter().find(|(c, _)| c == ch).map_or(0, |(_, n)| *n);
        (format!(r#"{{channel="{ch}"}}"#), n.max(0) as u64)
    })
    .collect();
    samples.sort();
    series(
        out,
        "nyckel_outbox_depth",
        "gauge",
        "Messages, key requests, logout tokens and webhook messages waiting in the outbox (all nodes).",
        &samples,
    );
    backup::render_into(out, state).await
}
