//! The admin web UI through its pages, as an organisation admin uses it: members and search,
//! the role editor, invitations, sessions, reset keys, the audit log with its export; CSRF
//! refusals; refusals shown on the form; the way back from the login page; the switcher.
//! Apps and roles are in `admin_ui_objects`, the permission matrix in `admin_ui_matrix`.

use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Admin, Org, fresh_member, fresh_session, main_of, roles_of};
use crate::helpers::{Browser, PASSWORD};

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let other = Admin::sign_in(&w, &w.admin_b).await;
    let path = a.path(&format!("/members/{}/roles", w.member_a.id));
    let before = (w.snapshot().await, w.audit_count().await);
    for token in [None, Some(""), Some("wrong"), Some(other.csrf.as_str())] {
        let mut fields = vec![("roles", "admin"), ("roles", "member")];
        if let Some(t) = token {
            fields.push(("csrf", t));
        }
        let page = admin.post(&path, &fields).await;
        assert_eq!(page.status, 403, "token {token:?}: {}", page.body);
        page.assert_shows("This form has expired");
    }
    assert_eq!(before, (w.snapshot().await, w.audit_count().await));
    // With the session's own token the same form works.
    let page = admin
        .set_roles(&a, &w.member_a.id, &["admin", "member"])
        .await;
    page.expect_status(303);
    assert_eq!(
        roles_of(&w.app, &a, &w.member_a.id).await,
        Some(vec!["admin".to_string(), "member".to_string()])
    );
}

#[tokio::test]
async fn a_role_change_and_an_invitation_show_in_the_audit_log() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;

    // Invite through the invitation page.
    let page = admin.open(&a.path("/invite")).await;
    page.assert_shows("name=\"roles\" value=\"coach\"");
    let sent = admin.invite(&a, "newcomer@example.org", "coach").await;
    sent.assert_redirect("/admin/orgs/club-a/invite?done=invited");
    let page = admin.follow(sent).await;
    page.assert_shows("The invitation has been sent.");
    assert!(page.body.contains("newcomer@example.org"));
    assert!(
        !page.body.contains("/invite/"),
        "the link is never shown to the admin"
    );

    // Change member A's roles in the role editor (a second later: the log is by time).
    w.app.advance(1);
    let editor = admin
        .open(&a.path(&format!("/members/{}", w.member_a.id)))
        .await;
    editor.assert_shows("member.a@example.org");
    editor.assert_shows("id=\"role-member\" name=\"roles\" value=\"member\" checked");
    editor.assert_shows("id=\"role-coach\" name=\"roles\" value=\"coach\">");
    let saved = admin
        .set_roles(&a, &w.member_a.id, &["coach", "member"])
        .await;
    let page = admin.follow(saved.expect_status(303)).await;
    page.assert_shows("The roles have been saved.");
    page.assert_shows("id=\"role-coach\" name=\"roles\" value=\"coach\" checked");
    assert_eq!(
        roles_of(&w.app, &a, &w.member_a.id).await,
        Some(vec!["coach".to_string(), "member".to_string()])
    );
    let list = admin.get(&a.path("/members")).await;
    list.assert_shows("<span class=\"chip\">coach</span>");

    // The audit log shows both, newest first, and filters by kind.
    let log = admin.open(&a.path("/audit")).await;
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
    only.assert_shows("<option value=\"admin.roles_changed\" selected>");

    // The export: JSON lines, a download, the same events.
    let res = admin.open(&a.path("/audit/export")).await;
    assert_eq!(
        res.headers["content-disposition"],
        "attachment; filename=\"nyckel-audit-club-a.jsonl\""
    );
    let content_type = res.headers["content-type"].to_str().unwrap_or_default();
    assert!(content_type.starts_with("application/x-ndjson"));
    let kinds: Vec<String> = res
        .body
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
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let before = (w.snapshot().await, w.audit_count().await);

    // The last admin cannot drop their own admin role (409), in English and in Swedish.
    let page = admin.set_roles(&a, &w.admin_a.id, &["member"]).await;
    assert_eq!(page.status, 409);
    assert!(
        page.body
            .contains("the organisation&#39;s last administrator")
            || page.body.contains("the organisation's last administrator"),
        "{}",
        page.body
    );
    assert!(page.body.contains("role=\"alert\""));
    let path = a.path(&format!("/members/{}/roles", w.admin_a.id));
    let sv = admin
        .client
        .post(w.app.url(&path))
        .header("accept-language", "sv")
        .form(&[("csrf", admin.csrf.as_str()), ("roles", "member")])
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
    let page = admin.invite(&a, "not an address", "member").await;
    page.assert_says(400, "That is not a valid email address.");
    assert!(page.body.contains("value=\"not an address\""));
    let page = admin.invite(&a, "x@example.org", "").await;
    page.assert_says(400, "Choose at least one role.");
    let role = |name| [("name", name), ("description", "")];
    let page = admin.send(&a.path("/roles"), &role("Not Valid")).await;
    page.assert_says(400, "A role name may only contain");
    let page = admin.send(&a.path("/roles"), &role("coach")).await;
    assert_eq!(page.status, 409, "an existing role is not overwritten");
    let page = admin.send(&a.path("/roles/admin/delete"), &[]).await;
    page.assert_says(409, "The admin role is built in");
    let no_uris = [("name", "No URIs"), ("kind", "confidential")];
    let page = admin.send(&a.path("/clients"), &no_uris).await;
    page.assert_says(400, "needs at least one redirect URI");
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
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let first = admin.open(&a.path("/members")).await;
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
    let member_page = |rest: &str| a.path(&format!("/members/{}{rest}", w.member_a.id));
    let page = admin.get(&member_page("")).await;
    assert_eq!(page.body.matches("/sessions/").count(), 2, "{}", page.body);
    assert!(
        !page.body.contains("192.0.2.7"),
        "an org admin does not see where from"
    );
    let sup = w.browser(&w.superadmin).await;
    let sup_page = sup.get(&member_page("")).await;
    assert!(
        sup_page.body.contains("192.0.2.7 · Test browser"),
        "the superadmin does"
    );
    let sessions: Vec<String> =
        nyckel::store::sessions::list_for_user(&w.app.state.db, &w.member_a.id, w.app.state.now())
            .await
            .expect("db")
            .into_iter()
            .map(|s| s.sid)
            .filter(|s| s != &extra)
            .collect();
    let end = member_page(&format!("/sessions/{}/end", sessions[0]));
    let ended = admin.send(&end, &[]).await;
    assert_eq!(ended.status, 303);
    let page = admin.follow(ended).await;
    assert!(page.body.contains("The session has been ended"));
    member.get("/").await.assert_shows("You are not signed in.");

    // Sending a reset key says where it went and nothing else.
    let sent = admin.send(&member_page("/reset"), &[]).await;
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
    let link = w.app.reset_link(&w.member_a.email).await;
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
    let again = admin.send(&member_page("/reset"), &[]).await;
    again.assert_says(409, "a moment ago");
    assert!(again.body.contains("Send password reset key"));

    // Remove after the question.
    let remove = member_page("/remove");
    let ask = admin.get(&remove).await;
    ask.assert_shows("Remove Test Person from Club A?");
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
    let browser = Browser::new(&w.app);
    let page = browser.get("/admin/orgs/club-a/members?q=a").await;
    assert_eq!(page.status, 303);
    let login = page.location.expect("to the login page");
    assert_eq!(
        login,
        "/login?next=%2Fadmin%2Forgs%2Fclub-a%2Fmembers%3Fq%3Da"
    );
    let form = browser.get(&login).await;
    form.assert_shows("name=\"next\" value=\"/admin/orgs/club-a/members?q=a\"");
    let done = browser
        .submit_login(&form, &w.admin_a.email, PASSWORD)
        .await;
    done.assert_redirect("/admin/orgs/club-a/members?q=a");
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
        let other = Browser::new(&w.app);
        let next: String = url::form_urlencoded::byte_serialize(bad.as_bytes()).collect();
        let form = other.get(&format!("/login?next={next}")).await;
        let email = w.admin_a.email.as_str();
        let fill = [("email", email), ("password", PASSWORD), ("next", bad)];
        let done = other.submit(&form, "/login", &fill).await;
        let expected = if bad == "/%09/evil" { bad } else { "/" };
        let to = done.location.clone().unwrap_or_default();
        assert_eq!(done.status, 303);
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
    refused.assert_says(403, "You do not administer any organisation.");

    // Someone who administers two organisations chooses.
    w.app
        .add_member("club-b", &w.admin_a.email, &["admin"])
        .await;
    let page = admin.open("/admin").await;
    assert!(
        page.body.contains("href=\"/admin/orgs/club-a/members\"")
            && page.body.contains("href=\"/admin/orgs/club-b/members\"")
    );
    let org_page = admin.get("/admin/orgs/club-a/members").await;
    assert!(org_page.body.contains("Change organisation"));

    // The superadmin also creates organisations.
    let sup = Admin::sign_in(&w, &w.superadmin).await;
    let org = [
        ("name", "Lakeside Rowing"),
        ("slug", ""),
        ("default_locale", "en"),
    ];
    let made = sup.send("/admin/orgs", &org).await;
    made.assert_redirect("/admin/orgs/lakeside-rowing/members?done=org_created");
    let page = sup.follow(made).await;
    assert!(page.body.contains("The organisation has been created."));
    assert!(page.body.contains("The organisation has no members yet."));
    let taken = [("name", "Again"), ("slug", "club-a")];
    let taken = sup.send("/admin/orgs", &taken).await;
    taken.assert_says(409, "That name is already taken.");
}

#[tokio::test]
async fn a_password_set_by_an_administrator_is_changed_before_the_admin_pages() {
    let w = World::new().await;
    let admin = w.browser(&w.admin_a).await;
    assert_eq!(admin.get("/admin/orgs/club-a/members").await.status, 200);
    let hash = w.app.account_by_id(&w.admin_a.id).await.password_hash;
    let hash = hash.expect("a password");
    let (db, now) = (&w.app.state.db, w.app.state.now());
    nyckel::store::users::set_password(db, &w.admin_a.id, &hash, true, now)
        .await
        .expect("set");
    let page = admin.get("/admin/orgs/club-a/members").await;
    page.assert_redirect("/password/change?next=%2Fadmin%2Forgs%2Fclub-a%2Fmembers");
}

/// An organisation segment that is not UTF-8 is a bad request (400, the error page), for
/// pages and forms alike, and not "no such organisation".
#[tokio::test]
async fn an_organisation_path_that_does_not_decode_is_a_bad_request() {
    let w = World::new().await;
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let before = (w.snapshot().await, w.audit_count().await);
    let page = admin.get("/admin/orgs/%FF/members").await;
    assert_eq!(page.status, 400, "{}", page.body);
    page.assert_shows("The request was not valid.");
    let page = admin
        .send("/admin/orgs/%FF/invite", &[("email", "x@example.org")])
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    page.assert_shows("The request was not valid.");
    assert_eq!(before, (w.snapshot().await, w.audit_count().await));
}
