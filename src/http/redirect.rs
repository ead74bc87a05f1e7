//! The optional plain-HTTP listener (`tls.redirect_listen`, e.g. port 80) that only sends
//! browsers to HTTPS: `GET`/`HEAD` get `301` to the same path and query on the configured
//! issuer (never the request's `Host`: no redirect to a host an attacker names); any other
//! method gets `400` (a form posted over plain HTTP has already leaked, and is not replayed).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Starts the redirect listener when configured (and TLS is on); returns its address.
pub async fn spawn(state: &AppState) -> std::io::Result<Option<SocketAddr>> {
    let Some(listen) = state.config.tls.redirect_listen.clone() else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .fallback(redirect)
        .with_state(state.base_url.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %crate::error::Chain(&e), "the HTTP redirect listener stopped");
        }
    });
    tracing::info!(%addr, "plain HTTP redirects to HTTPS");
    Ok(Some(addr))
}

async fn redirect(State(base): State<String>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return (StatusCode::BAD_REQUEST, "use https").into_response();
    }
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    // `//host` would make the target another host; the path of a valid request starts with
    // one `/`.
    let path = if path.starts_with("//") { "/" } else { path };
    match HeaderValue::from_str(&format!("{base}{path}")) {
        Ok(location) => {
            let mut res = StatusCode::MOVED_PERMANENTLY.into_response();
            res.headers_mut().insert(header::LOCATION, location);
            res
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}
