//! The admin web UI under `/admin`: server-rendered pages (no scripts) over the admin
//! use-cases in [`crate::admin`], which check the permission matrix, record the audit log
//! and notify the people acted on. This module only reads forms, calls a use-case and
//! renders the answer; it decides no permission itself.
//!
//! Every page needs a login session (anonymous visitors are sent to `/login?next=...`).
//! Every form carries the session's CSRF token (403 otherwise) and is answered by a
//! redirect to a page that shows what was done (`?done=...`), except the pages that show a
//! client or webhook secret once: those are the answer to the post itself, so the secret is
//! never in a URL or stored anywhere. A refusal the person can fix (400, 409) is shown on the
//! form's page; an organisation the person has no standing in does not exist for them (404),
//! and a member without the admin role gets 403.

mod at_org;
mod audit;
mod client;
mod clients;
mod context;
mod imports;
mod invitations;
mod members;
mod orgs;
mod roles;
mod two_factors;
mod view;
mod webhooks;

use axum::Router;
use axum::routing::{get, post};

use crate::admin::orgs::OrgView;
use crate::state::AppState;
use context::{Admin, Stop};

/// The routes of the admin web UI.
pub fn routes() -> Router<AppState> {
    let org = |p: &str| format!("/admin/orgs/{{org}}{p}");
    Router::new()
        .route("/admin", get(orgs::get_switcher))
        .route("/admin/orgs", get(orgs::get_new).post(orgs::post_create))
        .route("/admin/audit", get(audit::get_installation))
        .route("/admin/audit/export", get(audit::get_installation_export))
        .route(&org(""), get(orgs::get_org))
        .route(&org("/members"), get(members::get_list))
        .route(&org("/members/{user}"), get(members::get_member))
        .route(&org("/members/{user}/roles"), post(members::post_roles))
        .route(
            &org("/members/{user}/remove"),
            get(members::get_remove).post(members::post_remove),
        )
        .route(&org("/members/{user}/reset"), post(members::post_reset))
        .route(
            &org("/members/{user}/sessions/{sid}/end"),
            post(members::post_end_session),
        )
        .route(
            &org("/invite"),
            get(invitations::get_invite).post(invitations::post_invite),
        )
        .route(
            &org("/invitations/{id}/revoke"),
            post(invitations::post_revoke),
        )
        .route(&org("/roles"), get(roles::get_list).post(roles::post_add))
        .route(
            &org("/roles/{name}"),
            get(roles::get_role).post(roles::post_edit),
        )
        .route(
            &org("/roles/{name}/delete"),
            get(roles::get_delete).post(roles::post_delete),
        )
        .route(
            &org("/clients"),
            get(clients::get_list).post(clients::post_create),
        )
        .route(&org("/clients/new"), get(clients::get_new))
        .route(
            &org("/clients/{id}"),
            get(client::get_client).post(client::post_edit),
        )
        .route(&org("/clients/{id}/rotate"), post(client::post_rotate))
        .route(
            &org("/clients/{id}/delete"),
            get(client::get_delete).post(client::post_delete),
        )
        .route(
            &org("/webhooks"),
            get(webhooks::get_list).post(webhooks::post_create),
        )
        .route(&org("/webhooks/new"), get(webhooks::get_new))
        .route(
            &org("/webhooks/{webhook}"),
            get(webhooks::get_webhook).post(webhooks::post_edit),
        )
        .route(
            &org("/webhooks/{webhook}/enable"),
            post(webhooks::post_enable),
        )
        .route(
            &org("/webhooks/{webhook}/disable"),
            post(webhooks::post_disable),
        )
        .route(
            &org("/webhooks/{webhook}/rotate"),
            post(webhooks::post_rotate),
        )
        .route(
            &org("/webhooks/{webhook}/delete"),
            get(webhooks::get_delete).post(webhooks::post_delete),
        )
        .route(
            &org("/webhooks/{webhook}/deliveries/{message}/redeliver"),
            post(webhooks::post_redeliver),
        )
        .route(
            &org("/two-factors"),
            get(two_factors::get_page).post(two_factors::post_set),
        )
        .route(&org("/audit"), get(audit::get_org))
        .route(&org("/audit/export"), get(audit::get_org_export))
        .route(
            &org("/import"),
            get(imports::get_import)
                .post(imports::post_import)
                // A file of up to the import's limit, with the form's other fields.
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::scim::import::MAX_BYTES + 64 * 1024,
                )),
        )
        .route(&org("/import/{id}"), get(imports::get_job))
}

/// Loads the organisation of an organisation page and checks that the caller may see it:
/// 404 when it does not exist for them, 403 for a member who is not an admin.
async fn org_of(state: &AppState, admin: &Admin, key: &str) -> Result<OrgView, Stop> {
    crate::admin::orgs::get(state, &admin.caller, key)
        .await
        .map_err(|e| admin.fail(e))
}

/// The base path of an organisation's pages.
fn org_path(org: &OrgView) -> String {
    format!("/admin/orgs/{}", view::enc(&org.slug))
}
