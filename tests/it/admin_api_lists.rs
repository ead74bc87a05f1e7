//! Lists, invitations and clients through the admin API: every list walks page by page
//! returning each item once; invitations are created, listed and revoked; clients are
//! created (secret shown once), read (never a secret), rotated (the old secret stops
//! working) and their redirect URIs edited (bad URIs refused, nothing changed).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::helpers::admin::World;
use crate::helpers::api_fixtures::{fresh_member, fresh_session};
use crate::helpers::token::{Auth, token};

/// Asserts a walk returned every item of `all` exactly once (by `key`).
#[track_caller]
fn once_each(walked: &[Value], all: &[Value], key: &str) {
    let keys: Vec<&str> = walked
        .iter()
        .map(|v| v[key].as_str().expect("key"))
        .collect();
    let unique: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len(), "an item came twice: {keys:?}");
    let expected: BTreeSet<&str> = all.iter().map(|v| v[key].as_str().expect("key")).collect();
    assert_eq!(unique, expected);
}

#[tokio::test]
async fn every_list_walks_page_by_page_returning_each_item_once() {
    let w = World::new().await;
    let a = w.api(&w.admin_a).await;
    let sup = w.api(&w.superadmin).await;
    for i in 0..8 {
        fresh_member(&w.app, "club-a", &format!("m{i}@example.org"), &["member"]).await;
        a.invite("club-a", &format!("i{i}@example.org"), &["member"])
            .await
            .expect(201);
        a.put(
            &format!("/orgs/club-a/roles/role-{i}"),
            &json!({ "description": format!("Role {i}") }),
        )
        .await
        .expect(200);
        a.post(
            "/orgs/club-a/clients",
            &json!({ "name": "Same name", "redirect_uris": ["https://app.example/cb"] }),
        )
        .await
        .expect(201);
        fresh_session(&w.app, &w.member_a.id).await;
        if i % 2 == 0 {
            // Sessions and events in the same second must still be ordered and paged.
            w.app.advance(1);
        }
    }

    for (api, path, key, total) in [
        (&a, "/orgs/club-a/members", "user_id", 11),
        (&a, "/orgs/club-a/members?q=example.org", "user_id", 11),
        (&a, "/orgs/club-a/invitations", "id", 8),
        (&a, "/orgs/club-a/roles", "name", 11),
        (&a, "/orgs/club-a/clients", "client_id", 8),
        (
            &a,
            &format!("/orgs/club-a/members/{}/sessions", w.member_a.id),
            "sid",
            8,
        ),
        (&a, "/orgs/club-a/audit", "id", 24),
        (&sup, "/orgs", "id", 2),
        (&sup, "/audit", "id", 24),
        (&sup, "/clients", "client_id", 1),
    ] {
        let (all, pages) = api.walk(path, 200).await;
        assert_eq!(pages, 1, "{path}");
        assert!(all.len() >= total, "{path}: {} < {total}", all.len());
        for limit in [1, 3] {
            let (walked, pages) = api.walk(path, limit).await;
            once_each(&walked, &all, key);
            assert_eq!(walked, all, "{path}: the same order page by page");
            assert_eq!(pages, all.len().div_ceil(limit).max(1), "{path}");
        }
    }
    // The search narrows.
    let (found, _) = a.walk("/orgs/club-a/members?q=M3@", 10).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["email"], "m3@example.org");
}

#[tokio::test]
async fn invitations_are_created_listed_and_revoked() {
    let w = World::new().await;
    let a = w.api(&w.admin_a).await;
    let r = a
        .invite("club-a", "new.person@example.org", &["coach", "member"])
        .await;
    r.expect(201);
    let inv = r.json.clone();
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["email"], "new.person@example.org");
    assert_eq!(inv["roles"], json!(["coach", "member"]));
    assert_eq!(inv["organisation_id"], w.org_a.as_str());
    assert_eq!(inv["invited_by"], w.admin_a.id.as_str());
    assert!(
        inv.as_object()
            .expect("object")
            .keys()
            .all(|k| !k.contains("key") && !k.contains("link")),
        "no link in {inv}"
    );
    let id = inv["id"].as_str().expect("id");

    let r = a.get("/orgs/club-a/invitations").await;
    r.expect(200);
    assert_eq!(r.json["items"][0]["id"], id);

    a.delete(&format!("/orgs/club-a/invitations/{id}"))
        .await
        .expect(204);
    let r = a.get("/orgs/club-a/invitations").await;
    assert_eq!(r.json["items"][0]["status"], "revoked");
    // Gone is gone; and B's admin cannot see or revoke A's invitations.
    a.delete(&format!("/orgs/club-a/invitations/{id}"))
        .await
        .expect(404);
    let b = w.api(&w.admin_b).await;
    b.delete(&format!("/orgs/club-b/invitations/{id}"))
        .await
        .expect(404);

    // Bad input.
    for body in [
        json!({ "email": "not an email", "roles": ["member"] }),
        json!({ "email": "x@example.org", "roles": ["no-such-role"] }),
        json!({ "email": "x@example.org" }),
    ] {
        a.post("/orgs/club-a/invitations", &body).await.expect(400);
    }
}

#[tokio::test]
async fn clients_are_created_rotated_and_their_redirect_uris_edited() {
    let w = World::new().await;
    let a = w.api(&w.admin_a).await;
    let r = a
        .post(
            "/orgs/club-a/clients",
            &json!({
                "name": "Club A's booking app",
                "redirect_uris": ["https://booking.example/cb"],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "visible_roles": ["coach"]
            }),
        )
        .await;
    r.expect(201);
    let id = r.str("client_id").to_string();
    let first = r.str("client_secret").to_string();
    assert_eq!(first.len(), 43, "a 256-bit secret");
    assert_eq!(r.json["owner_organisation_id"], w.org_a.as_str());
    assert_eq!(r.json["organisations"], json!([w.org_a]));
    assert_eq!(r.json["first_party"], false);
    assert_eq!(r.json["visible_roles"], json!(["coach"]));
    assert!(r.json.get("secret_hash").is_none());

    // Reading never shows the secret.
    let r = a.get(&format!("/clients/{id}")).await;
    r.expect(200);
    assert!(r.json.get("client_secret").is_none());
    assert!(!r.text.contains(&first));
    let (listed, _) = a.walk("/orgs/club-a/clients", 50).await;
    assert!(listed.iter().all(|c| c.get("client_secret").is_none()));

    // The secret works at the token endpoint until it is rotated.
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(
        token(&w.app, Auth::Basic(&id, &first), &cc).await.status,
        200
    );
    let r = a.post(&format!("/clients/{id}/secret"), &json!({})).await;
    r.expect(200);
    let second = r.str("client_secret").to_string();
    assert_ne!(first, second);
    assert_eq!(
        token(&w.app, Auth::Basic(&id, &first), &cc).await.status,
        401
    );
    assert_eq!(
        token(&w.app, Auth::Basic(&id, &second), &cc).await.status,
        200
    );

    // Redirect URIs: good ones are stored, bad ones refused with nothing changed.
    let r = a
        .patch(
            &format!("/clients/{id}"),
            &json!({ "redirect_uris": ["https://booking.example/cb", "https://booking.example/cb2"] }),
        )
        .await;
    r.expect(200);
    assert_eq!(
        r.json["redirect_uris"],
        json!(["https://booking.example/cb", "https://booking.example/cb2"])
    );
    let before = w.snapshot().await;
    for bad in [
        json!({ "redirect_uris": ["not a uri"] }),
        json!({ "redirect_uris": ["http://booking.example/cb"] }),
        json!({ "redirect_uris": ["https://booking.example/cb#fragment"] }),
        json!({ "redirect_uris": [] }),
        json!({ "redirect_uris": "https://booking.example/cb" }),
        json!({ "post_logout_redirect_uris": ["javascript:alert(1)"] }),
        json!({ "name": "" }),
        json!({ "visible_roles": ["no-such-role"] }),
    ] {
        let r = a.patch(&format!("/clients/{id}"), &bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    assert_eq!(w.snapshot().await, before, "nothing changed");
    // `visible_roles: null` shows every role again; absent leaves it.
    let r = a
        .patch(&format!("/clients/{id}"), &json!({ "name": "Booking" }))
        .await;
    assert_eq!(r.json["visible_roles"], json!(["coach"]));
    let r = a
        .patch(&format!("/clients/{id}"), &json!({ "visible_roles": null }))
        .await;
    r.expect(200);
    assert_eq!(r.json["visible_roles"], Value::Null);

    // A public client has no secret to rotate.
    let r = a.register_client("club-a", json!({ "public": true })).await;
    r.expect(201);
    assert_eq!(r.json["client_secret"], Value::Null);
    let public = r.str("client_id");
    a.post(&format!("/clients/{public}/secret"), &json!({}))
        .await
        .expect(409);

    // B's admin finds none of it; deleting ends it.
    let b = w.api(&w.admin_b).await;
    b.get(&format!("/clients/{id}")).await.expect(404);
    a.delete(&format!("/clients/{id}")).await.expect(204);
    a.get(&format!("/clients/{id}")).await.expect(404);
    assert_eq!(
        token(&w.app, Auth::Basic(&id, &second), &cc).await.status,
        401
    );
}
