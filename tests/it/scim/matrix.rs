//! The trust boundary of SCIM as a matrix generated from the route table
//! (`nyckel::http::scim::ROUTES`, from which the router is built, so a new route cannot
//! escape it) and every kind of bearer: organisation A's endpoint answers only a `scim`
//! token of A's own service client. B's service client gets 404 (as for an organisation
//! that does not exist), a token without the scope or of a person 403, no token or a dead
//! one 401 — and none of them changes anything.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Scim, service_token};
use crate::helpers::admin::World;

/// A request body that would be accepted for the route.
fn body(method: &str, path: &str) -> Option<Value> {
    let user = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "matrix@example.org", "emails": [{ "value": "matrix@example.org" }] });
    match (method, path) {
        ("POST", "/Users") | ("PUT", "/Users/{id}") => Some(user),
        ("POST", "/Groups") => Some(json!({ "displayName": "Matrix" })),
        ("PUT", "/Groups/{id}") => Some(json!({ "displayName": "Member" })),
        ("PATCH", _) => Some(
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "displayName", "value": "Patched" }] }),
        ),
        ("POST", "/Bulk") => Some(
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [{ "method": "POST", "path": "/Groups", "bulkId": "x", "data": { "displayName": "Bulked" } }] }),
        ),
        ("POST", _) => Some(json!({})),
        _ => None,
    }
}

/// The route's path with an existing object of A in place of `{id}`.
fn concrete(path: &str, user_id: &str) -> String {
    if path.starts_with("/Users/") {
        path.replace("{id}", user_id)
    } else if path.starts_with("/Groups/") {
        path.replace("{id}", "member")
    } else if path.starts_with("/ResourceTypes/") {
        path.replace("{id}", "User")
    } else {
        path.replace("{id}", "urn:ietf:params:scim:schemas:core:2.0:User")
    }
}

#[tokio::test]
async fn only_the_organisations_own_scim_client_reaches_its_endpoint() {
    let world = World::new().await;
    let (own, _) = service_token(&world, "club-a", "scim").await;
    let (other, _) = service_token(&world, "club-b", "scim").await;
    let (admin_only, _) = service_token(&world, "club-a", "admin").await;
    let (both, _) = service_token(&world, "club-a", "admin scim").await;
    let (deleted, deleted_id) = service_token(&world, "club-a", "scim").await;
    nyckel::admin::clients::delete(
        &world.app.state,
        &nyckel::admin::Caller::operator(),
        &deleted_id,
    )
    .await
    .expect("client deleted");
    let person = world.token(&world.admin_a).await;
    let superadmin = world.token(&world.superadmin).await;
    let mine = Scim::new(&world, "club-a", &own);
    let record = mine
        .post("/Users", &json!({ "userName": "kept@example.org" }))
        .await;
    assert_eq!(record.status, 201);
    let user_id = record.id();

    let refused: [(&str, Option<&str>, u16); 7] = [
        ("club B's scim client", Some(&other), 404),
        (
            "club A's client without the scim scope",
            Some(&admin_only),
            403,
        ),
        ("club A's admin (a person's token)", Some(&person), 403),
        ("the superadmin (a person's token)", Some(&superadmin), 403),
        ("a deleted client's token", Some(&deleted), 401),
        ("a token that is not one", Some("not-a-token"), 401),
        ("no token", None, 401),
    ];
    let before = world.snapshot().await;
    let audit = world.audit_count().await;
    let mut checked = 0;
    for (who, token, want) in refused {
        for (method, path) in nyckel::http::scim::ROUTES {
            let scim = Scim::new(&world, "club-a", token.unwrap_or(""));
            let url = concrete(path, &user_id);
            let reply = match token {
                Some(_) => {
                    let m = Method::from_bytes(method.as_bytes()).expect("method");
                    scim.send(m, &url, body(method, path).as_ref(), None).await
                }
                None => {
                    let res = world
                        .app
                        .http()
                        .request(
                            Method::from_bytes(method.as_bytes()).expect("method"),
                            format!("{}{url}", scim.base),
                        )
                        .send()
                        .await
                        .expect("request");
                    assert!(res.headers().get("www-authenticate").is_some());
                    assert_eq!(res.status(), 401, "{who}: {method} {path}");
                    checked += 1;
                    continue;
                }
            };
            assert_eq!(
                reply.status, want,
                "{who}: {method} {path}: {:?}",
                reply.body
            );
            assert_eq!(
                reply.body["status"],
                want.to_string(),
                "{who}: {method} {path}"
            );
            checked += 1;
        }
    }
    world.assert_unchanged(&before, audit).await;
    assert_eq!(checked, 7 * nyckel::http::scim::ROUTES.len());

    // B's endpoint with A's token is the same 404 as an organisation that does not exist.
    let at_b = Scim::new(&world, "club-b", &own)
        .send(Method::GET, "/Users", None, None)
        .await;
    let nowhere = Scim::new(&world, "no-such-club", &own)
        .send(Method::GET, "/Users", None, None)
        .await;
    assert_eq!(
        (at_b.status, at_b.body.clone()),
        (nowhere.status, nowhere.body)
    );

    // A's own client, with `scim` alone or beside `admin`, reaches every route.
    for token in [&own, &both] {
        let scim = Scim::new(&world, "club-a", token);
        for (method, path) in nyckel::http::scim::ROUTES {
            if *method == "DELETE" {
                continue;
            }
            let m = Method::from_bytes(method.as_bytes()).expect("method");
            let reply = scim
                .send(
                    m,
                    &concrete(path, &user_id),
                    body(method, path).as_ref(),
                    None,
                )
                .await;
            let status = reply.status.as_u16();
            assert!(
                !matches!(status, 401 | 403) && reply.body["detail"] != "no organisation",
                "{method} {path}: {status} {:?}",
                reply.body
            );
        }
    }
    let scim = Scim::new(&world, "club-a", &own);
    assert_eq!(scim.delete(&format!("/Users/{user_id}")).await.status, 204);
}
