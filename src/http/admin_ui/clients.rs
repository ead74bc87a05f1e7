//! The organisation's own clients (apps that log people in, or services that use the admin
//! API): the list and creating one (one client's page is in `client.rs`). A secret is shown
//! once, as the answer to the form that made it; it is never in a URL or a later page.

use askama::Template;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::clients::{self, ClientView, CreateClient};
use crate::admin::orgs::OrgView;
use crate::i18n::Texts;

use super::at_org::{AtOrg, OrgForm};
use super::context::{Admin, Fields, Shown, Stop};
use super::members::{RoleChoice, role_choices};
use super::org_path;
use super::view::{Chrome, Pager, enc, page};

/// The client list.
#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct ClientsPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub clients: Vec<ClientView>,
    pub pager: Pager,
}

/// `GET /admin/orgs/{org}/clients?cursor=`.
pub async fn get_list(
    AtOrg { state, admin, org }: AtOrg,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let q = Fields::query(raw.as_deref());
    let cursor = q.some("cursor");
    let list = clients::list(&state, &admin.caller, Some(&org.id), cursor, None)
        .await
        .map_err(|e| admin.fail(e))?;
    let base = org_path(&org);
    let pager = Pager::new(
        &format!("{base}/clients"),
        &[],
        cursor,
        list.next_cursor.as_deref(),
    );
    Ok(page(
        StatusCode::OK,
        &ClientsPage {
            t: admin.texts,
            chrome: admin
                .org_chrome(&org, "clients")
                .with(admin.done(&q).notice),
            base,
            clients: list.items,
            pager,
        },
    ))
}

/// The form for a new client, as filled in so far.
pub struct ClientDraft {
    pub name: String,
    pub redirect_uris: String,
    pub public: bool,
    pub require_organisation: bool,
    pub admin_api: bool,
    pub roles: Vec<RoleChoice>,
}

/// The form for a new client.
#[derive(Template)]
#[template(path = "admin/client_new.html")]
pub struct NewClientPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub draft: ClientDraft,
}

fn new_page(admin: &Admin, org: &OrgView, draft: ClientDraft, shown: Shown) -> Response {
    page(
        shown.status,
        &NewClientPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "clients").with(shown.notice),
            base: org_path(org),
            draft,
        },
    )
}

/// `GET /admin/orgs/{org}/clients/new`.
pub async fn get_new(AtOrg { state, admin, org }: AtOrg) -> Result<Response, Stop> {
    let draft = ClientDraft {
        name: String::new(),
        redirect_uris: String::new(),
        public: false,
        require_organisation: false,
        admin_api: false,
        roles: role_choices(&state, &admin, &org, &[]).await?,
    };
    Ok(new_page(&admin, &org, draft, Shown::plain()))
}

/// A client's id and, once, its secret.
#[derive(Template)]
#[template(path = "admin/client_secret.html")]
pub struct SecretPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub here: String,
    pub name: String,
    pub client_id: String,
    pub secret: Option<String>,
    /// Created now (not rotated).
    pub created: bool,
}

/// `POST /admin/orgs/{org}/clients`: registers a client owned by the organisation and
/// shows its secret once.
pub async fn post_create(
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let visible = form.all("visible_roles");
    let redirect_uris = form.lines("redirect_uris");
    let admin_api = form.checked("admin_api");
    let public = form.one("kind") == Some("public");
    let req = CreateClient {
        name: form.text("name"),
        redirect_uris: redirect_uris.clone(),
        public,
        require_organisation: form.checked("require_organisation"),
        visible_roles: (!visible.is_empty()).then(|| visible.clone()),
        admin_api,
        // A service without a login page only uses its own credentials.
        grant_types: if admin_api && redirect_uris.is_empty() {
            vec!["client_credentials".into()]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    match clients::create_as(&state, &admin.caller, Some(&org.id), req).await {
        Ok(created) => Ok(secret_page(
            &admin,
            &org,
            created.client,
            created.client_secret,
            true,
        )),
        Err(e) => {
            let shown = admin.refused(e)?;
            let draft = ClientDraft {
                name: form.text("name"),
                redirect_uris: form.text("redirect_uris"),
                public,
                require_organisation: form.checked("require_organisation"),
                admin_api,
                roles: role_choices(&state, &admin, &org, &visible).await?,
            };
            Ok(new_page(&admin, &org, draft, shown))
        }
    }
}

pub(super) fn secret_page(
    admin: &Admin,
    org: &OrgView,
    client: ClientView,
    secret: Option<String>,
    created: bool,
) -> Response {
    page(
        StatusCode::OK,
        &SecretPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "clients"),
            here: format!("{}/clients/{}", org_path(org), enc(&client.client_id)),
            name: client.name,
            client_id: client.client_id,
            secret,
            created,
        },
    )
}
