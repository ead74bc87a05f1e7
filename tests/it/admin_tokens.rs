//! What administration does to tokens, seen through /token, /userinfo, /authorize and
//! discovery (issue 3, done-when point 2): role changes show in the next refreshed token, a
//! removed member's refresh for that organisation fails while their other organisation's
//! grant lives on, clients see only their visible roles, and the `admin` scope goes only to
//! clients registered for the admin API.

use nyckel::admin::clients::CreateClient;
use nyckel::admin::{Caller, Principal};
use serde_json::{Value, json};

use crate::helpers::REDIRECT_URI;
use crate::helpers::admin::{Person, World};
use crate::helpers::api::Reply;
use crate::helpers::authorize::{auth_url, client_redirect};
use crate::helpers::browser::Browser;
use crate::helpers::token::{
    Auth, CodeSpec, confidential_client, decode, issue_code, redeem, refresh, token, userinfo,
    verify_with_jwks,
};

/// An admin-use-case caller acting as `who`, with their authority as it is now.
async fn caller(w: &World, who: &Person) -> Caller {
    Caller {
        principal: Principal::person(&w.app.state.db, &who.id)
            .await
            .expect("principal"),
        ip: Some("192.0.2.7".into()),
    }
}

/// A code exchange for `who` with the active organisation `org`, scope `openid orgs`.
async fn sign_in(w: &World, (id, secret): (&str, &str), who: &Person, org: &str) -> Reply {
    let spec = CodeSpec {
        scope: "openid orgs",
        organisation_id: Some(org),
        ..CodeSpec::new(id, &who.id)
    };
    let (code, _) = issue_code(&w.app, spec).await;
    let answer = redeem(&w.app, Auth::Basic(id, secret), &code, None).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer
}

/// Org A's admin sets the roles in A of the person in both organisations (`w.both`).
async fn roles_in_a(w: &World, roles: &[&str]) {
    let admin_a = caller(w, &w.admin_a).await;
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    nyckel::admin::members::set_roles(&w.app.state, &admin_a, "club-a", &w.both.id, &roles)
        .await
        .expect("roles set");
}

/// The client uses the refresh token of `answer`; the refresh must succeed.
async fn refresh_ok(w: &World, (id, secret): (&str, &str), answer: &Reply) -> Reply {
    let res = refresh(&w.app, Auth::Basic(id, secret), answer.str("refresh_token")).await;
    assert_eq!(res.status, 200, "{}", res.json);
    res
}

/// The verified claims of the access token in a token response.
async fn access_claims(w: &World, answer: &Reply) -> Value {
    verify_with_jwks(&w.app, answer.str("access_token")).await.1
}

#[tokio::test]
async fn a_role_change_shows_in_the_next_refreshed_token_and_in_userinfo() {
    let w = World::new().await;
    let (id, secret) = confidential_client(&w.app, &["authorization_code", "refresh_token"]).await;
    let first = sign_in(&w, (&id, &secret), &w.both, &w.org_a).await;
    let claims = access_claims(&w, &first).await;
    assert_eq!(claims["org_id"], w.org_a.as_str());
    assert_eq!(claims["org_roles"], json!(["coach"]));

    // Org A's admin gives them `member` as well.
    roles_in_a(&w, &["member", "coach"]).await;
    let refreshed = refresh_ok(&w, (&id, &secret), &first).await;
    let claims = access_claims(&w, &refreshed).await;
    assert_eq!(claims["org_id"], w.org_a.as_str());
    assert_eq!(claims["org_roles"], json!(["coach", "member"]));
    let info = userinfo(&w.app, refreshed.str("access_token")).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.json["org_roles"], json!(["coach", "member"]));
    assert_eq!(
        info.json["orgs"][&w.org_a]["roles"],
        json!(["coach", "member"])
    );
    assert_eq!(info.json["orgs"][&w.org_b]["roles"], json!(["member"]));

    // Taking a role away shows the same way; other organisations are untouched.
    roles_in_a(&w, &["member"]).await;
    let again = refresh_ok(&w, (&id, &secret), &refreshed).await;
    assert_eq!(
        access_claims(&w, &again).await["org_roles"],
        json!(["member"])
    );
    let info = userinfo(&w.app, again.str("access_token")).await;
    assert_eq!(info.json["org_roles"], json!(["member"]));
    assert_eq!(info.json["orgs"][&w.org_b]["roles"], json!(["member"]));
}

#[tokio::test]
async fn a_removed_member_cannot_refresh_for_that_organisation_but_can_for_another() {
    let w = World::new().await;
    let (id, secret) = confidential_client(&w.app, &["authorization_code", "refresh_token"]).await;
    let in_a = sign_in(&w, (&id, &secret), &w.both, &w.org_a).await;
    let in_b = sign_in(&w, (&id, &secret), &w.both, &w.org_b).await;

    let admin_a = caller(&w, &w.admin_a).await;
    nyckel::admin::members::remove(&w.app.state, &admin_a, "club-a", &w.both.id)
        .await
        .expect("removed");

    let refused = refresh(&w.app, Auth::Basic(&id, &secret), in_a.str("refresh_token")).await;
    refused.expect_error(400, "invalid_grant");
    assert!(refused.json.get("access_token").is_none());

    let fine = refresh(&w.app, Auth::Basic(&id, &secret), in_b.str("refresh_token")).await;
    assert_eq!(fine.status, 200, "{}", fine.json);
    let claims = access_claims(&w, &fine).await;
    assert_eq!(claims["org_id"], w.org_b.as_str());
    assert_eq!(claims["org_roles"], json!(["member"]));
    let info = userinfo(&w.app, fine.str("access_token")).await;
    assert!(
        info.json["orgs"].get(&w.org_a).is_none(),
        "organisation A is gone from the orgs claim: {}",
        info.json
    );

    // Another admin of B cannot remove them from A (A does not exist for them), and the
    // refresh in B keeps working.
    let admin_b = caller(&w, &w.admin_b).await;
    let err = nyckel::admin::members::remove(&w.app.state, &admin_b, "club-a", &w.member_a.id)
        .await
        .expect_err("not B's member");
    assert_eq!(err.code(), "not_found");
    let still = refresh(&w.app, Auth::Basic(&id, &secret), fine.str("refresh_token")).await;
    assert_eq!(still.status, 200, "{}", still.json);
}

#[tokio::test]
async fn a_client_with_visible_roles_sees_only_those_roles() {
    let w = World::new().await;
    roles_in_a(&w, &["coach", "member"]).await;
    let (id, secret) = w
        .app
        .create_client(CreateClient {
            name: "Coaching app".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            visible_roles: Some(vec!["coach".into()]),
            ..Default::default()
        })
        .await;
    let secret = secret.expect("secret");
    let answer = sign_in(&w, (&id, &secret), &w.both, &w.org_a).await;

    let at = access_claims(&w, &answer).await;
    assert_eq!(at["org_roles"], json!(["coach"]));
    let (_, id_token) = decode(answer.str("id_token"));
    assert_eq!(id_token["org_roles"], json!(["coach"]));
    assert_eq!(id_token["orgs"][&w.org_a]["roles"], json!(["coach"]));
    assert_eq!(
        id_token["orgs"][&w.org_b]["roles"],
        json!([]),
        "their `member` role in B is not for this client"
    );
    let info = userinfo(&w.app, answer.str("access_token")).await;
    assert_eq!(info.json["org_roles"], json!(["coach"]));
    assert_eq!(info.json["orgs"][&w.org_a]["roles"], json!(["coach"]));
    assert_eq!(info.json["orgs"][&w.org_b]["roles"], json!([]));

    // After a refresh too.
    let refreshed = refresh_ok(&w, (&id, &secret), &answer).await;
    assert_eq!(
        access_claims(&w, &refreshed).await["org_roles"],
        json!(["coach"])
    );

    // A client without the restriction sees everything.
    let (all_id, all_secret) =
        confidential_client(&w.app, &["authorization_code", "refresh_token"]).await;
    let answer = sign_in(&w, (&all_id, &all_secret), &w.both, &w.org_a).await;
    assert_eq!(
        access_claims(&w, &answer).await["org_roles"],
        json!(["coach", "member"])
    );
}

/// A `client_credentials` request for `scope=admin`; returns the granted scope.
async fn service_scope(w: &World, id: &str, secret: &str) -> String {
    let answer = token(
        &w.app,
        Auth::Basic(id, secret),
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let (_, claims) = decode(answer.str("access_token"));
    assert_eq!(
        claims["scope"].as_str().unwrap_or(""),
        answer.str("scope"),
        "the token carries what the response says"
    );
    answer.str("scope").to_string()
}

#[tokio::test]
async fn client_credentials_get_the_admin_scope_only_with_admin_api_and_an_owner() {
    let w = World::new().await;
    let service = |name: &str, owner: Option<&str>, admin_api: bool| CreateClient {
        name: name.into(),
        grant_types: vec!["client_credentials".into()],
        owner_organisation_id: owner.map(str::to_string),
        admin_api,
        ..Default::default()
    };
    let mut outcomes = Vec::new();
    for (name, owner, admin_api) in [
        ("owned admin service", Some(w.org_a.as_str()), true),
        ("installation admin service", None, true),
        ("owned plain service", Some(w.org_a.as_str()), false),
        ("plain service", None, false),
    ] {
        let (id, secret) = w.app.create_client(service(name, owner, admin_api)).await;
        let granted = service_scope(&w, &id, &secret.expect("secret")).await;
        outcomes.push((name, granted));
    }
    assert_eq!(
        outcomes,
        [
            ("owned admin service", "admin".to_string()),
            ("installation admin service", String::new()),
            ("owned plain service", String::new()),
            ("plain service", String::new()),
        ]
    );

    // And the admin token acts for its organisation only.
    let (token, _) = w.service_token("club-a").await;
    let p = nyckel::admin::principal::from_access_token(&w.app.state, &token)
        .await
        .expect("validated")
        .expect("accepted");
    assert!(
        matches!(p, Principal::Service { ref organisation_id, .. } if *organisation_id == w.org_a)
    );
}

#[tokio::test]
async fn authorize_drops_the_admin_scope_for_clients_not_registered_for_it() {
    let w = World::new().await;
    let app = &w.app;
    let make = |name: &str, admin_api: bool| CreateClient {
        name: name.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        first_party: true,
        admin_api,
        ..Default::default()
    };
    let (plain, plain_secret) = app.create_client(make("Plain app", false)).await;
    let (console, console_secret) = app.create_client(make("Console", true)).await;
    let (b, _) = Browser::signed_in(app, &w.admin_a.id).await;

    let mut granted = Vec::new();
    for (id, secret) in [(&plain, plain_secret), (&console, console_secret)] {
        let page = b
            .get(&auth_url(app, id, &[("scope", "openid admin")]))
            .await;
        let q = client_redirect(&page);
        let answer = redeem(
            app,
            Auth::Basic(id, &secret.expect("secret")),
            &q["code"],
            Some(crate::helpers::authorize::VERIFIER),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        let (_, at) = decode(answer.str("access_token"));
        assert_eq!(at["scope"], answer.json["scope"]);
        let p = nyckel::admin::principal::from_access_token(&app.state, answer.str("access_token"))
            .await
            .expect("validated")
            .ok();
        granted.push((
            answer.str("scope").to_string(),
            p.as_ref().and_then(|p| p.user_id()).map(str::to_string),
        ));
    }
    assert_eq!(
        granted,
        [
            ("openid".to_string(), None),
            ("openid admin".to_string(), Some(w.admin_a.id.clone())),
        ],
        "only the console's token is an admin token"
    );

    // Asking for nothing but `admin` at a plain client is asking for nothing supported.
    let page = b.get(&auth_url(app, &plain, &[("scope", "admin")])).await;
    assert_eq!(client_redirect(&page)["error"], "invalid_scope");
}

#[tokio::test]
async fn discovery_lists_the_admin_scope() {
    let app = crate::helpers::TestApp::spawn().await;
    let doc: Value = app.get_json("/.well-known/openid-configuration").await;
    let scopes: Vec<&str> = doc["scopes_supported"]
        .as_array()
        .expect("scopes_supported")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(scopes.contains(&"admin"), "{scopes:?}");
    assert!(scopes.contains(&"orgs"), "{scopes:?}");
}
