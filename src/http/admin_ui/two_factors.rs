//! `GET`/`POST /admin/orgs/{org}/two-factors`: whether the organisation requires two factors
//! of its members (`auth::factors::settings`; the organisation's admins or a superadmin).

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use crate::admin::orgs::OrgView;
use crate::auth::factors::settings;
use crate::i18n::Texts;
use crate::state::AppState;

use super::at_org::{AtOrg, OrgForm};
use super::context::{Admin, Stop};
use super::org_path;
use super::view::{Chrome, Notice, page};

/// The page.
#[derive(Template)]
#[template(path = "admin/two_factors.html")]
pub struct TwoFactorsPage {
    pub t: Texts,
    pub chrome: Chrome,
    pub base: String,
    pub required: bool,
}

async fn show(
    state: &AppState,
    admin: &Admin,
    org: &OrgView,
    notice: Option<Notice>,
) -> Result<Response, Stop> {
    let current = settings::get_org(state, &admin.caller, &org.id)
        .await
        .map_err(|e| admin.fail(e))?;
    Ok(page(
        StatusCode::OK,
        &TwoFactorsPage {
            t: admin.texts,
            chrome: admin.org_chrome(org, "roles").with(notice),
            base: org_path(org),
            required: current.require_two_factors,
        },
    ))
}

/// `GET /admin/orgs/{org}/two-factors`.
pub async fn get_page(AtOrg { state, admin, org }: AtOrg) -> Result<Response, Stop> {
    show(&state, &admin, &org, None).await
}

/// `POST /admin/orgs/{org}/two-factors` (`required` = `on` or `off`).
pub async fn post_set(
    OrgForm(AtOrg { state, admin, org }, form): OrgForm,
) -> Result<Response, Stop> {
    let on = match form.text("required").as_str() {
        "on" => true,
        "off" => false,
        _ => {
            return Err(admin.fail(crate::admin::AdminError::Invalid(
                "required must be on or off".into(),
            )));
        }
    };
    settings::set_org(&state, &admin.caller, &org.id, on)
        .await
        .map_err(|e| admin.fail(e))?;
    let notice = Notice::done(admin.texts, "second_factor_admin.saved");
    show(&state, &admin, &org, Some(notice)).await
}
