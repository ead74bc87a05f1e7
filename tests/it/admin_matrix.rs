//! The permission matrix walked through the admin API with tokens (issue 3, done-when 1;
//! issue 14, "permission matrix through tokens"; SECURITY.md 8.2.1/8.2.2/8.4.1), generated
//! from the API's route table so that a new route cannot escape it. For every endpoint and
//! every caller, on objects owned by organisation A, by B and (where a route has them) by
//! the installation, the request is sent with a valid body and its outcome compared with
//! what the rules give:
//!
//! - Callers: anonymous, A's service client (`client_credentials`), and every person kind
//!   (member of A, admin of A, admin of B, superadmin, outsider) with a token from every
//!   client kind (the installation's first-party console, an installation third-party app,
//!   a public installation app, an installation app restricted to B, an app owned by A and
//!   one owned by B, all registered for the admin API), after a login of one factor and of
//!   two. The tokens come from real code exchanges at /token of codes written as /authorize
//!   writes them, with the `admin` scope for everyone: the worst case of a token issued
//!   before a role or rule changed, since everything is checked at use.
//! - Expected: with production defaults (administrators use two factors), a one-factor token
//!   of anyone who must now use two gets 401 `insufficient_user_authentication`. Otherwise
//!   the caller's standing is the person's authority within the client's reach
//!   (ARCHITECTURE.md section 4, "Authority through clients"), computed here from a model of
//!   the world written independently of `admin::principal` and `orgs::reach`, and the
//!   permission matrix (`orgs::permissions::decide`) gives the answer: allowed, the
//!   endpoint's success status; refused, 401 (anonymous), 404 (no standing in the
//!   organisation: foreign objects look like missing ones), 403 (known but not theirs).
//! - Every refused request leaves the tables (`World::snapshot`) and the audit log
//!   unchanged; every allowed read changes nothing, every allowed write is audited; no
//!   answer shows a secret it should not.
//!
//! Each request gets its own fresh target object (a member to remove, an invitation to
//! revoke, a client to delete, a session to end, an organisation to delete), so one world
//! serves the whole walk.

use nyckel::admin::Caller;
use nyckel::admin::clients::CreateClient;
use nyckel::http::api::table::{Method, Op, ROUTES, Route};
use nyckel::orgs::permissions::{self, Refusal, Scope, Standing};
use serde_json::{Value, json};

use crate::helpers::admin::{Person, World};
use crate::helpers::api::{Api, Reply};
use crate::helpers::api_fixtures::{fresh_member, fresh_person, fresh_session, secret_shaped};
use crate::helpers::token::{Auth, CodeSpec, issue_code, redeem};
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

/// Who owns the object a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    A,
    B,
    Installation,
}

/// The kinds of person of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PersonKind {
    MemberA,
    AdminA,
    AdminB,
    Superadmin,
    Outsider,
}

const PEOPLE: [PersonKind; 5] = [
    PersonKind::MemberA,
    PersonKind::AdminA,
    PersonKind::AdminB,
    PersonKind::Superadmin,
    PersonKind::Outsider,
];

/// The kinds of client a person's token is issued to (all registered for the admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    /// The installation's own console: first-party (no consent), unrestricted.
    Console,
    /// An installation app that asks for consent.
    InstallationThirdParty,
    /// A public installation app (a single-page admin app).
    InstallationPublic,
    /// An installation app restricted to organisation B.
    InstallationOnlyB,
    /// An app owned by organisation A.
    OwnedByA,
    /// An app owned by organisation B.
    OwnedByB,
}

const CLIENTS: [ClientKind; 6] = [
    ClientKind::Console,
    ClientKind::InstallationThirdParty,
    ClientKind::InstallationPublic,
    ClientKind::InstallationOnlyB,
    ClientKind::OwnedByA,
    ClientKind::OwnedByB,
];

/// A caller of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// A's service client (`client_credentials` with the `admin` scope).
    ServiceA,
    Person {
        person: PersonKind,
        client: ClientKind,
        two_factors: bool,
    },
}

/// The organisations a client kind reaches (`None`: everything), from the rule: an owned
/// client reaches its owner; an installation client its restriction, or everything.
fn reach(client: ClientKind) -> Option<&'static [Owner]> {
    match client {
        ClientKind::Console
        | ClientKind::InstallationThirdParty
        | ClientKind::InstallationPublic => None,
        ClientKind::InstallationOnlyB | ClientKind::OwnedByB => Some(&[Owner::B]),
        ClientKind::OwnedByA => Some(&[Owner::A]),
    }
}

/// A person's own roles: `(superadmin, admin of, member of)` (admins are members).
fn roles(person: PersonKind) -> (bool, &'static [Owner], &'static [Owner]) {
    match person {
        PersonKind::MemberA => (false, &[], &[Owner::A]),
        PersonKind::AdminA => (false, &[Owner::A], &[Owner::A]),
        PersonKind::AdminB => (false, &[Owner::B], &[Owner::B]),
        PersonKind::Superadmin => (true, &[], &[]),
        PersonKind::Outsider => (false, &[], &[]),
    }
}

/// Whether the rules require two factors of the person now (administrators always).
fn needs_two_factors(person: PersonKind) -> bool {
    let (superadmin, admin_of, _) = roles(person);
    superadmin || !admin_of.is_empty()
}

/// The caller's standing towards an object's owner: the person's authority within the
/// client's reach. A `copy` is a fresh organisation with the owner's people in the same
/// roles (made for a deletion), which no restricted reach covers.
fn standing(who: Who, owner: Owner, copy: bool) -> Standing {
    use Standing::*;
    let (person, client) = match who {
        Who::Anonymous => return Anonymous,
        Who::ServiceA => {
            return match owner {
                Owner::A if !copy => Admin,
                Owner::Installation => Admin,
                _ => Outsider,
            };
        }
        Who::Person { person, client, .. } => (person, client),
    };
    let (superadmin, admin_of, member_of) = roles(person);
    let reached = |o: &Owner| reach(client).is_none_or(|r| r.contains(o) && !copy);
    if superadmin && reach(client).is_none() {
        return Superadmin;
    }
    let admin: Vec<Owner> = admin_of.iter().copied().filter(reached).collect();
    let member: Vec<Owner> = member_of.iter().copied().filter(reached).collect();
    match owner {
        // Installation-level standing: the highest anywhere within the reach.
        Owner::Installation if !admin.is_empty() => Admin,
        Owner::Installation if !member.is_empty() => Member,
        Owner::Installation => Outsider,
        o if admin.contains(&o) => Admin,
        o if member.contains(&o) => Member,
        _ => Outsider,
    }
}

/// The status the rules give `who` for `route` on an object of `owner`.
fn expected(route: &Route, who: Who, owner: Owner) -> u16 {
    if let Who::Person {
        person,
        two_factors: false,
        ..
    } = who
        && needs_two_factors(person)
    {
        return 401;
    }
    let action = route.action.expect("an admin endpoint");
    let rule = permissions::rule_of(action).expect("every action has a rule");
    // Deleting an organisation acts on a fresh copy of it (see `Fixtures::make`).
    let s = standing(who, owner, route.op == Op::DeleteOrg);
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
            _ if route.path.contains("{client}") || route.path.contains("{webhook}") => {
                Err(Refusal::NotFound)
            }
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
pub fn owners(route: &Route) -> &'static [Owner] {
    if route.path.starts_with("/orgs/{org}") {
        &[Owner::B, Owner::A]
    } else if route.path.starts_with("/clients/{client}")
        || route.path.starts_with("/webhooks/{webhook}")
    {
        &[Owner::B, Owner::A, Owner::Installation]
    } else {
        &[Owner::Installation]
    }
}

/// Every caller of the walk.
fn everyone() -> Vec<Who> {
    let mut all = vec![Who::Anonymous, Who::ServiceA];
    for person in PEOPLE {
        for client in CLIENTS {
            for two_factors in [false, true] {
                all.push(Who::Person {
                    person,
                    client,
                    two_factors,
                });
            }
        }
    }
    all
}

/// Makes the objects one request needs; returns its path and body.
pub struct Fixtures<'a> {
    w: &'a World,
    n: u32,
    /// Organisations made for deletion, with the world organisation they copy.
    fresh_orgs: Vec<(String, Owner)>,
}

impl Fixtures<'_> {
    /// Fixtures for `w`.
    pub fn new(w: &World) -> Fixtures<'_> {
        Fixtures {
            w,
            n: 0,
            fresh_orgs: Vec::new(),
        }
    }

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

    /// A fresh webhook endpoint of `owner`, switched off (nothing is posted anywhere), with
    /// one message queued for it; `(id, message)`.
    async fn fresh_webhook(&mut self, owner: Owner) -> (String, String) {
        let n = self.next();
        let org = match owner {
            Owner::Installation => None,
            o => Some(self.org(o).to_string()),
        };
        let state = &self.w.app.state;
        let created = nyckel::admin::webhooks::create(
            state,
            &Caller::operator(),
            org.as_deref(),
            nyckel::admin::webhooks::NewEndpoint {
                url: format!("https://hooks.example/{n}"),
                description: String::new(),
                events: vec!["client.changed".into()],
                enabled: false,
            },
        )
        .await
        .expect("endpoint");
        let id = created.endpoint.id;
        let message = format!("msg_fixture{n}");
        let queued = nyckel::store::webhooks::Queued {
            id: message.clone(),
            endpoint_id: id.clone(),
            event_type: "client.changed".into(),
            subject: format!("fixture{n}"),
            ordinal: i64::from(n),
            payload: state
                .keys
                .seal_data(b"{}", &nyckel::webhooks::events::seal_context(&message)),
        };
        let mut tx = state.db.begin().await.expect("tx");
        nyckel::store::webhooks::queue(&mut tx, &queued, state.now())
            .await
            .expect("queued");
        tx.commit().await.expect("commit");
        // Settled now (dropped: the endpoint is off), so that the server's own delivery loop
        // changes nothing during the request.
        nyckel::mail::deliver_due(state).await.expect("pass");
        (id, message)
    }

    /// The path and body of a request for `op` on an object of `owner`, with fresh objects
    /// where the request consumes one.
    pub async fn make(&mut self, op: Op, owner: Owner) -> (String, Option<Value>) {
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
            Op::GetOrg => (format!("/orgs/{org}"), None),
            // Deleting an organisation: a fresh one with the same people in the same roles,
            // so the world's organisations (and the clients they own) live on.
            Op::DeleteOrg => {
                let slug = format!("gone-{n}");
                let id = app.create_org(&format!("Gone {n}"), &slug).await;
                let (admin, member) = match owner {
                    Owner::A => (&w.admin_a, &w.member_a),
                    _ => (&w.admin_b, &w.member_b),
                };
                app.add_member(&slug, &admin.email, &["admin"]).await;
                app.add_member(&slug, &member.email, &["member"]).await;
                self.fresh_orgs.push((id.clone(), owner));
                (format!("/orgs/{id}"), None)
            }
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
            Op::ListOrgWebhooks => (format!("/orgs/{org}/webhooks"), None),
            Op::CreateOrgWebhook => (format!("/orgs/{org}/webhooks"), Some(new_webhook(n))),
            Op::ListInstallationWebhooks => ("/webhooks".into(), None),
            Op::CreateInstallationWebhook => ("/webhooks".into(), Some(new_webhook(n))),
            Op::GetWebhook | Op::DeleteWebhook => {
                let (id, _) = self.fresh_webhook(owner).await;
                (format!("/webhooks/{id}"), None)
            }
            Op::UpdateWebhook => {
                let (id, _) = self.fresh_webhook(owner).await;
                (
                    format!("/webhooks/{id}"),
                    Some(json!({ "events": ["member.added"], "enabled": false })),
                )
            }
            Op::RotateWebhookSecret => {
                let (id, _) = self.fresh_webhook(owner).await;
                (format!("/webhooks/{id}/secret"), None)
            }
            Op::ListWebhookDeliveries => {
                let (id, _) = self.fresh_webhook(owner).await;
                (format!("/webhooks/{id}/deliveries"), None)
            }
            Op::RedeliverWebhook => {
                let (id, message) = self.fresh_webhook(owner).await;
                (
                    format!("/webhooks/{id}/deliveries/{message}/redeliver"),
                    None,
                )
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

fn new_webhook(n: u32) -> Value {
    // Switched off: the server's delivery loop posts nothing anywhere.
    json!({ "url": format!("https://hooks.example/new{n}"), "events": ["member.added"], "enabled": false })
}

fn new_client(n: u32) -> Value {
    json!({ "name": format!("App {n}"), "redirect_uris": [REDIRECT_URI] })
}

/// The world's clients for the admin API, by kind: `(id, secret)` (no secret: public).
async fn clients(w: &World) -> Vec<(ClientKind, String, Option<String>)> {
    let mut out = vec![(
        ClientKind::Console,
        w.console.0.clone(),
        Some(w.console.1.clone()),
    )];
    for kind in &CLIENTS[1..] {
        let (owner, organisations, public) = match kind {
            ClientKind::InstallationOnlyB => (None, vec![w.org_b.clone()], false),
            ClientKind::OwnedByA => (Some(w.org_a.clone()), vec![w.org_a.clone()], false),
            ClientKind::OwnedByB => (Some(w.org_b.clone()), vec![w.org_b.clone()], false),
            ClientKind::InstallationPublic => (None, vec![], true),
            _ => (None, vec![], false),
        };
        let (id, secret) = w
            .app
            .create_client(CreateClient {
                name: format!("{kind:?}"),
                redirect_uris: vec![REDIRECT_URI.into()],
                public,
                organisations,
                owner_organisation_id: owner,
                admin_api: true,
                ..Default::default()
            })
            .await;
        out.push((*kind, id, secret));
    }
    out
}

/// The person of a kind.
fn person_of(w: &World, kind: PersonKind) -> &Person {
    match kind {
        PersonKind::MemberA => &w.member_a,
        PersonKind::AdminA => &w.admin_a,
        PersonKind::AdminB => &w.admin_b,
        PersonKind::Superadmin => &w.superadmin,
        PersonKind::Outsider => &w.outsider,
    }
}

/// A token of `who` (none for the anonymous caller).
async fn token_of(
    w: &World,
    who: Who,
    clients: &[(ClientKind, String, Option<String>)],
    service_a: &str,
) -> Option<String> {
    let (person, client, two_factors) = match who {
        Who::Anonymous => return None,
        Who::ServiceA => return Some(service_a.to_string()),
        Who::Person {
            person,
            client,
            two_factors,
        } => (person, client, two_factors),
    };
    let (_, id, secret) = clients
        .iter()
        .find(|(k, _, _)| *k == client)
        .expect("a client of each kind");
    let person = person_of(w, person);
    let spec = CodeSpec {
        scope: "openid admin",
        two_factors,
        ..CodeSpec::new(id, &person.id)
    };
    let (code, _) = issue_code(&w.app, spec).await;
    let auth = match secret {
        Some(s) => Auth::Basic(id, s),
        None => Auth::Public(id),
    };
    let answer = redeem(&w.app, auth, &code, None).await;
    assert_eq!(answer.status, 200, "{who:?}: {}", answer.json);
    assert_eq!(answer.str("scope"), "openid admin", "{who:?}");
    Some(answer.str("access_token").to_string())
}

#[tokio::test]
async fn every_endpoint_for_every_client_person_and_factor_against_both_organisations() {
    let started = std::time::Instant::now();
    // Production defaults: administrators must use two factors.
    let app = TestApp::spawn_with(|c| {
        c.admin.allow_set_password = true;
    })
    .await;
    let w = World::with(app).await;
    let (service_a, _) = w.service_token("club-a").await;
    let kinds = clients(&w).await;
    let mut callers = Vec::new();
    for who in everyone() {
        callers.push((who, token_of(&w, who, &kinds, &service_a).await));
    }
    let api = Api::new(&w.app, None);
    let mut fixtures = Fixtures::new(&w);

    let mut walked = 0;
    let mut failures = Vec::new();
    for route in ROUTES {
        if route.action.is_none() {
            // The OpenAPI document is public.
            for (_, token) in &callers {
                let (path, _) = fixtures.make(route.op, Owner::Installation).await;
                let r = api.with_token(token.as_deref()).get(&path).await;
                assert_eq!(r.status, 200, "{path} is public");
            }
            continue;
        }
        for &owner in owners(route) {
            // Refused callers first, so an allowed change cannot hide a refusal; then the
            // allowed reads, then the allowed changes one by one. Refused requests and
            // allowed reads are compared with the tables as one group each (every request
            // has its own fresh object, so any change shows): a snapshot per request would
            // make the walk several times slower.
            let mut refused = Vec::new();
            let mut reads = Vec::new();
            let mut writes = Vec::new();
            for (who, token) in &callers {
                let want = expected(route, *who, owner);
                let (path, body) = fixtures.make(route.op, owner).await;
                let call = (*who, token.as_deref(), want, path, body);
                if want >= 400 {
                    refused.push(call);
                } else if route.method == Method::Get {
                    reads.push(call);
                } else {
                    writes.push(call);
                }
            }
            for (group, calls) in [("refused", refused), ("read", reads)] {
                if calls.is_empty() {
                    continue;
                }
                let before = w.snapshot().await;
                let audit_before = w.audit_count().await;
                for (who, token, want, path, body) in &calls {
                    walked += 1;
                    let r = api
                        .with_token(*token)
                        .call(route.method, path, body.as_ref())
                        .await;
                    check(route, *who, owner, *want, path, &r, &mut failures);
                }
                if w.snapshot().await != before || w.audit_count().await != audit_before {
                    failures.push(format!(
                        "{} {} on {owner:?}'s objects: a {group} request changed something",
                        route.method.as_str().to_uppercase(),
                        route.path
                    ));
                }
            }
            for (who, token, want, path, body) in &writes {
                walked += 1;
                let audit_before = w.audit_count().await;
                let r = api
                    .with_token(*token)
                    .call(route.method, path, body.as_ref())
                    .await;
                if check(route, *who, owner, *want, path, &r, &mut failures)
                    && w.audit_count().await <= audit_before
                {
                    failures.push(format!(
                        "{} {path} as {who:?}: a change was not audited",
                        route.method.as_str().to_uppercase()
                    ));
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
        .map(|r| owners(r).len() * callers.len())
        .sum();
    assert_eq!(walked, expected_count);
    eprintln!(
        "admin matrix: {walked} requests ({} callers) in {:.1} s",
        callers.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Checks one answer: the expected status, no secret shown, refusals in the error shape
/// with the right challenge. Returns whether the status was the expected one.
fn check(
    route: &Route,
    who: Who,
    owner: Owner,
    want: u16,
    path: &str,
    r: &Reply,
    failures: &mut Vec<String>,
) -> bool {
    let what = format!(
        "{} {} as {who:?} on {owner:?}'s object: want {want}, got {} {}",
        route.method.as_str().to_uppercase(),
        path,
        r.status,
        r.text.chars().take(200).collect::<String>()
    );
    if r.status != want {
        failures.push(what);
        return false;
    }
    let may_show_secret = matches!(
        route.op,
        Op::CreateOrgClient
            | Op::CreateInstallationClient
            | Op::RotateClientSecret
            | Op::CreateOrgWebhook
            | Op::CreateInstallationWebhook
            | Op::RotateWebhookSecret
    );
    let shaped = secret_shaped(&r.json, may_show_secret);
    if r.text.contains(PASSWORD) || r.text.contains("$argon2") || !shaped.is_empty() {
        failures.push(format!("{what}: shows a secret {shaped:?}"));
    }
    if want >= 400 {
        if r.code().is_empty() {
            failures.push(format!("{what}: not in the error shape"));
        }
        let challenge = r.header("www-authenticate");
        if want == 401 && !challenge.starts_with("Bearer") {
            failures.push(format!("{what}: no WWW-Authenticate: Bearer"));
        }
        let step_up = matches!(who, Who::Person { .. }) && want == 401;
        if step_up
            && (r.code() != "insufficient_user_authentication"
                || !challenge.contains("acr_values=\"urn:nyckel:acr:2fa\""))
        {
            failures.push(format!("{what}: not an RFC 9470 step-up: {challenge}"));
        }
    }
    true
}

/// The expectations above are not vacuous: each kind of outcome occurs, and the client's
/// reach and the factors both decide some outcomes.
#[test]
fn the_walk_expects_every_kind_of_outcome() {
    let mut seen = std::collections::BTreeSet::new();
    let mut reach_decides = false;
    for route in ROUTES.iter().filter(|r| r.action.is_some()) {
        for &owner in owners(route) {
            for who in everyone() {
                let got = expected(route, who, owner);
                seen.insert(got);
                if let Who::Person {
                    person,
                    two_factors: true,
                    ..
                } = who
                {
                    let console = Who::Person {
                        person,
                        client: ClientKind::Console,
                        two_factors: true,
                    };
                    reach_decides |= got != expected(route, console, owner);
                }
            }
        }
    }
    for status in [200, 201, 202, 204, 401, 403, 404] {
        assert!(seen.contains(&status), "no request expects {status}");
    }
    assert!(reach_decides, "the client's reach never changes an outcome");
    // The headline case of issue 14: B's admin through A's app reaches nothing of B.
    let members = ROUTES
        .iter()
        .find(|r| r.op == Op::ListMembers)
        .expect("route");
    let via_a = Who::Person {
        person: PersonKind::AdminB,
        client: ClientKind::OwnedByA,
        two_factors: true,
    };
    assert_eq!(expected(members, via_a, Owner::B), 404);
}

/// Issue 14, defect 6: for an org admin, an organisation (or a client) of someone else looks
/// exactly like one that does not exist: the same status and the same body, on every route
/// of the table that names one.
#[tokio::test]
async fn a_foreign_organisation_or_client_looks_like_a_missing_one() {
    let app = TestApp::spawn_password_only_admins("compares a foreign and a missing object's answers, which the two-factor refusal would hide").await;
    let w = World::with(app).await;
    let api = w.api(&w.admin_a).await;
    let mut fixtures = Fixtures::new(&w);
    let mut compared = 0;
    let mut failures = Vec::new();
    for route in ROUTES.iter().filter(|r| r.op != Op::DeleteOrg) {
        let names_org = route.path.starts_with("/orgs/{org}");
        let names_client = route.path.starts_with("/clients/{client}");
        let names_webhook = route.path.starts_with("/webhooks/{webhook}");
        if !names_org && !names_client && !names_webhook {
            continue;
        }
        let (path, body) = fixtures.make(route.op, Owner::B).await;
        let missing_path = if names_org {
            path.replacen(&w.org_b, "no-such-organisation", 1)
        } else if names_webhook {
            let id = path
                .trim_start_matches("/webhooks/")
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            path.replacen(&id, "no-such-webhook", 1)
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
