//! The organisation's own role list: add a role, describe it, delete it. The `admin` role
//! is built in: it can be described, not deleted.

use askama::Template;
use axum::extract::{Path, RawQuery};
use axum::response::Response;

use crate::admin::AdminError;
use crate::admin::orgs::{self, OrgView};
use crate::admin::principal::ADMIN_ROLE;
use crate::http::authorize::see_other;
use crate::i18n::Texts;
use crate::state::AppState;
use crate::store::orgs::Role;

use super::at_org::{AtOrg, OrgForm};
use super::context::{Admin, Fields, Shown, Stop};
use super::org_path;
use super::view::{Chrome, ConfirmPage, enc, page};

/// The role list with the form for a new role.
#[derive(Template)]
#[template(path = "admin/roles.html")]
pub struct RolesPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub roles: Vec<Role>,
    pub name: String,
    pub description: String,
}

/// `GET /admin/orgs/{org}/roles`.
pub async fn get_list(
    AtOrg { state, admin, org }: AtOrg,
    RawQuery(raw): RawQuery,
) -> Result<Response, Stop> {
    let shown = admin.done(&Fields::query(raw.as_deref()));
    list_page(&state, &admin, &org, shown, String::new(), String::new()).await
}

async fn list_page(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    shown: Shown,
    name: String,
    description: String,
) -> Result<Response, Stop> {
    let roles = orgs::roles(state, &admin.caller, &org.id)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(page(
        shown.status,
        &RolesPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "roles").with(shown.notice),
            base: org_path(org),
            roles,
            name,
            description,
        },
    ))
}

/// `POST /admin/orgs/{org}/roles`: adds a role (a name already on the list is refused:
/// edit that role instead).
pub async fn post_add(
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let name = form.text("name").trim().to_string();
    let description = form.text("description");
    let existing = orgs::roles(&state, &admin.caller, &org.id)
        .await
        .map_err(|e| admin.fail(e))?;
    let result = if existing.iter().any(|r| r.name == name) {
        Err(AdminError::Conflict(format!(
            "the role {name} already exists"
        )))
    } else {
        orgs::put_role(&state, &admin.caller, &org.id, &name, &description).await
    };
    match result {
        Ok(_) => Ok(to_list(&org, "role_saved")),
        Err(e) => list_page(&state, &admin, &org, admin.refused(e)?, name, description).await,
    }
}

/// Redirects to the role list with a status message.
fn to_list(org: &OrgView, done: &str) -> Response {
    see_other(&format!("{}/roles?done={done}", org_path(org)))
}

/// One role's page.
#[derive(Template)]
#[template(path = "admin/role.html")]
pub struct RolePage {
    pub t: Texts,
    pub chrome: Chrome,
    pub here: String,
    pub base: String,
    pub role: Role,
    pub builtin: bool,
}

/// Loads one role of the organisation (404 when it has none by that name).
async fn role_of(state: &AppState, admin: &Admin, org: &OrgView, name: &str) -> Result<Role, Stop> {
    orgs::roles(state, &admin.caller, &org.id)
        .await
        .map_err(|e| admin.fail(e))?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| admin.fail(AdminError::NotFound("no role".into())))
}

fn role_page(admin: &Admin, org: &OrgView, role: Role, shown: Shown) -> Response {
    let base = org_path(org);
    page(
        shown.status,
        &RolePage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "roles").with(shown.notice),
            here: format!("{base}/roles/{}", enc(&role.name)),
            base,
            builtin: role.name == ADMIN_ROLE,
            role,
        },
    )
}

/// `GET /admin/orgs/{org}/roles/{name}`.
pub async fn get_role(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, Stop> {
    let role = role_of(&state, &admin, &org, &name).await?;
    Ok(role_page(&admin, &org, role, Shown::plain()))
}

/// `POST /admin/orgs/{org}/roles/{name}`: changes the description.
pub async fn post_edit(
    Path((_, name)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let mut role = role_of(&state, &admin, &org, &name).await?;
    let description = form.text("description");
    match orgs::put_role(&state, &admin.caller, &org.id, &name, &description).await {
        Ok(_) => Ok(to_list(&org, "role_saved")),
        Err(e) => {
            let shown = admin.refused(e)?;
            role.description = description;
            Ok(role_page(&admin, &org, role, shown))
        }
    }
}

fn delete_page(admin: &Admin, org: &OrgView, role: &Role, shown: Shown) -> Response {
    let t = admin.texts;
    let here = format!("{}/roles/{}", org_path(org), enc(&role.name));
    page(
        shown.status,
        &ConfirmPage {
            t,
            chrome: admin.org_chrome(org, "roles").with(shown.notice),
            heading: t
                .t("admin.role.delete_heading")
                .replace("{name}", &role.name),
            text: t.t("admin.role.delete_text").to_string(),
            action: format!("{here}/delete"),
            button: t.t("admin.role.delete_button"),
            back: here,
        },
    )
}

/// `GET /admin/orgs/{org}/roles/{name}/delete`: asks before deleting.
pub async fn get_delete(
    AtOrg { state, admin, org }: AtOrg,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, Stop> {
    let role = role_of(&state, &admin, &org, &name).await?;
    Ok(delete_page(&admin, &org, &role, Shown::plain()))
}

/// `POST /admin/orgs/{org}/roles/{name}/delete`: deletes the role (and takes it from every
/// member who held it).
pub async fn post_delete(
    Path((_, name)): Path<(String, String)>,
    OrgForm(AtOrg { state, admin, org }, _): OrgForm,
) -> Result<Response, Stop> {
    match orgs::delete_role(&state, &admin.caller, &org.id, &name).await {
        Ok(()) => Ok(to_list(&org, "role_deleted")),
        Err(e) => {
            let shown = admin.refused(e)?;
            let role = role_of(&state, &admin, &org, &name).await?;
            Ok(delete_page(&admin, &org, &role, shown))
        }
    }
}
