//! Groups as roles (members patched in the Entra and Okta shapes move the members' roles),
//! versions (`ETag`, `If-Match` 412, `If-None-Match` 304), `/Bulk` with `bulkId`
//! references and `failOnErrors`, filters (`eq`, `co`, `sw`, `and`, `or` on userName, emails
//! and externalId) with paging, and SCIM error bodies for malformed requests.

use serde_json::{Value, json};

use super::{Scim, scim_of};
use crate::helpers::admin::World;

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": external_id,
        "emails": [{ "value": user_name, "primary": true }],
    })
}

async fn roles_of(world: &World, user_id: &str) -> Vec<String> {
    let mut roles = nyckel::store::orgs::memberships_of(&world.app.state.db, user_id)
        .await
        .expect("db")
        .into_iter()
        .find(|m| m.slug == "club-a")
        .map(|m| m.roles)
        .unwrap_or_default();
    roles.sort();
    roles
}

async fn ids(scim: &Scim, query: &str) -> (u64, Vec<String>) {
    let r = scim.get(&format!("/Users?{query}")).await;
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    let list: Vec<String> = r.body["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["userName"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (r.body["totalResults"].as_u64().unwrap_or(u64::MAX), list)
}

#[tokio::test]
async fn groups_are_roles_and_their_members_are_the_users_holding_them() {
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    let member = scim.post("/Users", &user(&world.member_a.email, "1")).await;
    let both = scim.post("/Users", &user(&world.both.email, "2")).await;
    assert_eq!((member.status.as_u16(), both.status.as_u16()), (201, 201));
    // Entra ID: a new group by display name, then members added by value.
    let board = scim
        .post(
            "/Groups",
            &json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Board Members", "externalId": "g-1" }),
        )
        .await;
    assert_eq!(board.status, 201, "{:?}", board.body);
    assert_eq!(board.id(), "board-members");
    let add = json!({ "schemas": [PATCH], "Operations": [
        { "op": "Add", "path": "members", "value": [{ "value": member.id() }, { "value": both.id() }] }
    ]});
    assert_eq!(scim.patch("/Groups/board-members", &add).await.status, 200);
    assert_eq!(
        roles_of(&world, &world.member_a.id).await,
        ["board-members", "member"]
    );
    assert_eq!(
        roles_of(&world, &world.both.id).await,
        ["board-members", "coach"]
    );
    // Okta: remove one member by a value filter.
    let remove = json!({ "schemas": [PATCH], "Operations": [
        { "op": "remove", "path": format!("members[value eq \"{}\"]", both.id()) }
    ]});
    let after = scim.patch("/Groups/board-members", &remove).await;
    assert_eq!(after.body["members"].as_array().map(Vec::len), Some(1));
    assert_eq!(roles_of(&world, &world.both.id).await, ["coach"]);
    // The role exists for the admin API too, and the group lists with its display name.
    let listed = scim
        .get("/Groups?filter=displayName%20eq%20%22Board%20Members%22&excludedAttributes=members")
        .await;
    assert_eq!(listed.body["totalResults"], 1);
    assert!(listed.body["Resources"][0].get("members").is_none());
    // An unknown member, or another organisation's User, changes nothing.
    let b = scim_of(&world, "club-b").await;
    let theirs = b.post("/Users", &user("b-only@example.org", "9")).await;
    let foreign = json!({ "schemas": [PATCH], "Operations": [
        { "op": "add", "path": "members", "value": [{ "value": theirs.id() }] }
    ]});
    let refused = scim.patch("/Groups/board-members", &foreign).await;
    assert_eq!(
        (refused.status.as_u16(), refused.body["scimType"].clone()),
        (400, json!("invalidValue"))
    );
    // The built-in admin role cannot be deleted; another group can, and takes the role away.
    assert_eq!(
        scim.delete("/Groups/admin").await.body["scimType"],
        "mutability"
    );
    assert_eq!(scim.delete("/Groups/board-members").await.status, 204);
    assert_eq!(roles_of(&world, &world.member_a.id).await, ["member"]);
    assert_eq!(scim.get("/Groups/board-members").await.status, 404);
}

#[tokio::test]
async fn versions_guard_writes() {
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    let made = scim.post("/Users", &user("v@example.org", "v")).await;
    let path = format!("/Users/{}", made.id());
    let etag = made.etag();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(made.body["meta"]["version"], etag.as_str());
    let mut changed = user("v@example.org", "v");
    changed["displayName"] = json!("V");
    let ok = scim
        .send(reqwest::Method::PUT, &path, Some(&changed), Some(&etag))
        .await;
    assert_eq!(ok.status, 200);
    assert_ne!(ok.etag(), etag);
    let stale = scim
        .send(
            reqwest::Method::PUT,
            &path,
            Some(&user("v@example.org", "w")),
            Some(&etag),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(
        scim.get(&path).await.body["externalId"],
        "v",
        "nothing changed"
    );
    let stale_delete = scim
        .send(reqwest::Method::DELETE, &path, None, Some(&etag))
        .await;
    assert_eq!(stale_delete.status, 412);
    let unchanged = world
        .app
        .http()
        .get(format!("{}{path}", scim.base))
        .bearer_auth(&scim.token)
        .header("if-none-match", ok.etag())
        .send()
        .await
        .expect("get");
    assert_eq!(unchanged.status(), 304);
}

#[tokio::test]
async fn bulk_runs_in_order_with_references_and_stops_at_the_error_limit() {
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            { "method": "POST", "path": "/Users", "bulkId": "u1", "data": user("bulk1@example.org", "b1") },
            { "method": "POST", "path": "/Groups", "bulkId": "g1", "data": {
                "displayName": "Stewards", "members": [{ "value": "bulkId:u1" }] } },
            { "method": "PATCH", "path": "/Users/bulkId:u1", "data": { "schemas": [PATCH],
                "Operations": [{ "op": "replace", "path": "displayName", "value": "B One" }] } },
            { "method": "POST", "path": "/Users", "bulkId": "dup", "data": user("bulk1@example.org", "b2") },
            { "method": "POST", "path": "/Users", "bulkId": "never", "data": user("bulk3@example.org", "b3") },
        ],
    });
    let r = scim.post("/Bulk", &bulk).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let ops = r.body["Operations"].as_array().cloned().unwrap_or_default();
    let statuses: Vec<&str> = ops
        .iter()
        .map(|o| o["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(statuses, ["201", "201", "200", "409"], "{ops:?}");
    assert_eq!(ops[3]["response"]["scimType"], "uniqueness");
    let group = scim.get("/Groups/stewards").await;
    let id = ops[0]["location"]
        .as_str()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(group.body["members"][0]["value"], id.as_str());
    assert_eq!(
        scim.get(&format!("/Users/{id}")).await.body["displayName"],
        "B One"
    );
    assert_eq!(
        ids(&scim, "filter=userName%20eq%20%22bulk3@example.org%22")
            .await
            .0,
        0
    );
    // Malformed: no BulkRequest schema.
    let bad = scim.post("/Bulk", &json!({ "Operations": [] })).await;
    assert_eq!(bad.body["scimType"], "invalidSyntax");
}

#[tokio::test]
async fn filters_and_paging_find_users() {
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    for (name, ext) in [
        ("anna@ifk.example", "100"),
        ("anders@ifk.example", "101"),
        ("bertil@other.example", "102"),
    ] {
        assert_eq!(scim.post("/Users", &user(name, ext)).await.status, 201);
    }
    let q = |f: &str| format!("filter={}", urlencode(f));
    assert_eq!(
        ids(&scim, &q(r#"userName eq "ANNA@ifk.example""#)).await.1,
        ["anna@ifk.example"]
    );
    assert_eq!(
        ids(&scim, &q(r#"externalId eq "102""#)).await.1,
        ["bertil@other.example"]
    );
    assert_eq!(ids(&scim, &q(r#"userName sw "an""#)).await.0, 2);
    assert_eq!(ids(&scim, &q(r#"emails.value co "other""#)).await.0, 1);
    assert_eq!(ids(&scim, &q(r#"emails co "ifk""#)).await.0, 2);
    assert_eq!(
        ids(&scim, &q(r#"userName sw "an" and externalId eq "101""#))
            .await
            .1,
        ["anders@ifk.example"]
    );
    assert_eq!(
        ids(&scim, &q(r#"externalId eq "100" or externalId eq "102""#))
            .await
            .0,
        2
    );
    let (total, all) = ids(&scim, "").await;
    let (_, page) = ids(&scim, "startIndex=2&count=1").await;
    assert_eq!((total, page), (3, vec![all[1].clone()]));
    let (_, rest) = ids(&scim, "startIndex=2&count=10").await;
    assert_eq!(rest, all[1..]);
    let r = scim.get("/Users?startIndex=2&count=1").await;
    assert_eq!(
        (r.body["startIndex"].clone(), r.body["itemsPerPage"].clone()),
        (json!(2), json!(1))
    );
    let bad = scim.get(&format!("/Users?{}", q(r#"userName eq"#))).await;
    assert_eq!(
        (bad.status.as_u16(), bad.body["scimType"].clone()),
        (400, json!("invalidFilter"))
    );
    assert_eq!(bad.body["status"], "400");
    let not_json = scim
        .send(reqwest::Method::POST, "/Users", Some(&json!("x")), None)
        .await;
    assert_eq!(not_json.body["scimType"], "invalidSyntax");
    let no_name = scim.post("/Users", &json!({ "displayName": "x" })).await;
    assert_eq!(no_name.body["scimType"], "invalidValue");
    // A password is never taken over SCIM (and never shown).
    let mut with_password = user("pw@example.org", "pw");
    with_password["password"] = json!("Hunter2-Hunter2");
    let made = scim.post("/Users", &with_password).await;
    assert_eq!(made.status, 201);
    assert!(!made.body.to_string().contains("Hunter2"));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
