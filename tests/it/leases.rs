//! Scheduled jobs run once across nodes: two nodes (two states on one database) asking for
//! the cleanup at the same moment run it once; after the lease the job runs again.

use nyckel::state::AppState;
use nyckel::upkeep::{PURGE_LEASE, purge_if_due};

use crate::helpers::TestApp;

#[tokio::test]
async fn the_cleanup_job_runs_once_across_two_nodes() {
    let app = TestApp::spawn().await;
    let other = AppState::build_with_clock(app.state.config.clone(), app.clock.clone())
        .await
        .expect("a second node");
    let (a, b) = tokio::join!(purge_if_due(&app.state), purge_if_due(&other));
    assert!(a ^ b, "exactly one node ran the cleanup (a: {a}, b: {b})");
    assert!(!purge_if_due(&app.state).await && !purge_if_due(&other).await);

    app.advance(PURGE_LEASE);
    let (a, b) = tokio::join!(purge_if_due(&app.state), purge_if_due(&other));
    assert!(a ^ b, "the next period runs once again (a: {a}, b: {b})");
    let (runs,): (Option<i64>,) =
        sqlx::query_as("select last_run_at from job_leases where name = 'purge_expired'")
            .fetch_one(app.state.db.pool())
            .await
            .expect("lease row");
    assert_eq!(runs, Some(app.state.now()));
}
