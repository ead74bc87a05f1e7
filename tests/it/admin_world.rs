//! The admin test world builds, and each of its ways of acting works.

use nyckel::admin::{Caller, Principal};
use nyckel::orgs::permissions::Standing;

use crate::helpers::admin::World;

#[tokio::test]
async fn the_world_and_its_principals() {
    let w = World::new().await;
    let state = &w.app.state;
    let token = w.token(&w.admin_a).await;
    let p = nyckel::admin::principal::from_access_token(state, &token)
        .await
        .expect("validated")
        .expect("accepted");
    assert_eq!(p.standing(&w.org_a), Standing::Admin);
    assert_eq!(p.standing(&w.org_b), Standing::Outsider);
    let (service, _) = w.service_token("club-b").await;
    let p = nyckel::admin::principal::from_access_token(state, &service)
        .await
        .expect("validated")
        .expect("accepted");
    assert!(matches!(p, Principal::Service { .. }));
    assert_eq!(p.standing(&w.org_b), Standing::Admin);
    assert_eq!(p.standing(&w.org_a), Standing::Outsider);
    let sup = nyckel::admin::principal::from_access_token(state, &w.token(&w.superadmin).await)
        .await
        .expect("validated")
        .expect("accepted");
    assert!(sup.is_superadmin());
    let both = Principal::person(&state.db, &w.both.id).await.expect("db");
    assert_eq!(both.standing(&w.org_a), Standing::Member);
    let snapshot = w.snapshot().await;
    assert_eq!(snapshot["memberships"].as_array().expect("rows").len(), 6);
    let _ = w.browser(&w.member_a).await;
    let page = nyckel::admin::members::list(
        state,
        &Caller {
            principal: Principal::person(&state.db, &w.admin_a.id)
                .await
                .expect("db"),
            ip: None,
        },
        "club-a",
        Some("MEMBER"),
        None,
        None,
    )
    .await
    .expect("listed");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].email, "member.a@example.org");
}
