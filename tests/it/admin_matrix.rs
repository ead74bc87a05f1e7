//! The permission matrix walked through the admin API (issue 3, done-when 1; SECURITY.md
//! 8.2.1/8.2.2/8.4.1), generated from the API's route table: for every endpoint, every
//! caller (superadmin, admin of A, admin of B, member of A, outsider, anonymous, and A's
//! service client) and objects owned by organisation A, by B and (for clients) by the
//! installation, the request is sent with a valid body and its outcome compared with the
//! one the permission matrix (`orgs::permissions::decide`) gives for the caller's standing:
//! allowed → the endpoint's success status; refused → 401 (anonymous), 404 (no standing in
//! the organisation: cross-organisation reads and writes look like missing objects), 403
//! (known but not theirs). Every refused request must leave the tables (`World::snapshot`)
//! and the audit log unchanged; every allowed read changes nothing, every allowed write is
//! audited.
//!
//! Each request gets its own fresh target object (a member to remove, an invitation to
//! revoke, a client to delete, a session to end), so one world serves the whole walk.

use nyckel::admin::Caller;
use nyckel::admin::clients::CreateClient;
use nyckel::http::api::table::{Method, Op, ROUTES, Route};
use nyckel::orgs::permissions::{self, Refusal, Scope, Standing};
use serde_json::{Value, json};

use crate::admin_api_support::{Api, fresh_member, fresh_person, fresh_session, secret_shaped};
use crate::helpers::admin::World;
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

/// The callers of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Superadmin,
    AdminA,
    AdminB,
    MemberA,
    Outsider,
    Anonymous,
    ServiceA,
}

const EVERYONE: [Who; 7] = [
    Who::Superadmin,
    Who::AdminA,
    Who::AdminB,
    Who::MemberA,
    Who::Outsider,
    Who::Anonymous,
    Who::ServiceA,
];

/// Who owns the object a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    A,
    B,
    Installation,
}

/// The caller's standing towards an object's owner, written down here independently of
/// the code under test (`admin::principal`).
fn standing(who: Who, owner: Owner) -> Standing {
    use Standing::*;
    match (who, owner) {
        (Who::Anonymous, _) => Anonymous,
        (Who::Superadmin, _) => Superadmin,
        (Who::AdminA | Who::ServiceA, Owner::A) => Admin,
        (Who::AdminB, Owner::B) => Admin,
        (Who::MemberA, Owner::A) => Member,
        // Installation-level standing: the highest anywhere.
        (Who::AdminA | Who::AdminB | Who::ServiceA, Owner::Installation) => Admin,
        (Who::MemberA, Owner::Installation) => Member,
        _ => Outsider,
    }
}

/// The status the matrix says `who` gets for `route` on an object of `owner`.
fn expected(route: &Route, who: Who, owner: Owner) -> u16 {
    let action = route.action.expect("an admin endpoint");
    let rule = permissions::rule_of(action).expect("every action has a rule");
    let s = standing(who, owner);
    let refusal = match (owner, rule.scope) {
        (Owner::A | Owner::B, _) => permissions::decide(s, action),
        // Installation actions: refusals are never hidden (403).
        (Owner::Installation, Scope::Installation) => {
            permissions::decide(s, action).map_err(|r| match r {
                Refusal::NotFound => Refusal::Forbidden,
                r => r,
            })
        }
        // An organisation's action on the installation's own clients: superadmin only; one
        // installation client does not exist for anyone else (404), the collection is
        // simply not theirs (403).
        (Owner::Installation, Scope::Organisation) => match s {
            Standing::Superadmin => Ok(()),
            Standing::Anonymous => Err(Refusal::Unauthenticated),
            _ if route.path.contains("{client}") => Err(Refusal::NotFound),
            _ => Err(Refusal::Forbidden),
        },
    };
    match refusal {
        Ok(()) => route.status,
        Err(Refusal::Unauthenticated) => 401,
        Err(Refusal::NotFound) => 404,
        Err(Refusal::Forbidden) => 403,
    }
}

/// The owners a route is walked against.
fn owners(route: &Route) -> &'static [Owner] {
    // B before A: deleting organisation A (the last walk) takes A's service client with it.
    if route.path.starts_with("/orgs/{org}") {
        &[Owner::B, Owner::A]
    } else if route.path.starts_with("/clients/{client}") {
        &[Owner::B, Owner::A, Owner::Installation]
    } else {
        &[Owner::Installation]
    }
}

/// Makes the objects one request needs; returns its path and body.
struct Fixtures<'a> {
    w: &'a World,
    n: u32,
}

impl Fixtures<'_> {
    fn next(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    fn org(&self, owner: Owner) -> &str {
        match owner {
            Owner::A => &self.w.org_a,
            Owner::B => &self.w.org_b,
            Owner::Installation => panic!("no organisation"),
        }
    }

    fn slug(owner: Owner) -> &'static str {
        match owner {
            Owner::A => "club-a",
            _ => "club-b",
        }
    }

    async fn fresh_member(&mut self, owner: Owner) -> String {
        let n = self.next();
        fresh_member(
            &self.w.app,
            Self::slug(owner),
            &format!("fresh{n}@example.org"),
            &["member"],
        )
        .await
    }

    async fn fresh_client(&mut self, owner: Owner) -> String {
        let n = self.next();
        let owner_id = match owner {
            Owner::Installation => None,
            o => Some(self.org(o).to_string()),
        };
        self.w
            .app
            .create_client(CreateClient {
                name: format!("Client {n}"),
                redirect_uris: vec![REDIRECT_URI.into()],
                organisations: owner_id.iter().cloned().collect(),
                owner_organisation_id: owner_id,
                ..Default::default()
            })
            .await
            .0
    }

    async fn make(&mut self, op: Op, owner: Owner) -> (String, Option<Value>) {
        let n = self.next();
        let org = match owner {
            Owner::Installation => String::new(),
            o => self.org(o).to_string(),
        };
        let w = self.w;
        let app: &TestApp = &w.app;
        match op {
            Op::OpenApi => ("/openapi.json".into(), None),
            Op::ListOrgs => ("/orgs".into(), None),
            Op::CreateOrg => (
                "/orgs".into(),
                Some(json!({ "name": format!("Org {n}"), "slug": format!("org-{n}") })),
            ),
            Op::GetOrg | Op::DeleteOrg => (format!("/orgs/{org}"), None),
            Op::UpdateOrg => (
                format!("/orgs/{org}"),
                Some(json!({ "name": format!("Renamed {n}") })),
            ),
            Op::ListRoles => (format!("/orgs/{org}/roles"), None),
            Op::GetTwoFactors => (format!("/orgs/{org}/two-factors"), None),
            Op::SetTwoFactors => (
                format!("/orgs/{org}/two-factors"),
                Some(json!({ "require_two_factors": false })),
            ),
            Op::PutRole => (
                format!("/orgs/{org}/roles/role-{n}"),
                Some(json!({ "description": "A role" })),
            ),
            Op::DeleteRole => {
                nyckel::store::orgs::put_role(&app.state.db, &org, &format!("gone-{n}"), "", 0)
                    .await
                    .expect("role");
                (format!("/orgs/{org}/roles/gone-{n}"), None)
            }
            Op::ListMembers => (format!("/orgs/{org}/members?q=example"), None),
            Op::GetMember => (format!("/orgs/{org}/members/{}", member(w, owner)), None),
            Op::ListSessions => (
                format!("/orgs/{org}/members/{}/sessions", member(w, owner)),
                None,
            ),
            Op::RemoveMember => {
                let m = self.fresh_member(owner).await;
                (format!("/orgs/{org}/members/{m}"), None)
            }
            Op::SetMemberRoles => {
                let m = self.fresh_member(owner).await;
                (
                    format!("/orgs/{org}/members/{m}/roles"),
                    Some(json!({ "roles": ["admin", "member"] })),
                )
            }
            Op::SendReset => {
                let m = self.fresh_member(owner).await;
                (format!("/orgs/{org}/members/{m}/reset"), None)
            }
            Op::EndSession => {
                let m = self.fresh_member(owner).await;
                let sid = fresh_session(app, &m).await;
                (format!("/orgs/{org}/members/{m}/sessions/{sid}"), None)
            }
            Op::ListInvitations => (format!("/orgs/{org}/invitations"), None),
            Op::CreateInvitation => (
                format!("/orgs/{org}/invitations"),
                Some(json!({ "email": format!("invitee{n}@example.org"), "roles": ["member"] })),
            ),
            Op::RevokeInvitation => {
                let inv = nyckel::admin::invitations::create(
                    &app.state,
                    &Caller::operator(),
                    &org,
                    &format!("revoked{n}@example.org"),
                    &["member".to_string()],
                )
                .await
                .expect("invitation");
                (format!("/orgs/{org}/invitations/{}", inv.id), None)
            }
            Op::ListOrgClients => (format!("/orgs/{org}/clients"), None),
            Op::CreateOrgClient => (format!("/orgs/{org}/clients"), Some(new_client(n))),
            Op::ListInstallationClients => ("/clients".into(), None),
            Op::CreateInstallationClient => ("/clients".into(), Some(new_client(n))),
            Op::GetClient | Op::DeleteClient => {
                let c = self.fresh_client(owner).await;
                (format!("/clients/{c}"), None)
            }
            Op::UpdateClient => {
                let c = self.fresh_client(owner).await;
                (
                    format!("/clients/{c}"),
                    Some(json!({ "redirect_uris": [format!("https://app.example/cb{n}")] })),
                )
            }
            Op::RotateClientSecret => {
                let c = self.fresh_client(owner).await;
                (format!("/clients/{c}/secret"), None)
            }
            Op::ListOrgAudit => (format!("/orgs/{org}/audit?limit=5"), None),
            Op::ExportOrgAudit => (format!("/orgs/{org}/audit/export"), None),
            Op::ListAudit => ("/audit?limit=5".into(), None),
            Op::ExportAudit => ("/audit/export".into(), None),
            Op::SetPassword => {
                let p = fresh_person(app, &format!("person{n}@example.org")).await;
                (
                    format!("/users/{p}/password"),
                    Some(json!({ "password": PASSWORD })),
                )
            }
        }
    }
}

/// An existing member of the owner (never a caller).
fn member(w: &World, owner: Owner) -> &str {
    match owner {
        Owner::A => &w.member_a.id,
        _ => &w.member_b.id,
    }
}

fn new_client(n: u32) -> Value {
    json!({ "name": format!("App {n}"), "redirect_uris": [REDIRECT_URI] })
}

#[tokio::test]
async fn every_endpoint_for_every_caller_against_both_organisations() {
    let started = std::time::Instant::now();
    let app = TestApp::spawn_with(|c| c.admin.allow_set_password = true).await;
    let w = World::with(app).await;
    let (service_a, _) = w.service_token("club-a").await;
    let mut tokens = Vec::new();
    for who in EVERYONE {
        let token = match who {
            Who::Superadmin => Some(w.token(&w.superadmin).await),
            Who::AdminA => Some(w.token(&w.admin_a).await),
            Who::AdminB => Some(w.token(&w.admin_b).await),
            Who::MemberA => Some(w.token(&w.member_a).await),
            Who::Outsider => Some(w.token(&w.outsider).await),
            Who::Anonymous => None,
            Who::ServiceA => Some(service_a.clone()),
        };
        tokens.push((who, token));
    }
    let api = Api::new(&w.app, None);
    let mut fixtures = Fixtures { w: &w, n: 0 };

    // Deleting an organisation goes last: the world needs both until then.
    let mut routes: Vec<&Route> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.op == Op::DeleteOrg);

    let mut walked = 0;
    let mut failures = Vec::new();
    for route in routes {
        if route.action.is_none() {
            // The OpenAPI document is public.
            for (_, token) in &tokens {
                let (path, _) = fixtures.make(route.op, Owner::Installation).await;
                let r = api.with_token(token.as_deref()).get(&path).await;
                assert_eq!(r.status, 200, "{path} is public");
            }
            continue;
        }
        for &owner in owners(route) {
            // Refused callers first, so an allowed deletion cannot hide a refusal.
            let mut callers: Vec<&(Who, Option<String>)> = tokens.iter().collect();
            callers.sort_by_key(|(who, _)| expected(route, *who, owner) < 300);
            for (who, token) in callers {
                let want = expected(route, *who, owner);
                let (path, body) = fixtures.make(route.op, owner).await;
                let before = w.snapshot().await;
                let audit_before = w.audit_count().await;
                let r = api
                    .with_token(token.as_deref())
                    .call(route.method, &path, body.as_ref())
                    .await;
                walked += 1;
                let what = format!(
                    "{} {} as {who:?} on {owner:?}'s object: want {want}, got {} {}",
                    route.method.as_str().to_uppercase(),
                    path,
                    r.status,
                    r.text.chars().take(200).collect::<String>()
                );
                if r.status != want {
                    failures.push(what);
                    continue;
                }
                let may_show_secret = matches!(
                    route.op,
                    Op::CreateOrgClient | Op::CreateInstallationClient | Op::RotateClientSecret
                );
                let shaped = secret_shaped(&r.json, may_show_secret);
                if r.text.contains(PASSWORD) || r.text.contains("$argon2") || !shaped.is_empty() {
                    failures.push(format!("{what}: shows a secret {shaped:?}"));
                }
                let after = w.snapshot().await;
                let audit_after = w.audit_count().await;
                if want >= 400 {
                    if r.code().is_empty() {
                        failures.push(format!("{what}: not in the error shape"));
                    }
                    if after != before || audit_after != audit_before {
                        failures.push(format!("{what}: a refused request changed something"));
                    }
                    if want == 401 && !r.header("www-authenticate").starts_with("Bearer") {
                        failures.push(format!("{what}: no WWW-Authenticate: Bearer"));
                    }
                } else if route.method == Method::Get {
                    if after != before || audit_after != audit_before {
                        failures.push(format!("{what}: a read changed something"));
                    }
                } else if audit_after <= audit_before {
                    failures.push(format!("{what}: a change was not audited"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {walked} requests went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every caller, every route with an action, each owner: nothing skipped.
    let expected_count: usize = ROUTES
        .iter()
        .filter(|r| r.action.is_some())
        .map(|r| owners(r).len() * EVERYONE.len())
        .sum();
    assert_eq!(walked, expected_count);
    eprintln!(
        "admin matrix: {walked} requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The expectations above are not vacuous: each kind of outcome occurs.
#[test]
fn the_walk_expects_every_kind_of_outcome() {
    let mut seen = std::collections::BTreeSet::new();
    for route in ROUTES.iter().filter(|r| r.action.is_some()) {
        for &owner in owners(route) {
            for who in EVERYONE {
                seen.insert(expected(route, who, owner));
            }
        }
    }
    for status in [200, 201, 202, 204, 401, 403, 404] {
        assert!(seen.contains(&status), "no request expects {status}");
    }
}

/// Issue 14, defect 6: for an org admin, an organisation (or a client) of someone else looks
/// exactly like one that does not exist: the same status and the same body, on every route
/// of the table that names one.
#[tokio::test]
async fn a_foreign_organisation_or_client_looks_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let w = World::with(app).await;
    let api = Api::new(&w.app, Some(&w.token(&w.admin_a).await));
    let mut fixtures = Fixtures { w: &w, n: 0 };
    let mut compared = 0;
    let mut failures = Vec::new();
    for route in ROUTES.iter().filter(|r| r.op != Op::DeleteOrg) {
        let names_org = route.path.starts_with("/orgs/{org}");
        let names_client = route.path.starts_with("/clients/{client}");
        if !names_org && !names_client {
            continue;
        }
        let (path, body) = fixtures.make(route.op, Owner::B).await;
        let missing_path = if names_org {
            path.replacen(&w.org_b, "no-such-organisation", 1)
        } else {
            let id = path
                .trim_start_matches("/clients/")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            path.replacen(&id, "no-such-client", 1)
        };
        assert_ne!(path, missing_path, "{path}");
        let foreign = api.call(route.method, &path, body.as_ref()).await;
        let missing = api.call(route.method, &missing_path, body.as_ref()).await;
        compared += 1;
        if foreign.status != 404 || foreign.status != missing.status || foreign.text != missing.text
        {
            failures.push(format!(
                "{} {}: foreign {} {} / missing {} {}",
                route.method.as_str(),
                route.path,
                foreign.status,
                foreign.text,
                missing.status,
                missing.text
            ));
        }
    }
    assert!(compared > 20, "only {compared} routes compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
