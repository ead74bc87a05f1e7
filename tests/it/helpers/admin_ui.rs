//! Helpers for the admin web UI tests: the session's CSRF token as a page shows it, a
//! signed-in [`Admin`] whose forms carry it, fresh objects for a form to act on (so every
//! request of the matrix has its own target), and reading the stored state.

use std::ops::Deref;

use nyckel::admin::clients::CreateClient;
use nyckel::crypto::{random_id, secret_token, sha256_b64};

use crate::helpers::admin::{Person, World};
use crate::helpers::browser::Page;
use crate::helpers::{Browser, TestApp};

/// The CSRF token of the browser's session, read from the sign-out form of the home page.
pub async fn csrf_of(browser: &Browser) -> String {
    browser.get("/").await.csrf("/logout")
}

/// A browser signed in to the admin pages, with its session's CSRF token for the forms.
pub struct Admin {
    pub browser: Browser,
    pub csrf: String,
}

impl Deref for Admin {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl Admin {
    /// `who`, signed in through the login form.
    pub async fn sign_in(w: &World, who: &Person) -> Admin {
        let browser = w.browser(who).await;
        let csrf = csrf_of(&browser).await;
        Admin { browser, csrf }
    }

    /// Posts an admin form to `path`: the session's token and `fields`.
    pub async fn send(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.browser.post(path, &form).await
    }

    /// Invites `email` with `roles` (one role, or none when empty) on `org`'s invitation page.
    pub async fn invite(&self, org: &Org, email: &str, roles: &str) -> Page {
        let mut fields = vec![("email", email)];
        fields.extend((!roles.is_empty()).then_some(("roles", roles)));
        self.send(&org.path("/invite"), &fields).await
    }

    /// Sets a member's roles on `org`'s role editor.
    pub async fn set_roles(&self, org: &Org, member: &str, roles: &[&str]) -> Page {
        let fields: Vec<(&str, &str)> = roles.iter().map(|r| ("roles", *r)).collect();
        let path = org.path(&format!("/members/{member}/roles"));
        self.send(&path, &fields).await
    }
}

/// An organisation of the world: id and slug.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub slug: String,
}

impl Org {
    /// Club A and Club B.
    pub fn both(w: &World) -> [Org; 2] {
        [
            Org {
                id: w.org_a.clone(),
                slug: "club-a".into(),
            },
            Org {
                id: w.org_b.clone(),
                slug: "club-b".into(),
            },
        ]
    }

    /// The base path of the organisation's admin pages.
    pub fn path(&self, rest: &str) -> String {
        format!("/admin/orgs/{}{rest}", self.slug)
    }
}

/// A unique suffix for fresh objects.
pub fn unique() -> String {
    random_id().to_lowercase().replace(['-', '_'], "x")[..10].to_string()
}

/// A new account without a password (no hashing), member of `org` with role `member`.
pub async fn fresh_member(app: &TestApp, org: &Org) -> String {
    let email = format!("m{}@example.org", unique());
    let id = app
        .create_user_without_password(&email, Some("Fresh Member"))
        .await;
    app.add_member(&org.slug, &email, &["member"]).await;
    id
}

/// A login session of `user_id`; returns its public `sid`.
pub async fn fresh_session(app: &TestApp, user_id: &str) -> String {
    let amr = vec!["pwd".to_string()];
    let (session, _cookie) = nyckel::auth::session::insert(
        &app.state.db,
        &app.state.config.session,
        nyckel::auth::session::NewSession {
            user_id,
            amr: &amr,
            acr: nyckel::auth::session::acr::SINGLE_FACTOR,
            replaces: None,
            origin: nyckel::store::sessions::Origin {
                ip: Some("192.0.2.7"),
                user_agent: Some("Test browser"),
            },
        },
        None,
        app.state.now(),
    )
    .await
    .expect("session");
    session.sid
}

/// An open invitation to `org` with a known link key; returns `(id, key)`.
pub async fn fresh_invitation(
    app: &TestApp,
    org: &Org,
    email: &str,
    roles: &[&str],
) -> (String, String) {
    let key = secret_token();
    let id = random_id();
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    let now = app.state.now();
    nyckel::store::invitations::insert(
        &app.state.db,
        &nyckel::store::invitations::NewInvitation {
            id: &id,
            key_hash: &sha256_b64(&key),
            organisation_id: &org.id,
            email,
            roles: &roles,
            invited_by: None,
            expires_at: now + app.state.config.admin.invitation_ttl,
        },
        now,
    )
    .await
    .expect("invitation");
    (id, key)
}

/// A new role on the organisation's list; returns its name.
pub async fn fresh_role(app: &TestApp, org: &Org) -> String {
    let name = format!("r{}", unique());
    nyckel::store::orgs::put_role(&app.state.db, &org.id, &name, "", app.state.now())
        .await
        .expect("role");
    name
}

/// A confidential client owned by the organisation; returns its id.
pub async fn fresh_client(app: &TestApp, org: &Org) -> String {
    app.create_client(CreateClient {
        name: format!("App {}", unique()),
        redirect_uris: vec!["https://app.example/cb".into()],
        owner_organisation_id: Some(org.id.clone()),
        organisations: vec![org.id.clone()],
        ..Default::default()
    })
    .await
    .0
}

/// The stored secret hash of a client.
pub async fn secret_hash(app: &TestApp, client_id: &str) -> Option<String> {
    nyckel::store::clients::find(&app.state.db, client_id)
        .await
        .expect("db")
        .and_then(|c| c.secret_hash)
}

/// A member's roles in an organisation, as stored.
pub async fn roles_of(app: &TestApp, org: &Org, user_id: &str) -> Option<Vec<String>> {
    nyckel::store::orgs::member(&app.state.db, &org.id, user_id)
        .await
        .expect("db")
        .map(|m| nyckel::store::from_json_list(&m.roles))
}

/// The text between `<main` and `</main>` (the page without its frame).
pub fn main_of(body: &str) -> &str {
    let start = body.find("<main").unwrap_or(0);
    let end = body.find("</main>").unwrap_or(body.len());
    &body[start..end]
}
