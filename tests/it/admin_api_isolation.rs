//! Tenant isolation and field-level limits through the admin API (issue 3, done-when 2;
//! SECURITY.md 8.2.3, 8.4.1): an organisation admin cannot read or touch a person who is
//! only in another organisation (404, like a missing person), sees of a shared person only
//! their part in the own organisation, cannot change anyone's email, phone, password or
//! passkeys, nor smuggle `email`, `password_hash`, `org_id` or `superadmin` into a body.

use serde_json::{Value, json};

use crate::helpers::admin::World;

#[tokio::test]
async fn an_org_admin_cannot_reach_a_person_only_in_another_organisation() {
    let w = World::new().await;
    let a = w.api(&w.admin_a).await;
    let b_only = &w.member_b.id;
    let before = w.snapshot().await;
    let audit = w.audit_count().await;

    for (org, why) in [("club-a", "through A"), ("club-b", "through B")] {
        let base = format!("/orgs/{org}/members/{b_only}");
        let reads = [a.get(&base).await, a.get(&format!("{base}/sessions")).await];
        let writes = [
            a.put(&format!("{base}/roles"), &json!({ "roles": ["admin"] }))
                .await,
            a.post(&format!("{base}/reset"), &json!({})).await,
            a.delete(&base).await,
        ];
        for r in reads.iter().chain(&writes) {
            assert_eq!(r.status, 404, "{why}: {}", r.text);
            assert_eq!(r.code(), "not_found");
            assert!(
                !r.text.contains(&w.member_b.email),
                "{why}: no detail leaks"
            );
        }
    }
    // B's organisation itself, its lists and its audit log: all 404 for A's admin.
    for path in [
        "/orgs/club-b",
        "/orgs/club-b/members",
        &format!("/orgs/club-b/members?q={}", w.member_b.email),
        "/orgs/club-b/roles",
        "/orgs/club-b/invitations",
        "/orgs/club-b/clients",
        "/orgs/club-b/audit",
        "/orgs/club-b/audit/export",
    ] {
        let r = a.get(path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    // The missing organisation and the foreign one answer alike.
    let foreign = a.get("/orgs/club-b").await;
    let missing = a.get("/orgs/no-such-club").await;
    assert_eq!(foreign.status, missing.status);
    assert_eq!(foreign.json, missing.json);
    let foreign = a.get(&format!("/orgs/club-a/members/{b_only}")).await;
    let missing = a.get("/orgs/club-a/members/nobody").await;
    assert_eq!(foreign.json, missing.json);

    // Setting a password is the superadmin's (and off by default).
    let r = a
        .put(
            &format!("/users/{b_only}/password"),
            &json!({ "password": "ett helt nytt lösenord 99" }),
        )
        .await;
    r.expect(403);

    // A's member list and A's audit log say nothing about B's people.
    let (members, _) = a.walk("/orgs/club-a/members", 50).await;
    assert!(members.iter().all(|m| m["user_id"] != b_only.as_str()));
    let r = a.get(&format!("/orgs/club-a/audit?user={b_only}")).await;
    r.expect(200);
    assert_eq!(r.json["items"], json!([]));

    w.assert_unchanged(&before, audit).await;
}

#[tokio::test]
async fn a_shared_person_shows_only_their_part_in_the_organisation() {
    let w = World::new().await;
    let a = w.api(&w.admin_a).await;
    let b = w.api(&w.admin_b).await;
    // Something happens to the shared person in B.
    b.set_roles("club-b", &w.both.id, &["admin", "member"])
        .await
        .expect(200);

    let r = a.get(&format!("/orgs/club-a/members/{}", w.both.id)).await;
    r.expect(200);
    let fields: Vec<&str> = r
        .json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "email",
            "invited_by",
            "name",
            "phone",
            "roles",
            "since",
            "user_id"
        ],
        "only what the organisation needs"
    );
    assert_eq!(r.json["roles"], json!(["coach"]), "A's roles only");
    assert!(!r.text.contains(&w.org_b), "nothing about B");

    // A's audit log does not show what B's admin did to the same person.
    let (events, _) = a
        .walk(&format!("/orgs/club-a/audit?user={}", w.both.id), 50)
        .await;
    assert!(
        events
            .iter()
            .all(|e| e["organisation_id"] == w.org_a.as_str()),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| e["kind"] == "admin.roles_changed"));
}

#[tokio::test]
async fn nobody_changes_email_phone_password_or_passkeys_or_smuggles_fields() {
    let w = World::new().await;
    let a = w.api(&w.admin_a).await;
    let sup = w.api(&w.superadmin).await;
    let m = &w.member_a.id;
    let before = w.snapshot().await;
    let audit = w.audit_count().await;

    // There is no endpoint that edits a person's own data.
    let member = format!("/orgs/club-a/members/{m}");
    let changes = json!({ "email": "evil@example.org", "phone": "+46700000000" });
    for (api, who) in [(&a, "org admin"), (&sup, "superadmin")] {
        for r in [
            api.patch(&member, &changes).await,
            api.put(&member, &changes).await,
            api.patch(&format!("/users/{m}"), &changes).await,
            api.put(
                &format!("/users/{m}/email"),
                &json!({ "email": "evil@example.org" }),
            )
            .await,
            api.delete(&format!("/users/{m}/passkeys")).await,
            api.put(
                &format!("/users/{m}/phone"),
                &json!({ "phone": "+46700000000" }),
            )
            .await,
        ] {
            assert!(
                r.status == 404 || r.status == 405,
                "{who}: {} {}",
                r.status,
                r.text
            );
            assert!(!r.code().is_empty(), "the error shape");
        }
    }

    // Fields the API does not know are refused in every body, not ignored.
    let smuggled: [(&str, Value); 6] = [
        ("email", json!("evil@example.org")),
        ("phone", json!("+46700000000")),
        ("password", json!("ett helt nytt lösenord 99")),
        (
            "password_hash",
            json!("$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"),
        ),
        ("org_id", json!(w.org_b)),
        ("superadmin", json!(true)),
    ];
    for (field, value) in &smuggled {
        for (api, method, path, base) in [
            (
                &a,
                "put",
                format!("{member}/roles"),
                json!({ "roles": ["member"] }),
            ),
            (
                &a,
                "post",
                "/orgs/club-a/invitations".to_string(),
                json!({ "email": "new@example.org", "roles": ["member"] }),
            ),
            (
                &a,
                "post",
                "/orgs/club-a/clients".to_string(),
                json!({ "name": "App", "redirect_uris": ["https://app.example/cb"] }),
            ),
            (
                &a,
                "put",
                "/orgs/club-a/roles/treasurer".to_string(),
                json!({ "description": "Money" }),
            ),
            (
                &sup,
                "patch",
                "/orgs/club-a".to_string(),
                json!({ "name": "Club A" }),
            ),
            (
                &sup,
                "post",
                "/orgs".to_string(),
                json!({ "name": "Club C", "slug": "club-c" }),
            ),
        ] {
            if base.get(*field).is_some() {
                continue;
            }
            let mut body = base.clone();
            body[*field] = value.clone();
            let r = match method {
                "put" => api.put(&path, &body).await,
                "post" => api.post(&path, &body).await,
                _ => api.patch(&path, &body).await,
            };
            assert_eq!(r.status, 400, "{method} {path} with {field}: {}", r.text);
            assert_eq!(r.code(), "invalid_request");
            assert!(r.text.contains("unknown field"), "{}", r.text);
        }
    }
    // Ownership cannot be moved through a body either.
    let r = a
        .register_client("club-a", json!({ "owner_organisation_id": w.org_b }))
        .await;
    r.expect(400);

    // An org admin cannot raise anyone above their own authority.
    let r = a
        .put(
            &format!("{member}/roles"),
            &json!({ "roles": ["superadmin"] }),
        )
        .await;
    r.expect(400);
    let r = a
        .register_client("club-a", json!({ "first_party": true }))
        .await;
    r.expect(403);
    let r = a
        .register_client("club-a", json!({ "organisations": [w.org_b] }))
        .await;
    r.expect(403);
    let r = a.post("/orgs", &json!({ "name": "Club C" })).await;
    r.expect(403);
    let r = a.patch("/orgs/club-a", &json!({ "slug": "club-x" })).await;
    r.expect(403);

    w.assert_unchanged(&before, audit).await;
}

#[tokio::test]
async fn a_superadmin_sets_a_password_only_when_allowed_and_never_sees_it() {
    let w = World::new().await;
    let sup = w.api(&w.superadmin).await;
    let path = format!("/users/{}/password", w.member_a.id);
    let new_password = "ett helt nytt lösenord 99";
    let before = w.snapshot().await;
    let r = sup.put(&path, &json!({ "password": new_password })).await;
    r.expect(403);
    assert!(!r.text.contains(new_password));
    assert_eq!(w.snapshot().await, before);

    let app = crate::helpers::TestApp::spawn_with(|c| {
        c.admin.allow_set_password = true;
        crate::helpers::password_only_admins(
            c,
            "the superadmin uses the admin API with a password login, as in World::new",
        );
    })
    .await;
    let w = World::with(app).await;
    let sup = w.api(&w.superadmin).await;
    let a = w.api(&w.admin_a).await;
    let path = format!("/users/{}/password", w.member_a.id);
    // Only the superadmin.
    a.put(&path, &json!({ "password": new_password }))
        .await
        .expect(403);
    // A body that does not parse is not quoted back.
    let r = sup
        .put(&path, &json!({ "password": 1234567890123_i64 }))
        .await;
    r.expect(400);
    assert!(!r.text.contains("1234567890123"), "{}", r.text);
    let r = sup
        .put(&path, &json!({ "password": new_password, "x": 1 }))
        .await;
    r.expect(400);
    assert!(!r.text.contains(new_password));
    // A weak password is refused by the policy without being echoed.
    let r = sup.put(&path, &json!({ "password": "short" })).await;
    r.expect(400);
    assert!(!r.text.contains("\"short\""));
    // Set: 204, an empty answer; the person must change it at the next login.
    let r = sup.put(&path, &json!({ "password": new_password })).await;
    r.expect(204);
    assert!(r.text.is_empty());
    let user = nyckel::store::users::find(&w.app.state.db, &w.member_a.id)
        .await
        .expect("db")
        .expect("user");
    assert_eq!(user.must_change_password, 1);
    let verdict = w
        .app
        .state
        .hasher
        .verify(
            &nyckel::auth::password::Password::new(new_password.into()),
            user.password_hash.as_deref(),
        )
        .await
        .expect("verify");
    assert!(
        matches!(verdict, nyckel::auth::password::Verdict::Match),
        "the new password is set"
    );
}
