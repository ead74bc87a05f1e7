//! Helpers for the admin web UI tests: the session's CSRF token as a page shows it, fresh
//! objects for a form to act on (so every request of the matrix has its own target), and
//! reading the stored state.

use nyckel::admin::clients::CreateClient;
use nyckel::crypto::{random_id, secret_token, sha256_b64};

use crate::helpers::admin::World;
use crate::helpers::{Browser, TestApp};

/// The CSRF token of the browser's session, read from the sign-out form of the home page.
pub async fn csrf_of(browser: &Browser) -> String {
    let home = browser.get("/").await;
    home.form("/logout")
        .and_then(|f| f.get("csrf").cloned())
        .unwrap_or_else(|| panic!("the home page has no sign-out form:\n{}", home.body))
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
    let id = nyckel::admin::users::create(
        &app.state.db,
        &app.state.hasher,
        &nyckel::auth::policy::PasswordPolicy::from_config(&app.state.config.password),
        nyckel::admin::users::CreateUser {
            email: email.clone(),
            name: Some("Fresh Member".into()),
            phone: None,
            password: None,
        },
        app.state.now(),
    )
    .await
    .expect("user created");
    app.add_member(&org.slug, &email, &["member"]).await;
    id
}

/// A login session of `user_id`; returns its public `sid`.
pub async fn fresh_session(app: &TestApp, user_id: &str) -> String {
    let amr = vec!["pwd".to_string()];
    let (session, _cookie) = nyckel::auth::session::create(
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
