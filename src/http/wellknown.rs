//! Discovery, JWKS, health probes, the stylesheet and the 404 page.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::error::PageError;
use crate::http::extract::Lang;
use crate::state::AppState;

fn json_bytes(body: bytes::Bytes, cache: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    res
}

/// `GET /.well-known/openid-configuration`.
pub async fn get_discovery(State(state): State<AppState>) -> Response {
    json_bytes(state.discovery.clone(), "public, max-age=3600")
}

/// `GET /jwks`: pending, current and retained public keys.
pub async fn get_jwks(State(state): State<AppState>) -> Response {
    json_bytes(state.keys.jwks(state.now()), "public, max-age=300")
}

/// `GET /health/live` and `GET /healthz`: the process answers.
pub async fn get_live() -> &'static str {
    "ok"
}

/// `GET /health/ready` and `GET /readyz`: the database answers and has every migration this
/// binary knows.
pub async fn get_ready(State(state): State<AppState>) -> Response {
    let unavailable = |why: &'static str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            why,
        )
            .into_response()
    };
    if !state.db.ping().await {
        return unavailable("database unavailable");
    }
    if !state.db.migrations_current().await {
        return unavailable("database migrations are not current");
    }
    if state.outdated.load(std::sync::atomic::Ordering::SeqCst) {
        return unavailable("this node is older than the installation's finished upgrade");
    }
    "ready".into_response()
}

/// `GET /static/nyckel.css`.
pub async fn get_css() -> Response {
    let mut res = include_str!("../../static/nyckel.css").into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

/// Anything else: a 404 page.
pub async fn not_found(Lang(t): Lang) -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "error.not_found", t)
}
