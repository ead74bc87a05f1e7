//! A small world for admin tests: a superadmin, two organisations (A and B) each with an
//! admin and a member, a person in both, an outsider, and ways to act as each of them
//! through the real interfaces: a signed-in browser (admin web UI) or an admin-scoped
//! bearer token (admin API).

use nyckel::admin::clients::CreateClient;
use serde_json::Value;

use crate::helpers::api::Api;
use crate::helpers::token::{Auth, CodeSpec, issue_code, redeem, token};
use crate::helpers::{Browser, PASSWORD, REDIRECT_URI, TestApp};

/// A person of the world.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub email: String,
}

/// The world.
pub struct World {
    pub app: TestApp,
    pub org_a: String,
    pub org_b: String,
    pub superadmin: Person,
    pub admin_a: Person,
    pub admin_b: Person,
    pub member_a: Person,
    pub member_b: Person,
    /// A member of both A (role `coach`) and B (role `member`).
    pub both: Person,
    /// Signed in, but a member of nothing.
    pub outsider: Person,
    /// An installation client registered for the admin API (people's admin tokens).
    pub console: (String, String),
}

impl World {
    /// Builds the world on a fresh app.
    pub async fn new() -> World {
        Self::with(
            TestApp::spawn_password_only_admins(
                "the world's administrators reach the admin UI and API with a password so that \
                     these tests check permissions; the two-factor rule has its own tests \
                     (two_factor.rs, admin_authority.rs, admin_matrix.rs), which use World::with",
            )
            .await,
        )
        .await
    }

    /// Builds the world on a given app.
    pub async fn with(app: TestApp) -> World {
        let org_a = app.create_org("Club A", "club-a").await;
        let org_b = app.create_org("Club B", "club-b").await;
        let person = |email: &str| email.to_string();
        let mut people = Vec::new();
        for email in [
            "super@example.org",
            "admin.a@example.org",
            "admin.b@example.org",
            "member.a@example.org",
            "member.b@example.org",
            "both@example.org",
            "outsider@example.org",
        ] {
            let id = app.create_user(email).await;
            people.push(Person {
                id,
                email: person(email),
            });
        }
        nyckel::store::users::set_superadmin(&app.state.db, &people[0].id, true, app.state.now())
            .await
            .expect("superadmin");
        app.add_member("club-a", &people[1].email, &["admin"]).await;
        app.add_member("club-b", &people[2].email, &["admin"]).await;
        app.add_member("club-a", &people[3].email, &["member"])
            .await;
        app.add_member("club-b", &people[4].email, &["member"])
            .await;
        app.add_member("club-a", &people[5].email, &["coach"]).await;
        app.add_member("club-b", &people[5].email, &["member"])
            .await;
        let (id, secret) = app
            .create_client(CreateClient {
                name: "Admin console".into(),
                redirect_uris: vec![REDIRECT_URI.into()],
                first_party: true,
                admin_api: true,
                ..Default::default()
            })
            .await;
        let mut it = people.into_iter();
        let mut next = || it.next().expect("person");
        World {
            org_a,
            org_b,
            superadmin: next(),
            admin_a: next(),
            admin_b: next(),
            member_a: next(),
            member_b: next(),
            both: next(),
            outsider: next(),
            console: (id, secret.expect("secret")),
            app,
        }
    }

    /// An admin-scoped access token of `who` after a password login, from a real code
    /// exchange at /token through the installation's console.
    pub async fn token(&self, who: &Person) -> String {
        self.token_of(who, false).await
    }

    /// [`World::token`] after a login of two factors.
    pub async fn token_2fa(&self, who: &Person) -> String {
        self.token_of(who, true).await
    }

    /// An admin-API caller with [`World::token`] of `who`.
    pub async fn api(&self, who: &Person) -> Api {
        Api::new(&self.app, Some(&self.token(who).await))
    }

    /// An admin-API caller with [`World::token_2fa`] of `who`.
    pub async fn api_2fa(&self, who: &Person) -> Api {
        Api::new(&self.app, Some(&self.token_2fa(who).await))
    }

    /// An admin-scoped access token of `who` through the console, after a login of one or
    /// two factors.
    pub async fn token_of(&self, who: &Person, two_factors: bool) -> String {
        let (id, secret) = &self.console;
        let mut spec = CodeSpec::new(id, &who.id);
        spec.scope = "openid admin";
        spec.two_factors = two_factors;
        let (code, _) = issue_code(&self.app, spec).await;
        let answer = redeem(&self.app, Auth::Basic(id, secret), &code, None).await;
        answer.str("access_token").to_string()
    }

    /// A `client_credentials` token with the `admin` scope of a new service client owned by
    /// `org` (id or slug). Returns `(token, client_id)`.
    pub async fn service_token(&self, org: &str) -> (String, String) {
        let (id, secret) = service_client(&self.app, org, "Service").await;
        (
            client_credentials(&self.app, &id, &secret, "admin").await,
            id,
        )
    }

    /// A browser signed in as `who` through the plain login form.
    pub async fn browser(&self, who: &Person) -> Browser {
        let browser = Browser::new(&self.app);
        let done = browser.login(&who.email, PASSWORD).await;
        assert_eq!(done.status, 303, "login of {} failed", who.email);
        browser
    }

    /// The number of audit events, to show that a refused request recorded no change.
    pub async fn audit_count(&self) -> i64 {
        let (n,): (i64,) = sqlx::query_as("select count(*) from audit_events")
            .fetch_one(self.app.state.db.pool())
            .await
            .expect("count");
        n
    }

    /// Asserts that the tables ([`World::snapshot`]) are as `before` and that no audit
    /// event was recorded since there were `audit` ([`World::audit_count`]).
    pub async fn assert_unchanged(&self, before: &Value, audit: i64) {
        assert_eq!(&self.snapshot().await, before, "nothing changed");
        assert_eq!(self.audit_count().await, audit, "nothing recorded");
    }

    /// A snapshot of the tables an admin action could change, to compare before and after
    /// a refused request.
    pub async fn snapshot(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (name, sql) in [
            (
                "memberships",
                "select user_id || ':' || organisation_id || ':' || roles from memberships order by 1",
            ),
            (
                "roles",
                "select organisation_id || ':' || name || ':' || description from organisation_roles order by 1",
            ),
            (
                "orgs",
                "select id || ':' || slug || ':' || name || ':' || default_locale from organisations order by 1",
            ),
            (
                "clients",
                "select id || ':' || name || ':' || redirect_uris || ':' || coalesce(secret_hash, '') from clients order by 1",
            ),
            (
                "invitations",
                "select id || ':' || coalesce(revoked_at, 0) from invitations order by 1",
            ),
            ("sessions", "select sid from sessions order by 1"),
            (
                "users",
                "select id || ':' || coalesce(password_hash, '') || ':' || superadmin || ':' || email from users order by 1",
            ),
            ("login_keys", "select key_hash from login_keys order by 1"),
            (
                "webhook_endpoints",
                "select id || ':' || url || ':' || events || ':' || enabled || ':' || secret_sealed from webhook_endpoints order by 1",
            ),
            (
                "webhook_messages",
                "select id || ':' || state from webhook_messages order by 1",
            ),
            (
                "scim_users",
                "select id || ':' || coalesce(user_id, '') || ':' || active || ':' || roles || ':' || resource from scim_users order by 1",
            ),
            (
                "scim_groups",
                "select organisation_id || ':' || role || ':' || display_name from scim_groups order by 1",
            ),
        ] {
            let rows: Vec<(String,)> = sqlx::query_as(sql)
                .fetch_all(self.app.state.db.pool())
                .await
                .expect("snapshot");
            out.insert(
                name.into(),
                Value::Array(rows.into_iter().map(|(r,)| Value::String(r)).collect()),
            );
        }
        Value::Object(out)
    }
}

/// A new service client owned by `org` (id or slug): confidential, `client_credentials`,
/// registered for the admin API. Returns `(client_id, secret)`.
pub async fn service_client(app: &TestApp, org: &str, name: &str) -> (String, String) {
    let org = nyckel::store::orgs::find_by_id_or_slug(&app.state.db, org)
        .await
        .expect("db")
        .expect("org");
    let (id, secret) = app
        .create_client(CreateClient {
            name: format!("{name} of {}", org.slug),
            grant_types: vec!["client_credentials".into()],
            owner_organisation_id: Some(org.id.clone()),
            organisations: vec![org.id.clone()],
            admin_api: true,
            ..Default::default()
        })
        .await;
    (id, secret.expect("secret"))
}

/// A `client_credentials` access token of the client with `scope`, checking that the token
/// endpoint granted exactly that scope.
pub async fn client_credentials(app: &TestApp, id: &str, secret: &str, scope: &str) -> String {
    let answer = token(
        app,
        Auth::Basic(id, secret),
        &[("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!(answer.str("scope"), scope);
    answer.str("access_token").to_string()
}
