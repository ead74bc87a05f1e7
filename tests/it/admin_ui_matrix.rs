//! The admin web UI against the permission matrix (issue 3, done when 1), generated: every
//! admin page and every form, for the superadmin, the admins of A and B, a member of A, an
//! outsider and an anonymous visitor, against organisation A and organisation B. The
//! expected answer comes from the matrix in `orgs::permissions` (through the person's
//! principal): allowed, the page or the form's redirect; anonymous, a redirect to the login
//! page; no standing in the organisation, 404; a member without the admin role, 403. A
//! refused form changes nothing (the tables and the audit log are compared), and an allowed
//! one changes something (so the comparison can fail).

use nyckel::admin::Principal;
use nyckel::orgs::permissions::{Action, Refusal};

use crate::helpers::Browser;
use crate::helpers::admin::{Person, World};
use crate::helpers::admin_ui::{
    Admin, Org, fresh_client, fresh_invitation, fresh_member, fresh_role, fresh_session, unique,
};

/// The routes in two groups, pages and forms of an organisation: the `Route` enum, the list
/// of all of them (`ORG_ROUTES`, pages first) and `Route::is_form`, from one list of names.
macro_rules! routes {
    (pages: [$($page:ident),+ $(,)?], forms: [$($form:ident),+ $(,)?]) => {
        /// What a route does.
        #[derive(Debug, Clone, Copy)]
        enum Route {
            $($page,)+
            $($form,)+
        }

        const ORG_ROUTES: &[Route] = &[$(Route::$page,)+ $(Route::$form,)+];

        impl Route {
            fn is_form(self) -> bool {
                matches!(self, $(Route::$form)|+)
            }
        }
    };
}

routes!(
    pages: [
        OrgStart,
        Members,
        Member,
        RemoveConfirm,
        Invite,
        Roles,
        Role,
        RoleDeleteConfirm,
        Clients,
        ClientNew,
        Client,
        ClientDeleteConfirm,
        Audit,
        AuditExport,
        Import,
    ],
    forms: [
        SetRoles,
        Remove,
        SendReset,
        EndSession,
        CreateInvitation,
        RevokeInvitation,
        AddRole,
        EditRole,
        DeleteRole,
        CreateClient,
        EditClient,
        RotateSecret,
        DeleteClient,
    ]
);

use Route::*;

impl Route {
    /// The matrix action that decides who may use the route.
    fn action(self) -> Action {
        match self {
            OrgStart | ClientNew => Action::OrgRead,
            Members => Action::MemberList,
            Member | RemoveConfirm => Action::MemberRead,
            Invite => Action::InvitationList,
            Roles | Role | RoleDeleteConfirm => Action::RoleList,
            Clients => Action::ClientList,
            Client | ClientDeleteConfirm => Action::ClientRead,
            Audit | AuditExport => Action::AuditRead,
            Import => Action::InvitationCreate,
            SetRoles => Action::MemberUpdateRoles,
            Remove => Action::MemberRemove,
            SendReset => Action::MemberSendReset,
            EndSession => Action::SessionEnd,
            CreateInvitation => Action::InvitationCreate,
            RevokeInvitation => Action::InvitationRevoke,
            AddRole | EditRole | DeleteRole => Action::RoleWrite,
            CreateClient => Action::ClientCreate,
            EditClient => Action::ClientUpdate,
            RotateSecret => Action::ClientRotateSecret,
            DeleteClient => Action::ClientDelete,
        }
    }

    /// The status of an allowed request.
    fn success(self) -> u16 {
        match self {
            OrgStart => 303,
            CreateClient | RotateSecret => 200,
            r if r.is_form() => 303,
            _ => 200,
        }
    }

    /// The path and form fields, with a fresh object to act on where the route needs one.
    async fn prepare(self, w: &World, org: &Org) -> (String, Vec<(String, String)>) {
        let app = &w.app;
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // The organisation's standing member, for the pages; fresh objects for the forms.
        let member = if org.id == w.org_a {
            &w.member_a.id
        } else {
            &w.member_b.id
        };
        let client = || fresh_client(app, org);
        let fresh = || fresh_member(app, org);
        let role = || fresh_role(app, org);
        let (rest, fields) = match self {
            OrgStart => (String::new(), vec![]),
            Members => ("/members?q=example".into(), vec![]),
            Member => (format!("/members/{member}"), vec![]),
            RemoveConfirm => (format!("/members/{member}/remove"), vec![]),
            Invite => ("/invite".into(), vec![]),
            Roles => ("/roles".into(), vec![]),
            Role => ("/roles/member".into(), vec![]),
            RoleDeleteConfirm => ("/roles/member/delete".into(), vec![]),
            Clients => ("/clients".into(), vec![]),
            ClientNew => ("/clients/new".into(), vec![]),
            Client => (format!("/clients/{}", client().await), vec![]),
            ClientDeleteConfirm => (format!("/clients/{}/delete", client().await), vec![]),
            Audit => ("/audit?kind=admin.roles_changed".into(), vec![]),
            AuditExport => ("/audit/export".into(), vec![]),
            Import => ("/import".into(), vec![]),
            SetRoles => (
                format!("/members/{}/roles", fresh().await),
                f(&[("roles", "admin"), ("roles", "member")]),
            ),
            Remove => (format!("/members/{}/remove", fresh().await), vec![]),
            SendReset => (format!("/members/{}/reset", fresh().await), vec![]),
            EndSession => {
                let m = fresh().await;
                let sid = fresh_session(app, &m).await;
                (format!("/members/{m}/sessions/{sid}/end"), vec![])
            }
            CreateInvitation => {
                let email = format!("i{}@example.org", unique());
                (
                    "/invite".into(),
                    f(&[("email", &email), ("roles", "member")]),
                )
            }
            RevokeInvitation => {
                let email = format!("r{}@example.org", unique());
                let (id, _) = fresh_invitation(app, org, &email, &["member"]).await;
                (format!("/invitations/{id}/revoke"), vec![])
            }
            AddRole => {
                let name = format!("n{}", unique());
                (
                    "/roles".into(),
                    f(&[("name", &name), ("description", "New")]),
                )
            }
            EditRole => (
                format!("/roles/{}", role().await),
                f(&[("description", "Changed")]),
            ),
            DeleteRole => (format!("/roles/{}/delete", role().await), vec![]),
            CreateClient => (
                "/clients".into(),
                f(&[
                    ("name", "Created app"),
                    ("redirect_uris", "https://created.example/cb"),
                    ("kind", "confidential"),
                ]),
            ),
            EditClient => (
                format!("/clients/{}", client().await),
                f(&[
                    ("name", "Edited"),
                    ("redirect_uris", "https://edited.example/cb"),
                ]),
            ),
            RotateSecret => (format!("/clients/{}/rotate", client().await), vec![]),
            DeleteClient => (format!("/clients/{}/delete", client().await), vec![]),
        };
        (org.path(&rest), fields)
    }
}

/// One visitor: a name for messages, their principal, their browser and its CSRF token.
struct Visitor {
    name: &'static str,
    principal: Principal,
    admin: Admin,
}

async fn visitors(w: &World) -> Vec<Visitor> {
    let mut out = Vec::new();
    let people: [(&'static str, &Person); 5] = [
        ("superadmin", &w.superadmin),
        ("admin A", &w.admin_a),
        ("admin B", &w.admin_b),
        ("member A", &w.member_a),
        ("outsider", &w.outsider),
    ];
    for (name, person) in people {
        out.push(Visitor {
            name,
            principal: Principal::person(&w.app.state.db, &person.id)
                .await
                .expect("db"),
            admin: Admin::sign_in(w, person).await,
        });
    }
    let browser = Browser::new(&w.app);
    let csrf = "none".into();
    out.push(Visitor {
        name: "anonymous",
        principal: Principal::Anonymous,
        admin: Admin { browser, csrf },
    });
    out
}

/// The expected status for a decision of the matrix.
fn expected(decision: Result<(), Refusal>, success: u16) -> u16 {
    match decision {
        Ok(()) => success,
        Err(Refusal::Unauthenticated) => 303,
        Err(Refusal::NotFound) => 404,
        Err(Refusal::Forbidden) => 403,
    }
}

/// Sends the request; returns the status and, for a redirect, where to.
async fn send(v: &Visitor, path: &str, form: Option<&[(String, String)]>) -> (u16, String, String) {
    let page = match form {
        Some(fields) => {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            v.admin.send(path, &pairs).await
        }
        None => v.admin.get(path).await,
    };
    (
        page.status.as_u16(),
        page.location.unwrap_or_default(),
        page.body,
    )
}

#[tokio::test]
async fn every_admin_page_and_form_follows_the_permission_matrix() {
    let w = World::new().await;
    let visitors = visitors(&w).await;
    let mut failures = Vec::new();
    let mut cases = 0;
    let mut seen = std::collections::BTreeMap::<u16, usize>::new();
    for route in ORG_ROUTES {
        for org in Org::both(&w) {
            for v in &visitors {
                cases += 1;
                let (path, fields) = route.prepare(&w, &org).await;
                let before = (w.snapshot().await, w.audit_count().await);
                let decision = v.principal.check(route.action(), &org.id);
                let want = expected(decision, route.success());
                let form = route.is_form().then_some(fields.as_slice());
                let (status, location, body) = send(v, &path, form).await;
                *seen.entry(status).or_default() += 1;
                let case = format!("{route:?} on {} as {}: {path}", org.slug, v.name);
                if status != want {
                    failures.push(format!("{case}: got {status}, want {want} ({location})"));
                    continue;
                }
                if decision == Err(Refusal::Unauthenticated) {
                    let back = if route.is_form() {
                        "/admin".into()
                    } else {
                        path.clone()
                    };
                    let want_location = format!(
                        "/login?next={}",
                        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
                    );
                    if location != want_location {
                        failures.push(format!("{case}: sent to {location}, want {want_location}"));
                    }
                }
                if status == 404 && body.contains("Club") {
                    failures.push(format!("{case}: the 404 page names an organisation"));
                }
                if route.is_form() {
                    let after = (w.snapshot().await, w.audit_count().await);
                    match (decision.is_ok(), before == after) {
                        (false, false) => {
                            failures.push(format!("{case}: refused, but changed the data"))
                        }
                        (true, true) => {
                            failures.push(format!("{case}: allowed, but changed nothing"))
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    assert_eq!(cases, ORG_ROUTES.len() * 2 * 6);
    // Every kind of answer occurred: superadmin and own admin 200/303, member 403,
    // outsider and the other organisation's admin 404, anonymous 303.
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        [200, 303, 403, 404],
        "{seen:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Installation pages: the switcher, creating organisations, the whole audit log.
#[tokio::test]
async fn installation_pages_follow_the_permission_matrix() {
    let w = World::new().await;
    let visitors = visitors(&w).await;
    let mut failures = Vec::new();
    for v in &visitors {
        // The switcher: anonymous to the login page; the superadmin sees all; an admin of one
        // organisation goes straight there; nobody else has anything to administer (403).
        let want = match (&v.principal, v.principal.administered()) {
            (Principal::Anonymous, _) => (303, "/login?next=%2Fadmin".to_string()),
            (_, None) => (200, String::new()),
            (_, Some(orgs)) if orgs.len() == 1 => {
                let slug = if orgs[0] == w.org_a {
                    "club-a"
                } else {
                    "club-b"
                };
                (303, format!("/admin/orgs/{slug}/members"))
            }
            _ => (403, String::new()),
        };
        let (status, location, body) = send(v, "/admin", None).await;
        if (status, location.clone()) != want {
            failures.push(format!(
                "/admin as {}: got {status} {location}, want {want:?}",
                v.name
            ));
        }
        if status == 200 && !(body.contains("Club A") && body.contains("Club B")) {
            failures.push(format!(
                "/admin as {}: not every organisation listed",
                v.name
            ));
        }

        for (path, action, form) in [
            ("/admin/orgs", Action::OrgCreate, None),
            ("/admin/audit", Action::AuditReadAll, None),
            ("/admin/audit/export", Action::AuditReadAll, None),
            (
                "/admin/orgs",
                Action::OrgCreate,
                Some(vec![("name".to_string(), format!("Org {}", unique()))]),
            ),
        ] {
            let decision = v.principal.check_installation(action);
            let success = if form.is_some() { 303 } else { 200 };
            let want = expected(decision, success);
            let before = (w.snapshot().await, w.audit_count().await);
            let (status, location, _) = send(v, path, form.as_deref()).await;
            if status != want {
                failures.push(format!(
                    "{path} as {} ({}): got {status} {location}, want {want}",
                    v.name,
                    if form.is_some() { "POST" } else { "GET" }
                ));
            }
            if form.is_some() {
                let after = (w.snapshot().await, w.audit_count().await);
                if decision.is_ok() == (before == after) {
                    failures.push(format!(
                        "POST {path} as {}: allowed={} but changed={}",
                        v.name,
                        decision.is_ok(),
                        before != after
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every form, posted by the superadmin (who may do everything) without the session's CSRF
/// token or with a forged one, is refused with 403 and changes nothing.
#[tokio::test]
async fn every_form_refuses_a_missing_or_forged_csrf_token() {
    let w = World::new().await;
    let sup = w.browser(&w.superadmin).await;
    let [a, _] = Org::both(&w);
    let mut failures = Vec::new();
    let mut forms: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for route in ORG_ROUTES.iter().filter(|r| r.is_form()) {
        forms.push(route.prepare(&w, &a).await);
    }
    forms.push(("/admin/orgs".into(), vec![("name".into(), "Forged".into())]));
    for (path, fields) in &forms {
        let before = (w.snapshot().await, w.audit_count().await);
        for token in [None, Some("forged")] {
            let mut pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(t) = token {
                pairs.push(("csrf", t));
            }
            let page = sup.post(path, &pairs).await;
            if page.status != 403 {
                failures.push(format!("{path} with token {token:?}: {}", page.status));
            }
        }
        if before != (w.snapshot().await, w.audit_count().await) {
            failures.push(format!("{path}: a refused form changed the data"));
        }
    }
    assert_eq!(forms.len(), 14);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Problems a page has with accessibility or self-containment: not exactly one `h1`, a form
/// control without a label, a table header without a scope, inline styles or scripts, or a
/// reference to another origin.
fn page_problems(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    if body.matches("<h1").count() != 1 {
        out.push(format!("{} h1 headings", body.matches("<h1").count()));
    }
    if !body.contains("<html lang=\"") {
        out.push("no lang".into());
    }
    for bad in [
        "<script",
        " style=\"",
        "src=\"http",
        "href=\"http",
        "action=\"http",
        "//",
    ] {
        let hits = body.matches(bad).count();
        // `//` only counts in attribute values that start with it (protocol-relative).
        let hits = if bad == "//" {
            body.matches("=\"//").count()
        } else {
            hits
        };
        if hits > 0 {
            out.push(format!("contains {bad:?}"));
        }
    }
    for th in body.split("<th").skip(1) {
        if !th.starts_with(" scope=\"") && !th.starts_with("ead") {
            out.push(format!("th without scope: <th{}", &th[..th.len().min(40)]));
        }
    }
    for control in ["<input", "<select", "<textarea"] {
        for tag in body.split(control).skip(1) {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            if tag.contains("type=\"hidden\"") || tag.contains(" hidden") {
                continue;
            }
            let Some(i) = tag.find(" id=\"") else {
                out.push(format!("{control} without id: {tag}"));
                continue;
            };
            let id = &tag[i + 5..];
            let id = &id[..id.find('"').unwrap_or(id.len())];
            if !body.contains(&format!("<label for=\"{id}\"")) {
                out.push(format!("{control} #{id} has no label"));
            }
        }
    }
    out
}

/// Every admin page (and the invitation page) is accessible and loads nothing from
/// elsewhere, under the strict default CSP.
#[tokio::test]
async fn every_page_is_accessible_and_self_contained() {
    let w = World::new().await;
    let sup = w.browser(&w.superadmin).await;
    let [a, _] = Org::both(&w);
    let mut paths = vec![
        "/admin".to_string(),
        "/admin/orgs".into(),
        "/admin/audit".into(),
        "/admin/orgs/nonesuch/members".into(),
    ];
    for route in ORG_ROUTES
        .iter()
        .filter(|r| !r.is_form() && r.success() == 200)
    {
        if !matches!(route, AuditExport) {
            paths.push(route.prepare(&w, &a).await.0);
        }
    }
    let (_, key) = fresh_invitation(&w.app, &a, "look@example.org", &["member"]).await;
    let mut failures = Vec::new();
    let mut seen = 0;
    for path in &paths {
        let page = sup.get(path).await;
        seen += 1;
        let csp = page.headers["content-security-policy"]
            .to_str()
            .unwrap_or_default();
        if csp != nyckel::http::headers::DEFAULT_CSP {
            failures.push(format!("{path}: CSP {csp}"));
        }
        for p in page_problems(&page.body) {
            failures.push(format!("{path}: {p}"));
        }
    }
    let anonymous = Browser::new(&w.app);
    for path in [format!("/invite/{key}"), "/invite/nonesuch".into()] {
        let page = anonymous.get(&path).await;
        for p in page_problems(&page.body) {
            failures.push(format!("{path}: {p}"));
        }
    }
    assert!(seen >= 14, "{seen}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_page_checks_find_problems() {
    let bad = "<html lang=\"en\"><h1>x</h1><h1>y</h1><input type=\"text\" id=\"a\"><select id=\"s\"></select>\
               <label for=\"s\">S</label><table><thead><tr><th>y</th></tr></thead></table>\
               <img src=\"https://cdn.example/x.png\"><p style=\"color:red\"><a href=\"//evil\">e</a>";
    let problems = page_problems(bad);
    assert_eq!(problems.len(), 6, "{problems:?}");
    let good = "<html lang=\"en\"><h1>x</h1><label for=\"a\">A</label><input type=\"text\" id=\"a\">\
                <input type=\"hidden\" name=\"csrf\" value=\"1\"><table><thead><tr><th scope=\"col\">y</th></tr></thead></table>";
    assert!(page_problems(good).is_empty(), "{:?}", page_problems(good));
}
