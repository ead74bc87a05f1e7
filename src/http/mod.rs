//! Everything that knows axum: the router, middleware (security headers, CORS for the API
//! endpoints, panic catching, body limits, request logging), extractors, error responses and
//! the pages. Handlers are thin: they parse, call `oidc`/`auth`/`admin`, and render.

pub mod account;
pub mod account_channels;
pub mod account_data;
pub mod account_security;
pub mod admin_ui;
pub mod api;
pub mod authorize;
pub mod consent;
pub mod cookies;
pub mod csrf;
pub mod deadline;
pub mod error;
pub mod extract;
pub mod headers;
pub mod home;
pub mod invite;
pub mod json_body;
pub mod login;
pub mod login_keys;
pub mod logout;
pub mod metrics;
pub mod page;
pub mod page_form;
pub mod passkeys;
pub mod password_change;
pub mod password_form;
pub mod redirect;
pub mod reset;
pub mod scim;
pub mod second_factor;
pub mod second_factor_passkey;
pub mod send_refused;
pub mod server;
pub mod session;
pub mod setup;
pub mod signed_in;
pub mod token;
pub mod wellknown;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use crate::state::AppState;

/// Largest request body accepted anywhere (a login form is far below this). Keeps a 1 MB
/// "password" from reaching argon2 (SECURITY.md 6.2.9).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole application: [`routes`] inside [`middleware`].
pub fn router(state: AppState) -> Router {
    let deadline = std::time::Duration::from_secs(state.config.request_timeout);
    let app = routes(state.clone()).layer(axum::middleware::from_fn_with_state(
        state,
        refuse_when_outdated,
    ));
    middleware(app, deadline)
}

/// A node older than the installation's finished upgrade answers 503 to everything but the
/// health checks (whose readiness says why), so it cannot act on settings it does not know
/// (`crate::upgrade`).
async fn refuse_when_outdated(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let health = ["/health/", "/healthz", "/readyz"]
        .iter()
        .any(|p| req.uri().path().starts_with(p));
    if health || !state.outdated.load(std::sync::atomic::Ordering::Relaxed) {
        return next.run(req).await;
    }
    let accept = req
        .headers()
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    deadline::unavailable(req.uri().path(), accept)
}

/// Every route, with the state.
pub fn routes(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(wellknown::get_discovery),
        )
        .route("/jwks", get(wellknown::get_jwks))
        .merge(token::routes())
        .layer(axum::middleware::from_fn(headers::cors));
    Router::new()
        .merge(api)
        .merge(authorize::routes())
        .merge(login::routes())
        .merge(login_keys::routes())
        .merge(admin_ui::routes())
        .merge(invite::routes())
        .merge(reset::routes())
        .merge(setup::routes())
        .merge(password_change::routes())
        .merge(account_channels::routes())
        .merge(account::routes())
        // Where passkeys are off, their routes answer "not available" (`passkeys::only_when_on`).
        .merge(
            passkeys::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                passkeys::only_when_on,
            )),
        )
        .merge(account_data::routes())
        .merge(second_factor::routes())
        .merge(
            second_factor_passkey::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                passkeys::only_when_on,
            )),
        )
        .merge(account_security::routes())
        .nest(api::PREFIX, api::router())
        .nest(scim::PREFIX, scim::router())
        .route("/health/live", get(wellknown::get_live))
        .route("/health/ready", get(wellknown::get_ready))
        .route("/healthz", get(wellknown::get_live))
        .route("/readyz", get(wellknown::get_ready))
        .route("/static/nyckel.css", get(wellknown::get_css))
        .fallback(wellknown::not_found)
        .with_state(state)
}

/// The middleware every route runs inside (innermost first): the panic catcher that turns a
/// panicking handler into a 500 while the server keeps serving (inside the others, so that
/// 500 gets the security headers and is logged like any answer), the request deadline, the
/// body limit, security headers, request logging, and a last panic catcher for the
/// middleware itself.
pub fn middleware(app: Router, deadline: std::time::Duration) -> Router {
    app.layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn_with_state(
            deadline,
            deadline::limit,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(axum::middleware::from_fn(headers::log_requests))
        .layer(CatchPanicLayer::custom(error::panic_response))
}
