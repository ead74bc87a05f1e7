//! `/users/{user}/password`: a superadmin sets a person's password, only when the
//! installation allows it (`[admin] allow_set_password`). The person must change it at
//! their next login. The password is never echoed: not in the answer (204), not in an
//! error message (a body that does not parse gets a fixed message), not in a log.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::admin::members;
use crate::auth::password::Password;
use crate::http::api::error::{ApiError, ApiResult};
use crate::http::api::extract::{ApiCaller, ApiPath};
use crate::state::AppState;

/// `PUT /users/{user}/password`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    #[schema(write_only)]
    pub password: String,
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword { password: [redacted] }")
    }
}

/// Sets a person's password.
#[utoipa::path(
    put,
    path = "/users/{user}/password",
    operation_id = "setPassword",
    tag = "people",
    summary = "Set a person's password; they must change it at their next login.",
    description = "Permission: `PersonSetPassword` (superadmin), and only when the installation allows it (`[admin] allow_set_password`; 403 otherwise). All the person's sessions and grants end. The password is never echoed, and no one ever sees the old one. The person is notified.",
    request_body = NewPassword,
    responses(
        (status = 204, description = "Set."),
        crate::http::api::doc::Invalid, crate::http::api::doc::Missing, crate::http::api::doc::Refused,
    ),
)]
pub async fn set_password(
    ApiCaller(caller): ApiCaller,
    State(state): State<AppState>,
    ApiPath(user): ApiPath<String>,
    body: Result<Json<NewPassword>, JsonRejection>,
) -> ApiResult<StatusCode> {
    // serde's messages can quote the value they failed on; say only what is expected.
    let Json(body) = body.map_err(|r| match ApiError::from(r) {
        e if e.status() == StatusCode::BAD_REQUEST => {
            ApiError::invalid("the body must be a JSON object {\"password\": \"...\"}")
        }
        e => e,
    })?;
    members::set_password(&state, &caller, &user, Password::new(body.password)).await?;
    Ok(StatusCode::NO_CONTENT)
}
