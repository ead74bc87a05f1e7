//! The organisation switcher (`/admin`) and, for the superadmin, creating organisations
//! (`/admin/orgs`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::AdminError;
use crate::admin::orgs::{self, OrgView};
use crate::http::authorize::see_other;
use crate::i18n::Texts;
use crate::orgs::permissions::Action;
use crate::state::AppState;

use super::at_org::AtOrg;
use super::context::{Admin, Fields, Shown, Stop};
use super::org_path;
use super::view::{Chrome, Pager, enc, page};

/// The organisation switcher.
#[derive(Template)]
#[template(path = "admin/switcher.html")]
pub struct SwitcherPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub orgs: Vec<OrgView>,
    pub pager: Pager,
}

/// `GET /admin`: the organisations the person administers (all for the superadmin); with
/// exactly one, straight to it. A person who administers nothing gets 403.
pub async fn get_switcher(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let q = Fields::query(raw.as_deref());
    let cursor = q.some("cursor");
    let list = match orgs::list(&state, &admin.caller, cursor, None).await {
        Ok(l) => l,
        Err(AdminError::Forbidden(_)) => return Err(no_admin(&admin)),
        Err(e) => return Err(admin.fail(e)),
    };
    let superadmin = admin.caller.principal.is_superadmin();
    if !superadmin && cursor.is_none() {
        match list.items.as_slice() {
            [] => return Err(no_admin(&admin)),
            [only] if list.next_cursor.is_none() => {
                return Ok(see_other(&format!("{}/members", org_path(only))));
            }
            _ => {}
        }
    }
    let pager = Pager::new("/admin", &[], cursor, list.next_cursor.as_deref());
    Ok(page(
        StatusCode::OK,
        &SwitcherPage {
            t: admin.texts,
            chrome: admin.chrome(None, "").with(admin.done(&q).notice),
            orgs: list.items,
            pager,
        },
    ))
}

fn no_admin(admin: &Admin) -> Stop {
    admin.error_page(StatusCode::FORBIDDEN, admin.texts.t("admin.error.no_admin"))
}

/// `GET /admin/orgs/{org}`: an organisation starts at its member list.
pub async fn get_org(
    AtOrg {
        state: _,
        admin: _,
        org,
    }: AtOrg,
) -> Result<Response, Stop> {
    Ok(see_other(&format!("{}/members", org_path(&org))))
}

/// The form for a new organisation.
#[derive(Template)]
#[template(path = "admin/org_new.html")]
pub struct NewOrgPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub name: String,
    pub slug: String,
    pub locale: String,
}

/// `GET /admin/orgs`: the form for a new organisation (superadmin).
pub async fn get_new(admin: Admin) -> Result<Response, Stop> {
    admin
        .caller
        .check_installation(Action::OrgCreate)
        .map_err(|e| admin.fail(e))?;
    Ok(new_page(
        &admin,
        Shown::plain(),
        String::new(),
        String::new(),
        "sv".into(),
    ))
}

fn new_page(admin: &Admin, shown: Shown, name: String, slug: String, locale: String) -> Response {
    page(
        shown.status,
        &NewOrgPage {
            t: admin.texts,
            chrome: admin.chrome(None, "").with(shown.notice),
            name,
            slug,
            locale,
        },
    )
}

/// `POST /admin/orgs`: creates an organisation and opens it.
pub async fn post_create(
    State(state): State<AppState>,
    admin: Admin,
    body: Bytes,
) -> Result<Response, Stop> {
    let form = admin.form(&body)?;
    let name = form.text("name");
    let slug = form.some("slug").map(str::to_string);
    let locale = form.some("default_locale").unwrap_or("sv").to_string();
    match orgs::create_as(&state, &admin.caller, &name, slug.as_deref(), Some(&locale)).await {
        Ok(org) => Ok(see_other(&format!(
            "/admin/orgs/{}/members?done=org_created",
            enc(&org.slug)
        ))),
        Err(e) => Ok(new_page(
            &admin,
            admin.refused(e)?,
            name,
            slug.unwrap_or_default(),
            locale,
        )),
    }
}
