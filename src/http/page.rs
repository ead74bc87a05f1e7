//! Rendering askama templates into HTML responses.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Renders a template with status 200.
pub fn render(t: &impl Template) -> Response {
    render_status(StatusCode::OK, t)
}

/// Renders a template with a status. A render failure is a 500 with a plain body.
pub fn render_status(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => {
            let mut res = (status, html).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %crate::error::Chain(&e), "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
