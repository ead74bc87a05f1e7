//! Accepting an invitation through its link page: looking never uses the link up; a new
//! person creates an account (a refused password leaves the link usable), an existing one
//! only confirms; the link works once; expired, revoked and unknown links get a helpful
//! page; the form needs its double-submit CSRF token.
//!
//! The key is only ever mailed, so these tests store the invitation with a key they know
//! (as `admin::invitations::create` does, hashed).

use nyckel::crypto::sha256_b64;

use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Admin, Org, fresh_invitation, roles_of};
use crate::helpers::browser::Page;
use crate::helpers::{Browser, PASSWORD};

async fn is_open(w: &World, key: &str) -> bool {
    nyckel::store::invitations::find_open(&w.app.state.db, &sha256_b64(key), w.app.state.now())
        .await
        .expect("db")
        .is_some()
}

/// Accepts the invitation on `page` (at `link`) as a new person named `name`.
async fn accept(b: &Browser, page: &Page, link: &str, name: &str, password: &str) -> Page {
    let fill = [("name", name), ("password", password)];
    b.submit(page, link, &fill).await
}

/// Whether `email` signs in with the test password in a fresh browser.
async fn signs_in(w: &World, email: &str) -> bool {
    let b = Browser::new(&w.app);
    b.login_at("/login", email, PASSWORD).await.status == 303
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
        let page = browser.open(&link).await;
        page.assert_shows("You are invited to join Club A");
        assert!(page.body.contains("new.person@example.org"));
        assert!(page.body.contains("coach, member"));
        assert!(page.body.contains("autocomplete=\"new-password\""));
        assert!(is_open(&w, &key).await);
    }
    let page = browser.get(&link).await;

    // Without the CSRF token: refused, nothing made.
    let before = w.snapshot().await;
    let refused = [("name", "New Person"), ("password", PASSWORD)];
    let refused = browser.post(&link, &refused).await;
    assert_eq!(refused.status, 403);
    assert_eq!(before, w.snapshot().await);

    // A password the policy refuses: said why, the link still works.
    let weak = accept(&browser, &page, &link, "New Person", "short").await;
    weak.assert_says(400, "The password must be at least");
    assert!(weak.body.contains("value=\"New Person\""));
    let common = "new.person@example.org!!";
    let common = accept(&browser, &page, &link, "New Person", common).await;
    common.expect_status(400);
    assert!(is_open(&w, &key).await);
    assert_eq!(before, w.snapshot().await);

    // Accepted: an account with the email, the roles in Club A, and a way to sign in.
    let done = accept(&browser, &page, &link, "New Person", PASSWORD).await;
    done.assert_says(200, "You are now a member of Club A");
    assert!(done.body.contains("Your account has been created."));
    assert!(done.body.contains("href=\"/login\""));
    let user = w.app.account("new.person@example.org").await;
    assert_eq!(user.name.as_deref(), Some("New Person"));
    assert_eq!(
        roles_of(&w.app, &a, &user.id).await,
        Some(vec!["coach".to_string(), "member".to_string()])
    );
    assert!(
        signs_in(&w, "new.person@example.org").await,
        "the new account signs in"
    );

    // The link worked once.
    assert!(!is_open(&w, &key).await);
    let again = browser.get(&link).await;
    again.assert_says(
        410,
        "has expired, has been revoked or has already been used",
    );
    let resubmit = accept(&browser, &page, &link, "Someone Else", PASSWORD).await;
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
    page.assert_says(200, "You already have an account");
    assert!(
        !page.body.contains("type=\"password\""),
        "no password is asked for"
    );
    let done = browser.submit(&page, &link, &[]).await;
    done.assert_says(200, "You are now a member of Club A");
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
    assert!(signs_in(&w, &w.member_b.email).await);
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
    page.assert_says(404, "There is no invitation at this address.");

    let (_, expiring) = fresh_invitation(&w.app, &a, "e@example.org", &["member"]).await;
    let link = format!("/invite/{expiring}");
    let page = browser.open(&link).await;
    w.app.advance(w.app.state.config.admin.invitation_ttl + 1);
    let gone = browser.get(&link).await;
    gone.assert_says(410, "Ask the organisation to send you a new invitation.");
    let late = accept(&browser, &page, &link, "Late Person", PASSWORD).await;
    assert_eq!(late.status, 410);
    assert!(
        nyckel::store::users::find_by_email(&w.app.state.db, "e@example.org")
            .await
            .expect("db")
            .is_none()
    );

    // Swedish when the browser asks for it.
    let (_, sv) = fresh_invitation(&w.app, &a, "sv@example.org", &["member"]).await;
    let page = browser.get_in(&format!("/invite/{sv}"), "sv-SE").await;
    page.assert_shows("Du är inbjuden till Club A");
    assert!(page.body.contains("<html lang=\"sv\">"));
}

/// The whole way: an admin invites on the invitation page, the link arrives by mail (to the
/// invited address only), the person accepts, and the admin sees the new member.
#[tokio::test]
async fn an_invitation_sent_from_the_admin_page_arrives_and_is_accepted() {
    let w = World::new().await;
    let [a, _] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    let sent = admin.invite(&a, "mailed@example.org", "coach").await;
    let sent = sent.expect_status(303);
    let mails = w.app.mails_to("mailed@example.org").await;
    assert_eq!(mails.len(), 1);
    let link = mails[0].link("/invite/");
    assert!(link.starts_with(&w.app.issuer));
    let path = &link[w.app.issuer.len()..];
    let page = admin.follow(sent).await;
    assert!(!page.body.contains(path), "the admin never sees the link");

    let browser = Browser::new(&w.app);
    let invitation = browser.open(path).await;
    assert!(invitation.body.contains("mailed@example.org"));
    let done = accept(&browser, &invitation, path, "Mailed Person", PASSWORD).await;
    done.assert_says(200, "You are now a member of Club A");
    let list = admin.get(&a.path("/members?q=mailed")).await;
    list.assert_shows("Mailed Person");
    let invitations = admin.get(&a.path("/invite")).await;
    invitations.assert_shows(">Accepted<");
}
