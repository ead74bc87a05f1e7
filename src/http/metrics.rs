//! The metrics listener: `GET /metrics` on the separate `[metrics] listen` address, answering
//! with the text `metrics::render` builds. Kept apart from the main router so that metrics are
//! never reachable on the public address.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// Starts the metrics listener when configured; returns its address.
pub async fn spawn(state: &AppState) -> std::io::Result<Option<SocketAddr>> {
    let Some(listen) = state.config.metrics.listen.clone() else {
        return Ok(None);
    };
    crate::metrics::declare_counters();
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %crate::error::Chain(&e), "the metrics listener stopped");
        }
    });
    tracing::info!(%addr, "metrics listening");
    Ok(Some(addr))
}

async fn metrics(State(state): State<AppState>) -> Response {
    match crate::metrics::render(&state).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "rendering metrics failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
