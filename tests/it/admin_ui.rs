//! The admin web UI through its pages, as an organisation admin uses it: members and search,
//! the role editor, invitations, sessions, reset keys, the audit log with its export; CSRF
//! refusals; refusals shown on the form; the way back from the login page; the switcher.
//! Apps and roles are in `admin_ui_objects`, the permission matrix in `admin_ui_matrix`.

use crate::helpers::PASSWORD;
use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Org, csrf_of, fresh_member, fresh_session, main_of, roles_of};

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = w.browser(&w.admin_a).await;
    let other = w.browser(&w.admin_b).await;
    let path = a.path(&format!("/members/{}/roles", w.member_a.id));
    let before = (w.snapshot().await, w.audit_count().await);
    let foreign = csrf_of(&other).await;
    for token in [None, Some(""), Some("wrong"), Some(foreign.as_str())] {
        let mut fields = vec![("roles", "admin"), ("roles", "member")];
        if let Some(t) = token {
            fields.push(("csrf", t));
        }
        let page = admin.post(&path, &fields).await;
        assert_eq!(page.status, 403, "token {token:?}: {}", page.body);
        assert!(page.body.contains("This form has expired"), "{}", page.body);
    }
    assert_eq!(before, (w.snapshot().await, w.audit_count().await));
    // With the session's own token the same form works.
    let csrf = csrf_of(&admin).await;
    let page = admin
        .post(
            &path,
            &[("csrf", &csrf), ("roles", "admin"), ("roles", "member")],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        roles_of(&w.app, &a, &w.member_a.id).await,
        Some(vec!["admin".to_string(), "member".to_string()])
    );
}

#[tokio::test]
async fn a_role_change_and_an_invitation_show_in_the_audit_log() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = w.browser(&w.admin_a).await;
    let csrf = csrf_of(&admin).await;

    // Invite through the invitation page.
    let page = admin.get(&a.path("/invite")).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("name=\"roles\" value=\"coach\""),
        "{}",
        page.body
    );
    let sent = admin
        .post(
            &a.path("/invite"),
            &[
                ("csrf", &csrf),
                ("email", "newcomer@example.org"),
                ("roles", "coach"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303);
    assert_eq!(
        sent.location.as_deref(),
        Some("/admin/orgs/club-a/invite?done=invited")
    );
    let page = admin.follow(sent).await;
    assert!(
        page.body.contains("The invitation has been sent."),
        "{}",
        page.body
    );
    assert!(page.body.contains("newcomer@example.org"));
    assert!(
        !page.body.contains("/invite/"),
        "the link is never shown to the admin"
    );

    // Change member A's roles in the role editor (a second later: the log is by time).
    w.app.advance(1);
    let here = a.path(&format!("/members/{}", w.member_a.id));
    let editor = admin.get(&here).await;
    assert_eq!(editor.status, 200);
    let b = &editor.body;
    assert!(b.contains("member.a@example.org"), "{b}");
    assert!(
        b.contains("id=\"role-member\" name=\"roles\" value=\"member\" checked"),
        "{b}"
    );
    assert!(
        b.contains("id=\"role-coach\" name=\"roles\" value=\"coach\">"),
        "{b}"
    );
    let saved = admin
        .post(
            &format!("{here}/roles"),
            &[("csrf", &csrf), ("roles", "coach"), ("roles", "member")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = admin.follow(saved).await;
    assert!(
        page.body.contains("The roles have been saved."),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("id=\"role-coach\" name=\"roles\" value=\"coach\" checked")
    );
    assert_eq!(
        roles_of(&w.app, &a, &w.member_a.id).await,
        Some(vec!["coach".to_string(), "member".to_string()])
    );
    let list = admin.get(&a.path("/members")).await;
    assert!(
        list.body.contains("<span class=\"chip\">coach</span>"),
        "{}",
        list.body
    );

    // The audit log shows both, newest first, and filters by kind.
    let log = admin.get(&a.path("/audit")).await;
    assert_eq!(log.status, 200);
    let body = main_of(&log.body);
    let kind = |k: &str| format!("<code class=\"kind\">{k}</code>");
    let roles_at = body
        .find(&kind("admin.roles_changed"))
        .expect("role change in the log");
    let invite_at = body
        .find(&kind("admin.invitation_created"))
        .expect("invitation in the log");
    assert!(roles_at < invite_at, "newest first");
    assert!(body.contains("Roles changed") && body.contains("Invitation sent"));
    assert!(body.contains("member.a@example.org"), "the member is named");
    assert!(body.contains("admin.a@example.org"), "the admin is named");
    let only = admin.get(&a.path("/audit?kind=admin.roles_changed")).await;
    assert!(main_of(&only.body).contains(&kind("admin.roles_changed")));
    assert!(!main_of(&only.body).contains(&kind("admin.invitation_created")));
    assert!(
        only.body
            .contains("<option value=\"admin.roles_changed\" selected>")
    );

    // The export: JSON lines, a download, the same events.
    let res = admin
        .client
        .get(w.app.url(&a.path("/audit/export")))
        .send()
        .await
        .expect("export");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"nyckel-audit-club-a.jsonl\""
    );
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("application/x-ndjson")
    );
    let text = res.text().await.expect("body");
    let kinds: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("one JSON object per line");
            v["kind"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(kinds, ["admin.roles_changed", "admin.invitation_created"]);

    // Organisation B's admin sees none of it.
    let other = w.browser(&w.admin_b).await;
    let b_log = other.get("/admin/orgs/club-b/audit").await;
    assert!(!b_log.body.contains(&kind("admin.roles_changed")));
    assert_eq!(other.get(&a.path("/audit")).await.status, 404);
}

#[tokio::test]
async fn refusals_are_explained_on_the_form_and_nothing_changes() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = w.browser(&w.admin_a).await;
    let csrf = csrf_of(&admin).await;
    let before = (w.snapshot().await, w.audit_count().await);

    // The last admin cannot drop their own admin role (409), in English and in Swedish.
    let path = a.path(&format!("/members/{}/roles", w.admin_a.id));
    let page = admin
        .post(&path, &[("csrf", &csrf), ("roles", "member")])
        .await;
    assert_eq!(page.status, 409);
    assert!(
        page.body
            .contains("the organisation&#39;s last administrator")
            || page.body.contains("the organisation's last administrator"),
        "{}",
        page.body
    );
    assert!(page.body.contains("role=\"alert\""));
    let sv = admin
        .client
        .post(w.app.url(&path))
        .header("accept-language", "sv")
        .form(&[("csrf", csrf.as_str()), ("roles", "member")])
        .send()
        .await
        .expect("post");
    assert_eq!(sv.status(), 409);
    let body = sv.text().await.expect("body");
    assert!(
        body.contains("organisationens sista administratör"),
        "{body}"
    );

    // A bad email address and a bad role name (400), shown with what was typed.
    let page = admin
        .post(
            &a.path("/invite"),
            &[
                ("csrf", &csrf),
                ("email", "not an address"),
                ("roles", "member"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("That is not a valid email address."),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"not an address\""));
    let page = admin
        .post(
            &a.path("/invite"),
            &[("csrf", &csrf), ("email", "x@example.org")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Choose at least one role."));
    let page = admin
        .post(
            &a.path("/roles"),
            &[("csrf", &csrf), ("name", "Not Valid"), ("description", "")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("A role name may only contain"),
        "{}",
        page.body
    );
    let page = admin
        .post(
            &a.path("/roles"),
            &[("csrf", &csrf), ("name", "coach"), ("description", "")],
        )
        .await;
    assert_eq!(page.status, 409, "an existing role is not overwritten");
    let page = admin
        .post(&a.path("/roles/admin/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("The admin role is built in"));
    let page = admin
        .post(
            &a.path("/clients"),
            &[
                ("csrf", &csrf),
                ("name", "No URIs"),
                ("kind", "confidential"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("needs at least one redirect URI"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"No URIs\""));
    assert_eq!(before, (w.snapshot().await, w.audit_count().await));
}

#[tokio::test]
async fn members_are_searched_and_paged_and_their_sessions_ended() {
    let w = World::new().await;
    let [a, b] = Org::both(&w);
    for _ in 0..52 {
        fresh_member(&w.app, &a).await;
    }
    let admin = w.browser(&w.admin_a).await;
    let first = admin.get(&a.path("/members")).await;
    assert_eq!(first.status, 200);
    let rows = |body: &str| body.matches("<th scope=\"row\"").count();
    assert_eq!(rows(&first.body), 50);
    let marker = "href=\"/admin/orgs/club-a/members?cursor=";
    let start = first.body.find(marker).expect("a next-page link") + "href=\"".len();
    let next = first.body[start..start + first.body[start..].find('"').expect("end")]
        .replace("&amp;", "&");
    let second = admin.get(&next).await;
    assert_eq!(rows(&second.body), 52 + 3 - 50);
    assert!(second.body.contains("First page"));
    // Name or email, case-insensitive; other organisations' members never appear.
    let found = admin.get(&a.path("/members?q=MEMBER.A")).await;
    assert_eq!(rows(&found.body), 1, "{}", found.body);
    assert!(found.body.contains("member.a@example.org"));
    let none = admin.get(&a.path("/members?q=member.b")).await;
    assert_eq!(rows(&none.body), 0);
    assert!(none.body.contains("No member matches your search."));
    assert_eq!(admin.get(&b.path("/members")).await.status, 404);

    // Member A is signed in; the admin ends that session from the member page.
    let member = w.browser(&w.member_a).await;
    let extra = fresh_session(&w.app, &w.member_a.id).await;
    let page = admin
        .get(&a.path(&format!("/members/{}", w.member_a.id)))
        .await;
    assert_eq!(page.body.matches("/sessions/").count(), 2, "{}", page.body);
    assert!(
        !page.body.contains("192.0.2.7"),
        "an org admin does not see where from"
    );
    let sup = w.browser(&w.superadmin).await;
    let sup_page = sup
        .get(&a.path(&format!("/members/{}", w.member_a.id)))
        .await;
    assert!(
        sup_page.body.contains("192.0.2.7 · Test browser"),
        "the superadmin does"
    );
    let csrf = csrf_of(&admin).await;
    let sessions: Vec<String> =
        nyckel::store::sessions::list_for_user(&w.app.state.db, &w.member_a.id, w.app.state.now())
            .await
            .expect("db")
            .into_iter()
            .map(|s| s.sid)
            .filter(|s| s != &extra)
            .collect();
    let ended = admin
        .post(
            &a.path(&format!(
                "/members/{}/sessions/{}/end",
                w.member_a.id, sessions[0]
            )),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(ended.status, 303);
    let page = admin.follow(ended).await;
    assert!(page.body.contains("The session has been ended"));
    let home = member.get("/").await;
    assert!(
        home.body.contains("You are not signed in."),
        "{}",
        home.body
    );

    // Sending a reset key says where it went and nothing else.
    let sent = admin
        .post(
            &a.path(&format!("/members/{}/reset", w.member_a.id)),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(sent.status, 303);
    let page = admin.follow(sent).await;
    assert!(
        page.body
            .contains("A password reset key has been sent to the member&#39;s email address")
            || page
                .body
                .contains("A password reset key has been sent to the member's email address"),
        "{}",
        page.body
    );
    let mails = w.app.mails_to(&w.member_a.email).await;
    let link = mails
        .iter()
        .find(|m| m.text.contains("/reset/"))
        .expect("a reset mail to the member")
        .link("/reset/");
    let key_path = &link[w.app.issuer.len()..];
    assert!(!page.body.contains(key_path) && !page.body.contains("/reset/"));
    assert!(
        !w.app
            .mails_to(&w.admin_a.email)
            .await
            .iter()
            .any(|m| m.text.contains("/reset/")),
        "the admin gets no key"
    );
    // Once a minute at most: the second press is explained on the member page.
    let again = admin
        .post(
            &a.path(&format!("/members/{}/reset", w.member_a.id)),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("a moment ago"), "{}", again.body);
    assert!(again.body.contains("Send password reset key"));

    // Remove after the question.
    let remove = a.path(&format!("/members/{}/remove", w.member_a.id));
    let ask = admin.get(&remove).await;
    assert!(
        ask.body.contains("Remove Test Person from Club A?"),
        "{}",
        ask.body
    );
    let done = admin.submit(&ask, &remove, &[]).await;
    assert_eq!(
        done.location.as_deref(),
        Some("/admin/orgs/club-a/members?done=member_removed")
    );
    assert_eq!(roles_of(&w.app, &a, &w.member_a.id).await, None);
}

#[tokio::test]
async fn the_login_page_comes_back_to_the_admin_page_and_only_to_a_local_one() {
    let w = World::new().await;
    let browser = crate::helpers::Browser::new(&w.app);
    let page = browser.get("/admin/orgs/club-a/members?q=a").await;
    assert_eq!(page.status, 303);
    let login = page.location.expect("to the login page");
    assert_eq!(
        login,
        "/login?next=%2Fadmin%2Forgs%2Fclub-a%2Fmembers%3Fq%3Da"
    );
    let form = browser.get(&login).await;
    assert!(
        form.body
            .contains("name=\"next\" value=\"/admin/orgs/club-a/members?q=a\""),
        "{}",
        form.body
    );
    let done = browser
        .submit(
            &form,
            "/login",
            &[("email", &w.admin_a.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location.as_deref(),
        Some("/admin/orgs/club-a/members?q=a")
    );
    assert_eq!(
        browser.get("/admin/orgs/club-a/members?q=a").await.status,
        200
    );

    for bad in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/%09/evil",
    ] {
        let other = crate::helpers::Browser::new(&w.app);
        let form = other
            .get(&format!(
                "/login?next={}",
                url::form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
            ))
            .await;
        let fields = form.form("/login").expect("form");
        let csrf = fields["csrf"].clone();
        let done = other
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("email", &w.admin_a.email),
                    ("password", PASSWORD),
                    ("next", bad),
                ],
            )
            .await;
        assert_eq!(done.status, 303);
        let to = done.location.unwrap_or_default();
        let expected = if bad == "/%09/evil" { bad } else { "/" };
        assert_eq!(to, expected, "next={bad:?}");
    }
}

#[tokio::test]
async fn the_home_page_and_the_switcher_lead_administrators_in() {
    let w = World::new().await;
    let admin = w.browser(&w.admin_a).await;
    assert!(admin.get("/").await.body.contains("href=\"/admin\""));
    let member = w.browser(&w.member_a).await;
    assert!(!member.get("/").await.body.contains("href=\"/admin\""));
    let refused = member.get("/admin").await;
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .body
            .contains("You do not administer any organisation."),
        "{}",
        refused.body
    );

    // Someone who administers two organisations chooses.
    w.app
        .add_member("club-b", &w.admin_a.email, &["admin"])
        .await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("href=\"/admin/orgs/club-a/members\"")
            && page.body.contains("href=\"/admin/orgs/club-b/members\"")
    );
    let org_page = admin.get("/admin/orgs/club-a/members").await;
    assert!(org_page.body.contains("Change organisation"));

    // The superadmin also creates organisations.
    let sup = w.browser(&w.superadmin).await;
    let csrf = csrf_of(&sup).await;
    let made = sup
        .post(
            "/admin/orgs",
            &[
                ("csrf", &csrf),
                ("name", "Lakeside Rowing"),
                ("slug", ""),
                ("default_locale", "en"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(
        made.location.as_deref(),
        Some("/admin/orgs/lakeside-rowing/members?done=org_created")
    );
    let page = sup.follow(made).await;
    assert!(page.body.contains("The organisation has been created."));
    assert!(page.body.contains("The organisation has no members yet."));
    let taken = sup
        .post(
            "/admin/orgs",
            &[("csrf", &csrf), ("name", "Again"), ("slug", "club-a")],
        )
        .await;
    assert_eq!(taken.status, 409);
    assert!(taken.body.contains("That name is already taken."));
}

#[tokio::test]
async fn a_password_set_by_an_administrator_is_changed_before_the_admin_pages() {
    let w = World::new().await;
    let admin = w.browser(&w.admin_a).await;
    assert_eq!(admin.get("/admin/orgs/club-a/members").await.status, 200);
    let user = nyckel::store::users::find(&w.app.state.db, &w.admin_a.id)
        .await
        .expect("db")
        .expect("user");
    let hash = user.password_hash.expect("a password");
    nyckel::store::users::set_password(
        &w.app.state.db,
        &w.admin_a.id,
        &hash,
        true,
        w.app.state.now(),
    )
    .await
    .expect("set");
    let page = admin.get("/admin/orgs/club-a/members").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some("/password/change?next=%2Fadmin%2Forgs%2Fclub-a%2Fmembers")
    );
}
