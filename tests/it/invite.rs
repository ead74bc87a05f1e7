//! Accepting an invitation through its link page: looking never uses the link up; a new
//! person creates an account (a refused password leaves the link usable), an existing one
//! only confirms; the link works once; expired, revoked and unknown links get a helpful
//! page; the form needs its double-submit CSRF token.
//!
//! The key is only ever mailed, so these tests store the invitation with a key they know
//! (as `admin::invitations::create` does, hashed).

use nyckel::crypto::sha256_b64;

use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Org, fresh_invitation, roles_of};
use crate::helpers::{Browser, PASSWORD};

async fn is_open(w: &World, key: &str) -> bool {
    nyckel::store::invitations::find_open(&w.app.state.db, &sha256_b64(key), w.app.state.now())
        .await
        .expect("db")
        .is_some()
}

#[tokio::test]
async fn a_new_person_accepts_and_can_sign_in() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let (_, key) =
        fresh_invitation(&w.app, &a, "new.person@example.org", &["coach", "member"]).await;
    let browser = Browser::new(&w.app);
    let link = format!("/invite/{key}");

    // Looking (twice, like a mail scanner and then the person) changes nothing.
    for _ in 0..2 {
        let page = browser.get(&link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("You are invited to join Club A"),
            "{}",
            page.body
        );
        assert!(page.body.contains("new.person@example.org"));
        assert!(page.body.contains("coach, member"));
        assert!(page.body.contains("autocomplete=\"new-password\""));
        assert!(is_open(&w, &key).await);
    }
    let page = browser.get(&link).await;

    // Without the CSRF token: refused, nothing made.
    let before = w.snapshot().await;
    let refused = browser
        .post(&link, &[("name", "New Person"), ("password", PASSWORD)])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(before, w.snapshot().await);

    // A password the policy refuses: said why, the link still works.
    let weak = browser
        .submit(
            &page,
            &link,
            &[("name", "New Person"), ("password", "short")],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(
        weak.body.contains("The password must be at least"),
        "{}",
        weak.body
    );
    assert!(weak.body.contains("value=\"New Person\""));
    let common = browser
        .submit(
            &page,
            &link,
            &[
                ("name", "New Person"),
                ("password", "new.person@example.org!!"),
            ],
        )
        .await;
    assert_eq!(common.status, 400, "{}", common.body);
    assert!(is_open(&w, &key).await);
    assert_eq!(before, w.snapshot().await);

    // Accepted: an account with the email, the roles in Club A, and a way to sign in.
    let done = browser
        .submit(
            &page,
            &link,
            &[("name", "New Person"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("You are now a member of Club A"),
        "{}",
        done.body
    );
    assert!(done.body.contains("Your account has been created."));
    assert!(done.body.contains("href=\"/login\""));
    let user = nyckel::store::users::find_by_email(&w.app.state.db, "new.person@example.org")
        .await
        .expect("db")
        .expect("account");
    assert_eq!(user.name.as_deref(), Some("New Person"));
    assert_eq!(
        roles_of(&w.app, &a, &user.id).await,
        Some(vec!["coach".to_string(), "member".to_string()])
    );
    let signed_in = Browser::new(&w.app);
    let login = signed_in.get("/login").await;
    let res = signed_in
        .submit(
            &login,
            "/login",
            &[("email", "new.person@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 303, "the new account signs in");

    // The link worked once.
    assert!(!is_open(&w, &key).await);
    let again = browser.get(&link).await;
    assert_eq!(again.status, 410);
    assert!(
        again
            .body
            .contains("has expired, has been revoked or has already been used")
    );
    let resubmit = browser
        .submit(
            &page,
            &link,
            &[("name", "Someone Else"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(resubmit.status, 410);
}

#[tokio::test]
async fn an_existing_account_only_confirms() {
    let w = World::new().await;
    let [a, b] = Org::both(&w);
    let (_, key) = fresh_invitation(&w.app, &a, &w.member_b.email, &["coach"]).await;
    let browser = Browser::new(&w.app);
    let link = format!("/invite/{key}");
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("You already have an account"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("type=\"password\""),
        "no password is asked for"
    );
    let done = browser.submit(&page, &link, &[]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You are now a member of Club A"));
    assert!(!done.body.contains("Your account has been created."));
    assert_eq!(
        roles_of(&w.app, &a, &w.member_b.id).await,
        Some(vec!["coach".to_string()])
    );
    assert_eq!(
        roles_of(&w.app, &b, &w.member_b.id).await,
        Some(vec!["member".to_string()])
    );
    // Their password is what it was.
    let login_browser = Browser::new(&w.app);
    let login = login_browser.get("/login").await;
    let res = login_browser
        .submit(
            &login,
            "/login",
            &[("email", &w.member_b.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status, 303);
}

#[tokio::test]
async fn expired_revoked_and_unknown_links_say_so() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let browser = Browser::new(&w.app);

    let (revoked_id, revoked) = fresh_invitation(&w.app, &a, "r@example.org", &["member"]).await;
    assert!(
        nyckel::store::invitations::revoke(&w.app.state.db, &a.id, &revoked_id, w.app.state.now())
            .await
            .expect("db")
    );
    assert_eq!(browser.get(&format!("/invite/{revoked}")).await.status, 410);

    let unknown = nyckel::crypto::secret_token();
    let page = browser.get(&format!("/invite/{unknown}")).await;
    assert_eq!(page.status, 410, "a well-formed key looks like a used one");
    let page = browser.get("/invite/not-a-key").await;
    assert_eq!(page.status, 404);
    assert!(
        page.body
            .contains("There is no invitation at this address.")
    );

    let (_, expiring) = fresh_invitation(&w.app, &a, "e@example.org", &["member"]).await;
    let link = format!("/invite/{expiring}");
    let page = browser.get(&link).await;
    assert_eq!(page.status, 200);
    w.app.advance(w.app.state.config.admin.invitation_ttl + 1);
    let gone = browser.get(&link).await;
    assert_eq!(gone.status, 410);
    assert!(
        gone.body
            .contains("Ask the organisation to send you a new invitation.")
    );
    let late = browser
        .submit(
            &page,
            &link,
            &[("name", "Late Person"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(late.status, 410);
    assert!(
        nyckel::store::users::find_by_email(&w.app.state.db, "e@example.org")
            .await
            .expect("db")
            .is_none()
    );

    // Swedish when the browser asks for it.
    let (_, sv) = fresh_invitation(&w.app, &a, "sv@example.org", &["member"]).await;
    let res = browser
        .client
        .get(w.app.url(&format!("/invite/{sv}")))
        .header("accept-language", "sv-SE")
        .send()
        .await
        .expect("get");
    let body = res.text().await.expect("body");
    assert!(body.contains("Du är inbjuden till Club A"), "{body}");
    assert!(body.contains("<html lang=\"sv\">"));
}

/// The whole way: an admin invites on the invitation page, the link arrives by mail (to the
/// invited address only), the person accepts, and the admin sees the new member.
#[tokio::test]
async fn an_invitation_sent_from_the_admin_page_arrives_and_is_accepted() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = w.browser(&w.admin_a).await;
    let csrf = crate::helpers::admin_ui::csrf_of(&admin).await;
    let sent = admin
        .post(
            &a.path("/invite"),
            &[
                ("csrf", &csrf),
                ("email", "mailed@example.org"),
                ("roles", "coach"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let mails = w.app.mails_to("mailed@example.org").await;
    assert_eq!(mails.len(), 1);
    let link = mails[0].link("/invite/");
    assert!(link.starts_with(&w.app.issuer));
    let path = &link[w.app.issuer.len()..];
    let page = admin.follow(sent).await;
    assert!(!page.body.contains(path), "the admin never sees the link");

    let browser = Browser::new(&w.app);
    let invitation = browser.get(path).await;
    assert_eq!(invitation.status, 200, "{}", invitation.body);
    assert!(invitation.body.contains("mailed@example.org"));
    let done = browser
        .submit(
            &invitation,
            path,
            &[("name", "Mailed Person"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You are now a member of Club A"));
    let list = admin.get(&a.path("/members?q=mailed")).await;
    assert!(list.body.contains("Mailed Person"), "{}", list.body);
    let invitations = admin.get(&a.path("/invite")).await;
    assert!(
        invitations.body.contains(">Accepted<"),
        "{}",
        invitations.body
    );
}
