//! The organisation's own objects through the admin pages: apps (a secret shown once, the
//! redirect URIs edited, the secret replaced, deletion after a question, another owner's app
//! not found here) and roles (added, described, deleted; the admin role built in).

use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Org, csrf_of, secret_hash};

#[tokio::test]
async fn a_client_secret_is_shown_once() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = w.browser(&w.admin_a).await;
    let csrf = csrf_of(&admin).await;
    let form = admin.get(&a.path("/clients/new")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("name=\"visible_roles\" value=\"coach\""));
    let created = admin
        .post(
            &a.path("/clients"),
            &[
                ("csrf", &csrf),
                ("name", "Club website"),
                (
                    "redirect_uris",
                    "https://club.example/cb\r\n\r\nhttps://club.example/cb2\r\n",
                ),
                ("kind", "confidential"),
                ("visible_roles", "coach"),
                ("require_organisation", "1"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let grab = |body: &str, id: &str| -> String {
        let marker = format!("id=\"{id}\">");
        let start = body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {id}:\n{body}"))
            + marker.len();
        body[start..start + body[start..].find('<').expect("end")].to_string()
    };
    let client_id = grab(&created.body, "client-id");
    let secret = grab(&created.body, "client-secret");
    assert_eq!(secret.len(), 43);
    assert_eq!(
        secret_hash(&w.app, &client_id).await,
        Some(nyckel::crypto::sha256_b64(&secret))
    );
    let stored = nyckel::store::clients::find(&w.app.state.db, &client_id)
        .await
        .expect("db")
        .expect("client");
    assert_eq!(
        stored.redirect_uris,
        ["https://club.example/cb", "https://club.example/cb2"]
    );
    assert_eq!(stored.owner_organisation_id.as_deref(), Some(a.id.as_str()));
    assert_eq!(stored.visible_roles, Some(vec!["coach".to_string()]));
    assert!(stored.require_organisation);

    let page = admin.get(&a.path(&format!("/clients/{client_id}"))).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&secret),
        "the secret is shown once only"
    );
    assert!(page.body.contains("https://club.example/cb2"));
    let list = admin.get(&a.path("/clients")).await;
    assert!(list.body.contains("Club website") && !list.body.contains(&secret));

    // Edit the redirect URIs.
    let edited = admin
        .post(
            &a.path(&format!("/clients/{client_id}")),
            &[
                ("csrf", &csrf),
                ("name", "Club website"),
                ("redirect_uris", "https://club.example/new"),
            ],
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.body);
    let stored = nyckel::store::clients::find(&w.app.state.db, &client_id)
        .await
        .expect("db")
        .expect("client");
    assert_eq!(stored.redirect_uris, ["https://club.example/new"]);

    // Rotate: a new secret, once; the old hash is gone.
    let rotated = admin
        .post(
            &a.path(&format!("/clients/{client_id}/rotate")),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(rotated.status, 200);
    let fresh = grab(&rotated.body, "client-secret");
    assert_ne!(fresh, secret);
    assert_eq!(
        secret_hash(&w.app, &client_id).await,
        Some(nyckel::crypto::sha256_b64(&fresh))
    );

    // A client of organisation B does not exist under A's address, even for the superadmin.
    let b_client = crate::helpers::admin_ui::fresh_client(&w.app, &Org::both(&w)[1]).await;
    let sup = w.browser(&w.superadmin).await;
    let sup_csrf = csrf_of(&sup).await;
    assert_eq!(
        sup.get(&a.path(&format!("/clients/{b_client}")))
            .await
            .status,
        404
    );
    let before = secret_hash(&w.app, &b_client).await;
    let page = sup
        .post(
            &a.path(&format!("/clients/{b_client}/rotate")),
            &[("csrf", &sup_csrf)],
        )
        .await;
    assert_eq!(page.status, 404);
    assert_eq!(secret_hash(&w.app, &b_client).await, before);
    assert_eq!(
        sup.get(&format!("/admin/orgs/club-b/clients/{b_client}"))
            .await
            .status,
        200
    );

    // Delete after the question.
    let ask = admin
        .get(&a.path(&format!("/clients/{client_id}/delete")))
        .await;
    assert!(
        ask.body.contains("Delete the app Club website?"),
        "{}",
        ask.body
    );
    let gone = admin
        .submit(&ask, &a.path(&format!("/clients/{client_id}/delete")), &[])
        .await;
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
    let admin = w.browser(&w.admin_a).await;
    let csrf = csrf_of(&admin).await;
    let added = admin
        .post(
            &a.path("/roles"),
            &[
                ("csrf", &csrf),
                ("name", "treasurer"),
                ("description", "Keeps the books"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    let list = admin.follow(added).await;
    assert!(list.body.contains("The role has been saved."));
    assert!(list.body.contains("Keeps the books"));
    let edit = admin.get(&a.path("/roles/treasurer")).await;
    assert!(edit.body.contains("value=\"Keeps the books\""));
    assert!(edit.body.contains("/roles/treasurer/delete"));
    let saved = admin
        .post(
            &a.path("/roles/treasurer"),
            &[("csrf", &csrf), ("description", "Handles money")],
        )
        .await;
    assert_eq!(saved.status, 303);
    assert!(
        admin
            .get(&a.path("/roles"))
            .await
            .body
            .contains("Handles money")
    );
    // The admin role can be described but offers no delete button.
    let builtin = admin.get(&a.path("/roles/admin")).await;
    assert!(!builtin.body.contains("/roles/admin/delete"));
    assert_eq!(admin.get(&a.path("/roles/nonesuch")).await.status, 404);
    let ask = admin.get(&a.path("/roles/treasurer/delete")).await;
    let deleted = admin
        .submit(&ask, &a.path("/roles/treasurer/delete"), &[])
        .await;
    assert_eq!(deleted.status, 303);
    assert!(
        !admin
            .get(&a.path("/roles"))
            .await
            .body
            .contains("treasurer")
    );
}
