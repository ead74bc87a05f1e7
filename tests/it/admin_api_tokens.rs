//! What admin API changes do to tokens (issue 3, done-when 2): a role change shows in the
//! member's next refreshed access token; a removed member's refresh for that organisation
//! fails at once while their other organisation's grant keeps working. And service clients:
//! a `client_credentials` token of organisation A manages A and finds nothing of B.

use serde_json::json;

use crate::helpers::admin::World;
use crate::helpers::api::Api;
use crate::helpers::token::{Auth, CodeSpec, decode, issue_code, redeem, refresh};

/// Logs `user` in to the console client for `org` (a grant with an active organisation);
/// returns `(access_token, refresh_token)`.
async fn login_for(w: &World, user: &str, org: &str) -> (String, String) {
    let (id, secret) = &w.console;
    let mut spec = CodeSpec::new(id, user);
    spec.scope = "openid orgs";
    spec.organisation_id = Some(org);
    let (code, _) = issue_code(&w.app, spec).await;
    let answer = redeem(&w.app, Auth::Basic(id, secret), &code, None).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    (
        answer.str("access_token").to_string(),
        answer.str("refresh_token").to_string(),
    )
}

#[tokio::test]
async fn role_changes_show_in_the_next_refresh_and_removal_stops_it() {
    let w = World::new().await;
    let (id, secret) = &w.console;
    let a = w.api(&w.admin_a).await;
    let (access, refresh_a) = login_for(&w, &w.both.id, &w.org_a).await;
    let (_, refresh_b) = login_for(&w, &w.both.id, &w.org_b).await;
    let (_, claims) = decode(&access);
    assert_eq!(claims["org_id"], w.org_a.as_str());
    assert_eq!(claims["org_roles"], json!(["coach"]));

    // The admin of A adds a role; the next refresh carries it.
    let r = a
        .set_roles("club-a", &w.both.id, &["coach", "member"])
        .await;
    r.expect(200);
    assert_eq!(r.json["roles"], json!(["coach", "member"]));
    let refreshed = refresh(&w.app, Auth::Basic(id, secret), &refresh_a).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    let (_, claims) = decode(refreshed.str("access_token"));
    assert_eq!(claims["org_id"], w.org_a.as_str());
    assert_eq!(claims["org_roles"], json!(["coach", "member"]));
    let refresh_a = refreshed.str("refresh_token").to_string();

    // Removed from A: the refresh for A fails at once; the grant for B still works.
    a.delete(&format!("/orgs/club-a/members/{}", w.both.id))
        .await
        .expect(204);
    let refused = refresh(&w.app, Auth::Basic(id, secret), &refresh_a).await;
    assert_eq!(refused.status, 400, "{}", refused.json);
    assert_eq!(refused.error(), "invalid_grant");
    let still = refresh(&w.app, Auth::Basic(id, secret), &refresh_b).await;
    assert_eq!(still.status, 200, "{}", still.json);
    let (_, claims) = decode(still.str("access_token"));
    assert_eq!(claims["org_id"], w.org_b.as_str());
    assert_eq!(claims["org_roles"], json!(["member"]));
}

#[tokio::test]
async fn a_role_taken_away_counts_at_once_for_the_api_itself() {
    let w = World::new().await;
    // A second admin of A, then demoted by the first: their (still valid) token no longer
    // carries any authority in A.
    let sup = w.api(&w.superadmin).await;
    sup.set_roles("club-a", &w.member_a.id, &["admin"])
        .await
        .expect(200);
    let second = w.api(&w.member_a).await;
    second.get("/orgs/club-a/members").await.expect(200);
    let a = w.api(&w.admin_a).await;
    a.set_roles("club-a", &w.member_a.id, &["member"])
        .await
        .expect(200);
    second.get("/orgs/club-a/members").await.expect(403);
    // And the organisation's last admin cannot be removed by an org admin.
    let r = a
        .delete(&format!("/orgs/club-a/members/{}", w.admin_a.id))
        .await;
    r.expect(409);
    assert_eq!(r.code(), "conflict");
}

#[tokio::test]
async fn a_service_token_manages_its_organisation_only() {
    let w = World::new().await;
    let (token, client_id) = w.service_token("club-a").await;
    let s = Api::new(&w.app, Some(&token));

    let (orgs, _) = s.walk("/orgs", 10).await;
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["id"], w.org_a.as_str());
    s.get("/orgs/club-a/members").await.expect(200);
    let r = s.invite("club-a", "new@example.org", &["member"]).await;
    r.expect(201);
    assert_eq!(r.json["invited_by"], format!("client:{client_id}"));
    s.set_roles("club-a", &w.member_a.id, &["coach", "member"])
        .await
        .expect(200);
    let r = s.get("/orgs/club-a/audit?kind=admin.roles_changed").await;
    assert_eq!(
        r.json["items"][0]["actor_id"],
        format!("client:{client_id}")
    );
    assert_eq!(r.json["items"][0]["client_id"], client_id.as_str());

    let before = w.snapshot().await;
    for r in [
        s.get("/orgs/club-b").await,
        s.get("/orgs/club-b/members").await,
        s.get(&format!("/orgs/club-b/members/{}", w.member_b.id))
            .await,
        s.set_roles("club-b", &w.member_b.id, &["admin"]).await,
        s.invite("club-b", "new@example.org", &["member"]).await,
        s.get(&format!("/clients/{}", w.console.0)).await,
    ] {
        assert_eq!(r.status, 404, "{}", r.text);
    }
    // Installation actions are not a service client's.
    for r in [
        s.get("/audit").await,
        s.get("/clients").await,
        s.post("/orgs", &json!({ "name": "Club C" })).await,
    ] {
        assert_eq!(r.status, 403, "{}", r.text);
    }
    assert_eq!(w.snapshot().await, before);

    // Deleting the service client ends its token's authority at once.
    let sup = w.api(&w.superadmin).await;
    sup.delete(&format!("/clients/{client_id}"))
        .await
        .expect(204);
    s.get("/orgs/club-a/members").await.expect(401);
}
