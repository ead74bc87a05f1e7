//! Admin authority through clients (issue 14, defects 1 and 2; ARCHITECTURE.md section 4,
//! "Authority through clients"): an access token's admin authority is the intersection of the
//! person's authority and the client's reach, and the person's current factor requirement is
//! checked at every use. Driven the way the attacker of the report did it: an organisation
//! admin registers a client through the API, a person logs in through it in a browser (real
//! password and SMS second factor, real consent page), and the organisation admin exchanges
//! the code.

use serde_json::{Value, json};

use crate::helpers::admin::{Person, World};
use crate::helpers::api::Api;
use crate::helpers::authorize::VERIFIER;
use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::flows::authorize_url;
use crate::helpers::token::{Auth, redeem, refresh};
use crate::helpers::two_factor::{self, sms_step, verify_phone};
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

/// What a person saw and got in one login through a client.
pub struct Login {
    /// Every consent page shown on the way.
    pub consent_pages: Vec<String>,
    /// The code at the client's redirect URI.
    pub code: String,
}

/// Logs `who` in through `client_id` in a new browser: the password, the SMS second factor
/// when it is asked for (to `phone`), and consent. Returns the consent pages and the code.
pub async fn log_in_through(
    app: &TestApp,
    client_id: &str,
    scope: &str,
    who: &Person,
    phone: Option<&str>,
) -> Login {
    let b = Browser::new(app);
    let mut page: Page = b
        .follow(
            b.get(&authorize_url(
                &app.issuer,
                client_id,
                scope,
                "st-1",
                None,
                &[],
            ))
            .await,
        )
        .await;
    let mut consent_pages = Vec::new();
    for _ in 0..8 {
        if page.has_form("/login") {
            let done = b
                .submit(
                    &page,
                    "/login",
                    &[("email", &who.email), ("password", PASSWORD)],
                )
                .await;
            page = b.follow(done).await;
        } else if page.has_form("/login/second/send") {
            let phone = phone.expect("a second factor was asked for");
            let done = sms_step(app, &b, phone).await;
            page = b.follow(done).await;
        } else if page.has_form("/consent") {
            consent_pages.push(page.body.clone());
            let done = b.submit(&page, "/consent", &[("decision", "allow")]).await;
            page = b.follow(done).await;
        } else {
            break;
        }
    }
    let loc = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("no redirect to the client:\n{}", page.body));
    assert!(loc.starts_with(REDIRECT_URI), "{loc}");
    let code = query(&loc)
        .get("code")
        .unwrap_or_else(|| panic!("no code in {loc}"))
        .clone();
    Login {
        consent_pages,
        code,
    }
}

/// Exchanges a code as the client's owner would.
pub async fn exchange(app: &TestApp, client: (&str, &str), code: &str) -> Value {
    let answer = redeem(app, Auth::Basic(client.0, client.1), code, Some(VERIFIER)).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.json
}

/// A person of the world who is also in another organisation, with a verified phone.
async fn person(w: &World, email: &str, phone: &str, memberships: &[(&str, &[&str])]) -> Person {
    let id = w.app.create_user(email).await;
    for (org, roles) in memberships {
        w.app.add_member(org, email, roles).await;
    }
    verify_phone(&w.app, email, phone).await;
    Person {
        id,
        email: email.into(),
    }
}

#[tokio::test]
async fn an_organisations_client_never_carries_authority_outside_that_organisation() {
    let w = World::with(two_factor::app().await).await;
    // Org A's admin registers a client of A for the admin API, through the API.
    let admin_a = w.api_2fa(&w.admin_a).await;
    let created = admin_a
        .register_client(
            "club-a",
            json!({ "name": "Club A tools", "admin_api": true }),
        )
        .await;
    created.expect(201);
    let client_id = created.str("client_id").to_string();
    let secret = created.str("client_secret").to_string();
    let client = (client_id.as_str(), secret.as_str());

    // Admin of B, member of A, logs in through A's client and consents.
    let admin_b_in_a = person(
        &w,
        "admin.b.member.a@example.org",
        "+46701110001",
        &[("club-a", &["member"]), ("club-b", &["admin"])],
    )
    .await;
    let login = log_in_through(
        &w.app,
        &client_id,
        "openid admin",
        &admin_b_in_a,
        Some("+46701110001"),
    )
    .await;
    for page in &login.consent_pages {
        assert!(
            !page.contains("Club B"),
            "the consent page offers B's authority:\n{page}"
        );
    }
    let tokens = exchange(&w.app, client, &login.code).await;
    let stolen = Api::new(&w.app, tokens["access_token"].as_str());
    let b_members = stolen.get("/orgs/club-b/members").await;
    assert_ne!(b_members.status, 200, "B's members: {}", b_members.text);
    assert!(!b_members.text.contains("member.b@example.org"));
    // Not through a refreshed token either.
    if let Some(r) = tokens["refresh_token"].as_str() {
        let again = refresh(&w.app, Auth::Basic(client.0, client.1), r).await;
        if again.status == 200 {
            let api = Api::new(&w.app, again.json["access_token"].as_str());
            assert_ne!(api.get("/orgs/club-b/members").await.status, 200);
        }
    }

    // Admin of both A and B through A's client: A's authority only, and the consent page
    // names A and not B.
    let admin_both = person(
        &w,
        "admin.both@example.org",
        "+46701110003",
        &[("club-a", &["admin"]), ("club-b", &["admin"])],
    )
    .await;
    let login = log_in_through(
        &w.app,
        &client_id,
        "openid admin",
        &admin_both,
        Some("+46701110003"),
    )
    .await;
    assert_eq!(login.consent_pages.len(), 1, "consent is asked");
    let page = &login.consent_pages[0];
    assert!(page.contains("Club A"), "the consent page names A:\n{page}");
    assert!(
        !page.contains("Club B"),
        "the consent page names B:\n{page}"
    );
    let tokens = exchange(&w.app, client, &login.code).await;
    assert_eq!(tokens["scope"], "openid admin");
    let bounded = Api::new(&w.app, tokens["access_token"].as_str());
    bounded.get("/orgs/club-a/members").await.expect(200);
    let b_members = bounded.get("/orgs/club-b/members").await;
    b_members.expect(404);
    let listed = bounded.get("/orgs").await;
    listed.expect(200);
    assert!(!listed.text.contains("club-b"), "{}", listed.text);

    // A superadmin who is a member of A: no installation authority through A's client.
    let super_in_a = person(
        &w,
        "super.member.a@example.org",
        "+46701110002",
        &[("club-a", &["member"])],
    )
    .await;
    nyckel::store::users::set_superadmin(&w.app.state.db, &super_in_a.id, true, w.app.state.now())
        .await
        .expect("superadmin");
    let login = log_in_through(
        &w.app,
        &client_id,
        "openid admin",
        &super_in_a,
        Some("+46701110002"),
    )
    .await;
    for page in &login.consent_pages {
        assert!(
            !page.contains("whole installation") && !page.contains("Club B"),
            "the consent page offers installation authority:\n{page}"
        );
    }
    let tokens = exchange(&w.app, client, &login.code).await;
    let stolen = Api::new(&w.app, tokens["access_token"].as_str());
    assert_ne!(stolen.get("/audit").await.status, 200, "installation audit");
    assert_ne!(stolen.get("/orgs/club-b/members").await.status, 200);
    assert_ne!(
        stolen
            .post("/orgs", &json!({ "name": "Evil", "slug": "evil" }))
            .await
            .status,
        201,
        "an organisation created"
    );
    let first_party = stolen
        .post(
            "/clients",
            &json!({ "name": "Evil", "redirect_uris": [REDIRECT_URI], "first_party": true }),
        )
        .await;
    assert_ne!(first_party.status, 201, "{}", first_party.text);

    // The same superadmin through the installation's console still has their authority
    // (the refusals above are the client's reach, not a broken token).
    let console = w.api_2fa(&super_in_a).await;
    console.get("/audit").await.expect(200);
    console.get("/orgs/club-b/members").await.expect(200);
}

#[tokio::test]
async fn a_one_factor_token_loses_admin_power_when_two_factors_are_required() {
    let w = World::with(two_factor::app().await).await;
    // A member's token after a password login, through the installation's console.
    let token = w.token(&w.member_a).await;
    // Later made admin of A: the admin UI now asks them for a second factor; so does the API.
    w.app
        .add_member("club-a", &w.member_a.email, &["admin"])
        .await;
    let api = Api::new(&w.app, Some(&token));
    let r = api.get("/orgs/club-a/members").await;
    assert_eq!(r.status, 401, "{}", r.text);
    let challenge = r.header("www-authenticate");
    assert!(
        challenge.contains("error=\"insufficient_user_authentication\"")
            && challenge.contains("acr_values=\"urn:nyckel:acr:2fa\""),
        "{challenge}"
    );
    // After a login of two factors, the same person may.
    let api = w.api_2fa(&w.member_a).await;
    api.get("/orgs/club-a/members").await.expect(200);
}

#[tokio::test]
async fn a_member_gets_no_admin_scope_through_a_first_party_console() {
    let w = World::new().await;
    let (id, secret) = w.console.clone();
    let login = log_in_through(&w.app, &id, "openid admin", &w.member_a, None).await;
    assert!(login.consent_pages.is_empty(), "first-party: no consent");
    let tokens = exchange(&w.app, (&id, &secret), &login.code).await;
    let scope = tokens["scope"].as_str().expect("scope");
    assert!(
        !scope.split(' ').any(|s| s == "admin"),
        "a member was silently given the admin scope: {scope}"
    );
    // An admin of A through the same console does get it.
    let login = log_in_through(&w.app, &id, "openid admin", &w.admin_a, None).await;
    let tokens = exchange(&w.app, (&id, &secret), &login.code).await;
    assert_eq!(tokens["scope"], "openid admin");
}
