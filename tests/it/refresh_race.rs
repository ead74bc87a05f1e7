//! Concurrent refreshes (SECURITY.md R10, 15.4.2): the same refresh token presented many
//! times at once succeeds exactly once and the reuse revokes the family; many families
//! rotating at once (committed in batches) all succeed.

use crate::helpers::TestApp;
use crate::helpers::token::{Auth, CodeSpec, confidential_client, issue_code, redeem, refresh};

async fn first_refresh_token(app: &TestApp, id: &str, secret: &str, user: &str) -> String {
    let (code, _) = issue_code(app, CodeSpec::new(id, user)).await;
    let answer = redeem(app, Auth::Basic(id, secret), &code, None).await;
    answer.str("refresh_token").to_string()
}

#[tokio::test]
async fn one_token_presented_concurrently_succeeds_once_and_kills_the_family() {
    let app = TestApp::spawn().await;
    let user = app.create_user("race@example.org").await;
    let (id, secret) = confidential_client(&app, &["authorization_code", "refresh_token"]).await;
    let token = first_refresh_token(&app, &id, &secret, &user).await;
    let attempts = (0..12).map(|_| refresh(&app, Auth::Basic(&id, &secret), &token));
    let answers = futures_join_all(attempts).await;
    let winners: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one concurrent use succeeds");
    assert!(
        answers
            .iter()
            .filter(|a| a.status != 200)
            .all(|a| a.error() == "invalid_grant")
    );
    // The others were reuse: the winner's successor is dead too.
    let successor = winners[0].str("refresh_token").to_string();
    let res = refresh(&app, Auth::Basic(&id, &secret), &successor).await;
    res.expect_error(400, "invalid_grant");
}

#[tokio::test]
async fn many_families_rotating_at_once_all_succeed() {
    let app = TestApp::spawn().await;
    let user = app.create_user("many@example.org").await;
    let (id, secret) = confidential_client(&app, &["authorization_code", "refresh_token"]).await;
    let mut tokens = Vec::new();
    for _ in 0..20 {
        tokens.push(first_refresh_token(&app, &id, &secret, &user).await);
    }
    for _round in 0..3 {
        let answers = futures_join_all(
            tokens
                .iter()
                .map(|t| refresh(&app, Auth::Basic(&id, &secret), t)),
        )
        .await;
        assert!(
            answers.iter().all(|a| a.status == 200),
            "every family rotates"
        );
        tokens = answers
            .iter()
            .map(|a| a.str("refresh_token").to_string())
            .collect();
    }
}

/// Runs futures concurrently on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}
