//! The organisation's own objects through the admin pages: apps (a secret shown once, the
//! redirect URIs edited, the secret replaced, deletion after a question, another owner's app
//! not found here) and roles (added, described, deleted; the admin role built in).

use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Admin, Org, fresh_client, secret_hash};

/// The text of the element with `id` on a page.
fn grab(body: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id}:\n{body}"))
        + marker.len();
    body[start..start + body[start..].find('<').expect("end")].to_string()
}

/// The stored client `id` (it must exist).
async fn stored(w: &World, id: &str) -> nyckel::store::clients::Client {
    nyckel::store::clients::find(&w.app.state.db, id)
        .await
        .expect("db")
        .expect("client")
}

#[tokio::test]
async fn a_client_secret_is_shown_once() {
    let w = World::new().await;
    let [a, b] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let form = admin.open(&a.path("/clients/new")).await;
    assert!(form.body.contains("name=\"visible_roles\" value=\"coach\""));
    let fields = [
        ("name", "Club website"),
        (
            "redirect_uris",
            "https://club.example/cb\r\n\r\nhttps://club.example/cb2\r\n",
        ),
        ("kind", "confidential"),
        ("visible_roles", "coach"),
        ("require_organisation", "1"),
    ];
    let created = admin.send(&a.path("/clients"), &fields).await;
    let created = created.expect_status(200);
    let client_id = grab(&created.body, "client-id");
    let secret = grab(&created.body, "client-secret");
    assert_eq!(secret.len(), 43);
    assert_eq!(
        secret_hash(&w.app, &client_id).await,
        Some(nyckel::crypto::sha256_b64(&secret))
    );
    let client = stored(&w, &client_id).await;
    assert_eq!(
        client.redirect_uris,
        ["https://club.example/cb", "https://club.example/cb2"]
    );
    assert_eq!(client.owner_organisation_id.as_deref(), Some(a.id.as_str()));
    assert_eq!(client.visible_roles, Some(vec!["coach".to_string()]));
    assert!(client.require_organisation);

    let here = a.path(&format!("/clients/{client_id}"));
    let page = admin.open(&here).await;
    assert!(
        !page.body.contains(&secret),
        "the secret is shown once only"
    );
    assert!(page.body.contains("https://club.example/cb2"));
    let list = admin.get(&a.path("/clients")).await;
    assert!(list.body.contains("Club website") && !list.body.contains(&secret));

    // Edit the redirect URIs.
    let edit = [
        ("name", "Club website"),
        ("redirect_uris", "https://club.example/new"),
    ];
    admin.send(&here, &edit).await.expect_status(303);
    let client = stored(&w, &client_id).await;
    assert_eq!(client.redirect_uris, ["https://club.example/new"]);

    // Rotate: a new secret, once; the old hash is gone.
    let rotated = admin.send(&format!("{here}/rotate"), &[]).await;
    assert_eq!(rotated.status, 200);
    let fresh = grab(&rotated.body, "client-secret");
    assert_ne!(fresh, secret);
    assert_eq!(
        secret_hash(&w.app, &client_id).await,
        Some(nyckel::crypto::sha256_b64(&fresh))
    );

    // A client of organisation B does not exist under A's address, even for the superadmin.
    let b_client = fresh_client(&w.app, &b).await;
    let sup = Admin::sign_in(&w, &w.superadmin).await;
    let under_a = a.path(&format!("/clients/{b_client}"));
    assert_eq!(sup.get(&under_a).await.status, 404);
    let before = secret_hash(&w.app, &b_client).await;
    let page = sup.send(&format!("{under_a}/rotate"), &[]).await;
    assert_eq!(page.status, 404);
    assert_eq!(secret_hash(&w.app, &b_client).await, before);
    let under_b = b.path(&format!("/clients/{b_client}"));
    assert_eq!(sup.get(&under_b).await.status, 200);

    // Delete after the question.
    let delete = format!("{here}/delete");
    let ask = admin.get(&delete).await;
    ask.assert_shows("Delete the app Club website?");
    let gone = admin.submit(&ask, &delete, &[]).await;
    assert_eq!(gone.status, 303);
    assert!(
        nyckel::store::clients::find(&w.app.state.db, &client_id)
            .await
            .expect("db")
            .is_none()
    );
}

#[tokio::test]
async fn roles_are_added_described_and_deleted() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let treasurer = [("name", "treasurer"), ("description", "Keeps the books")];
    let added = admin.send(&a.path("/roles"), &treasurer).await;
    assert_eq!(added.status, 303);
    let list = admin.follow(added).await;
    assert!(list.body.contains("The role has been saved."));
    assert!(list.body.contains("Keeps the books"));
    let edit = admin.get(&a.path("/roles/treasurer")).await;
    assert!(edit.body.contains("value=\"Keeps the books\""));
    assert!(edit.body.contains("/roles/treasurer/delete"));
    let described = [("description", "Handles money")];
    let saved = admin.send(&a.path("/roles/treasurer"), &described).await;
    assert_eq!(saved.status, 303);
    let roles = admin.get(&a.path("/roles")).await;
    assert!(roles.body.contains("Handles money"));
    // The admin role can be described but offers no delete button.
    let builtin = admin.get(&a.path("/roles/admin")).await;
    assert!(!builtin.body.contains("/roles/admin/delete"));
    assert_eq!(admin.get(&a.path("/roles/nonesuch")).await.status, 404);
    let delete = a.path("/roles/treasurer/delete");
    let ask = admin.get(&delete).await;
    let deleted = admin.submit(&ask, &delete, &[]).await;
    assert_eq!(deleted.status, 303);
    let roles = admin.get(&a.path("/roles")).await;
    assert!(!roles.body.contains("treasurer"));
}
