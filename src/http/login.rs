//! (placeholder, filled in by the login work; returns no routes yet)

use axum::Router;

use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
}
