//! The admin REST API under `/api/admin/v1` (JSON; described by the OpenAPI 3.1 document
//! that [`doc`] generates from the code, served at `/api/admin/v1/openapi.json`).
//!
//! Owns: the route table ([`table`]), bearer authentication ([`extract::ApiCaller`]: a
//! Nyckel access token with the `admin` scope, never a cookie), the error shape
//! ([`error`]), pagination parameters ([`paging`]) and thin handlers that parse a request,
//! call the `admin` use-cases (which check the permission matrix, audit and notify) and
//! serialise their views. No permission decision is made here.
//!
//! Not here: CORS (the API is not for browsers on other origins; none is sent), cookies,
//! HTML. `Cache-Control: no-store` comes from the global header middleware.

pub mod audit;
pub mod clients;
pub mod doc;
pub mod error;
pub mod extract;
pub mod invitations;
pub mod members;
pub mod orgs;
pub mod paging;
pub mod table;
pub mod two_factors;
pub mod users;
pub mod webhooks;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, on};

use crate::http::api::error::ApiError;
use crate::http::api::table::{Op, ROUTES, Route};
use crate::state::AppState;

pub use table::PREFIX;

/// The API's router, to be nested at [`PREFIX`]: one route per row of [`ROUTES`].
pub fn router() -> Router<AppState> {
    ROUTES
        .iter()
        .fold(Router::new(), |r, route| {
            r.route(route.path, handler(route))
        })
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
}

/// The handler of one route.
fn handler(route: &Route) -> MethodRouter<AppState> {
    let m = route.method.filter();
    match route.op {
        Op::OpenApi => on(m, get_openapi),
        Op::ListOrgs => on(m, orgs::list),
        Op::CreateOrg => on(m, orgs::create),
        Op::GetOrg => on(m, orgs::get),
        Op::UpdateOrg => on(m, orgs::update),
        Op::DeleteOrg => on(m, orgs::delete),
        Op::ListRoles => on(m, orgs::list_roles),
        Op::PutRole => on(m, orgs::put_role),
        Op::DeleteRole => on(m, orgs::delete_role),
        Op::GetTwoFactors => on(m, two_factors::get),
        Op::SetTwoFactors => on(m, two_factors::set),
        Op::ListMembers => on(m, members::list),
        Op::GetMember => on(m, members::get),
        Op::RemoveMember => on(m, members::remove),
        Op::SetMemberRoles => on(m, members::set_roles),
        Op::SendReset => on(m, members::send_reset),
        Op::ListSessions => on(m, members::list_sessions),
        Op::EndSession => on(m, members::end_session),
        Op::ListInvitations => on(m, invitations::list),
        Op::CreateInvitation => on(m, invitations::create),
        Op::RevokeInvitation => on(m, invitations::revoke),
        Op::ListOrgClients => on(m, clients::list_of_org),
        Op::CreateOrgClient => on(m, clients::create_for_org),
        Op::ListInstallationClients => on(m, clients::list_of_installation),
        Op::CreateInstallationClient => on(m, clients::create_for_installation),
        Op::GetClient => on(m, clients::get),
        Op::UpdateClient => on(m, clients::update),
        Op::DeleteClient => on(m, clients::delete),
        Op::RotateClientSecret => on(m, clients::rotate_secret),
        Op::ListOrgWebhooks => on(m, webhooks::list_of_org),
        Op::CreateOrgWebhook => on(m, webhooks::create_for_org),
        Op::ListInstallationWebhooks => on(m, webhooks::list_of_installation),
        Op::CreateInstallationWebhook => on(m, webhooks::create_for_installation),
        Op::GetWebhook => on(m, webhooks::get),
        Op::UpdateWebhook => on(m, webhooks::update),
        Op::DeleteWebhook => on(m, webhooks::delete),
        Op::RotateWebhookSecret => on(m, webhooks::rotate_secret),
        Op::ListWebhookDeliveries => on(m, webhooks::deliveries),
        Op::RedeliverWebhook => on(m, webhooks::redeliver),
        Op::ListOrgAudit => on(m, audit::list_of_org),
        Op::ExportOrgAudit => on(m, audit::export_of_org),
        Op::ListAudit => on(m, audit::list_all),
        Op::ExportAudit => on(m, audit::export_all),
        Op::SetPassword => on(m, users::set_password),
    }
}

/// The OpenAPI document (public: it describes the API, not its data).
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openApi",
    tag = "meta",
    summary = "This OpenAPI document.",
    responses((status = 200, description = "The document.", body = Object)),
)]
async fn get_openapi() -> Response {
    let mut res = doc::openapi_json().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

async fn unknown_path() -> ApiError {
    ApiError::unknown_path()
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
