//! One account per person and the consent rule: a platform provisioning an email that has
//! an account elsewhere learns nothing of it (the answer is the one for an unknown email), the
//! person is invited by mail and becomes a member only by accepting; accepting links the
//! record, with the roles the platform gives by then; suspension, reactivation and deletion
//! move the membership and never the account; a record for a present member links at once.

use serde_json::{Value, json};

use super::scim_of;
use crate::helpers::Browser;
use crate::helpers::admin::World;

fn user(user_name: &str, external_id: &str, roles: &[&str]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": external_id,
        "name": { "givenName": "Given", "familyName": "Family" },
        "emails": [{ "value": user_name, "type": "work", "primary": true }],
        "active": true,
        "roles": roles.iter().map(|r| json!({ "value": r })).collect::<Vec<_>>(),
    })
}

/// The parts of a User answer that do not name the record (id, meta, userName, emails,
/// externalId): equal for any two records provisioned alike.
fn shape(v: &Value) -> Value {
    let mut v = v.clone();
    for k in ["id", "meta", "userName", "emails", "externalId"] {
        v.as_object_mut().map(|o| o.remove(k));
    }
    v
}

async fn orgs_of(world: &World, user_id: &str) -> Vec<(String, Vec<String>)> {
    nyckel::store::orgs::memberships_of(&world.app.state.db, user_id)
        .await
        .expect("memberships")
        .into_iter()
        .map(|m| (m.slug, m.roles))
        .collect()
}

/// Accepts the newest invitation mailed to `email` in a browser (an existing account only
/// confirms).
async fn accept_mailed(world: &World, email: &str) {
    let mails = world.app.mails_to(email).await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.text.contains("/invite/"))
        .unwrap_or_else(|| panic!("no invitation mailed to {email}"));
    let link = mail.link("/invite/");
    let path = &link[world.app.issuer.len()..];
    let browser = Browser::new(&world.app);
    let page = browser.get(path).await;
    page.assert_says(200, "You already have an account");
    browser
        .submit(&page, path, &[])
        .await
        .assert_says(200, "You are now a member of Club A");
}

#[tokio::test]
async fn a_person_of_another_organisation_is_invited_and_nothing_about_them_is_revealed() {
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    // member.b has an account (a member of B only); nobody has the other address.
    let known = scim
        .post("/Users", &user(&world.member_b.email, "M-1", &["member"]))
        .await;
    let unknown = scim
        .post("/Users", &user("nobody@example.org", "M-2", &["member"]))
        .await;
    assert_eq!(
        (known.status.as_u16(), unknown.status.as_u16()),
        (201, 201),
        "{known:?}"
    );
    assert_eq!(
        shape(&known.body),
        shape(&unknown.body),
        "the answers differ only by name"
    );
    assert_eq!(
        known.body["name"],
        json!({ "givenName": "Given", "familyName": "Family" })
    );
    assert!(known.headers.get("location").is_some());
    // Not a member of A until they accept; B is as it was.
    assert_eq!(
        orgs_of(&world, &world.member_b.id).await,
        vec![("club-b".to_string(), vec!["member".to_string()])]
    );
    let invited = world.app.mails_to(&world.member_b.email).await;
    assert_eq!(invited.len(), 1, "one invitation mail");
    assert!(invited[0].text.contains("Club A"));
    assert_eq!(world.app.mails_to("nobody@example.org").await.len(), 1);
    // B's endpoint sees nothing of A's records.
    let b = scim_of(&world, "club-b").await;
    assert_eq!(b.get("/Users").await.body["totalResults"], 0);
    let by_name = b
        .get(&format!(
            "/Users?filter=userName%20eq%20%22{}%22",
            world.member_b.email
        ))
        .await;
    assert_eq!(by_name.body["totalResults"], 0);

    // The platform makes them a coach before they accept; accepting gives the record's roles.
    let id = known.id();
    let patched = scim
        .patch(
            &format!("/Users/{id}"),
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "roles", "value": [{ "value": "coach" }] }],
            }),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    accept_mailed(&world, &world.member_b.email).await;
    let mut orgs = orgs_of(&world, &world.member_b.id).await;
    orgs.sort();
    assert_eq!(
        orgs,
        vec![
            ("club-a".to_string(), vec!["coach".to_string()]),
            ("club-b".to_string(), vec!["member".to_string()]),
        ]
    );
    // The record reads as the platform wrote it (the account's name is not disclosed).
    let read = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body["name"]["givenName"], "Given");
    assert_eq!(read.body["groups"][0]["value"], "coach");

    // Suspension ends the membership, reactivation brings it back, deletion ends it and
    // leaves the account and its other membership alone.
    let suspend = |active: bool| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Replace", "value": { "active": if active { "True" } else { "False" } } }],
        })
    };
    let off = scim.patch(&format!("/Users/{id}"), &suspend(false)).await;
    assert_eq!(
        (off.status.as_u16(), off.body["active"].clone()),
        (200, json!(false))
    );
    assert_eq!(orgs_of(&world, &world.member_b.id).await.len(), 1);
    let on = scim.patch(&format!("/Users/{id}"), &suspend(true)).await;
    assert_eq!(on.status, 200);
    assert_eq!(orgs_of(&world, &world.member_b.id).await.len(), 2);
    assert_eq!(scim.delete(&format!("/Users/{id}")).await.status, 204);
    assert_eq!(scim.get(&format!("/Users/{id}")).await.status, 404);
    assert_eq!(
        orgs_of(&world, &world.member_b.id).await,
        vec![("club-b".to_string(), vec!["member".to_string()])]
    );
    assert!(
        nyckel::store::users::find(&world.app.state.db, &world.member_b.id)
            .await
            .expect("db")
            .is_some(),
        "the account stays"
    );
    // Every step reached the person by mail (joined, suspended, back, removed).
    let told = world.app.mails_to(&world.member_b.email).await;
    assert!(told.len() >= 4, "{} mails", told.len());
}

#[tokio::test]
async fn a_present_member_is_linked_at_once_and_the_last_admin_rule_holds() {
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    let before = world.app.mails_to(&world.member_a.email).await.len();
    let linked = scim
        .post(
            "/Users",
            &user(&world.member_a.email, "M-7", &["member", "coach"]),
        )
        .await;
    assert_eq!(linked.status, 201, "{:?}", linked.body);
    let mut orgs = orgs_of(&world, &world.member_a.id).await;
    orgs.iter_mut().for_each(|(_, r)| r.sort());
    assert_eq!(
        orgs,
        vec![(
            "club-a".to_string(),
            vec!["coach".to_string(), "member".to_string()]
        )]
    );
    let after = world.app.mails_to(&world.member_a.email).await;
    assert!(
        !after
            .iter()
            .skip(before)
            .any(|m| m.text.contains("/invite/")),
        "no invitation for a present member"
    );
    // A second record for the same member is refused.
    let twice = scim
        .post(
            "/Users",
            &user(&world.member_a.email.to_uppercase(), "M-8", &[]),
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["scimType"], "uniqueness");

    // Club A's only admin, provisioned and then stripped of admin: refused, nothing changes.
    let admin = scim
        .post("/Users", &user(&world.admin_a.email, "M-9", &["admin"]))
        .await;
    assert_eq!(admin.status, 201);
    let strip = scim
        .put(
            &format!("/Users/{}", admin.id()),
            &user(&world.admin_a.email, "M-9", &["member"]),
        )
        .await;
    assert_eq!(strip.status, 409, "{:?}", strip.body);
    assert_eq!(
        strip.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let gone = scim.delete(&format!("/Users/{}", admin.id())).await;
    assert_eq!(gone.status, 409);
    assert_eq!(
        orgs_of(&world, &world.admin_a.id).await,
        vec![("club-a".to_string(), vec!["admin".to_string()])]
    );
    // An admin removing the member outside SCIM ends the record too.
    let api = world.api(&world.admin_a).await;
    let removed = api
        .delete(&format!("/orgs/club-a/members/{}", world.member_a.id))
        .await;
    assert_eq!(removed.status, 204, "{removed:?}");
    assert_eq!(
        scim.get(&format!("/Users/{}", linked.id())).await.status,
        404
    );
}

/// A record without any email waits uninvited and is invited once an address arrives.
#[tokio::test]
async fn a_record_without_an_email_waits_for_one() {
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    let bare = scim
        .post("/Users", &json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "member-4711" }))
        .await;
    assert_eq!(bare.status, 201, "{:?}", bare.body);
    let added = scim
        .patch(
            &format!("/Users/{}", bare.id()),
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "add", "path": "emails", "value": [{ "value": "late@example.org", "primary": true }] }],
            }),
        )
        .await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(world.app.mails_to("late@example.org").await.len(), 1);
    let bad = scim
        .post(
            "/Users",
            &json!({ "userName": "x", "emails": [{ "value": "not an address" }] }),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.body["scimType"].clone()),
        (400, json!("invalidValue"))
    );
}

/// What SCIM does to memberships reaches the organisation's webhooks like an admin's change.
#[tokio::test]
async fn scim_changes_are_announced_to_webhooks() {
    let world = World::new().await;
    nyckel::admin::webhooks::create(
        &world.app.state,
        &nyckel::admin::Caller::operator(),
        Some("club-a"),
        nyckel::admin::webhooks::NewEndpoint {
            url: "http://127.0.0.1:9/hook".into(),
            description: String::new(),
            events: Vec::new(),
            enabled: true,
        },
    )
    .await
    .expect("endpoint");
    let scim = scim_of(&world, "club-a").await;
    let linked = scim
        .post("/Users", &user(&world.member_a.email, "W-1", &["coach"]))
        .await;
    assert_eq!(linked.status, 201);
    let path = format!("/Users/{}", linked.id());
    let active = |on: bool| {
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "active", "value": on }] })
    };
    assert_eq!(scim.patch(&path, &active(false)).await.status, 200);
    assert_eq!(scim.patch(&path, &active(true)).await.status, 200);
    let types: Vec<(String,)> =
        sqlx::query_as("select event_type from webhook_messages order by ordinal")
            .fetch_all(world.app.state.db.pool())
            .await
            .expect("messages");
    let types: Vec<String> = types.into_iter().map(|(t,)| t).collect();
    assert_eq!(
        types,
        ["member.roles_changed", "member.removed", "member.added"],
        "linking added coach, suspension removed, reactivation added"
    );
}
