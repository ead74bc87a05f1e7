//! The extractors of an organisation's admin pages (`/admin/orgs/{org}/...`): [`AtOrg`]
//! is the signed-in admin ([`Admin`]) and the organisation the path names, looked up as
//! that admin may see it (404 when it does not exist for them, 403 for a member who is not
//! an admin); [`OrgForm`] is the same for a posted form, whose CSRF token is checked first
//! (403, nothing looked up). A handler starts with what it needs, not with the look-ups.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::context::{Admin, Fields};
use super::org_of;
use crate::admin::orgs::OrgView;
use crate::http::error::PageError;
use crate::state::AppState;

/// An organisation's page, seen by an admin who may see it.
pub struct AtOrg {
    pub state: AppState,
    pub admin: Admin,
    pub org: OrgView,
}

impl FromRequestParts<AppState> for AtOrg {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let admin = Admin::from_request_parts(parts, state).await?;
        let key = org_key(parts, state, &admin).await?;
        let org = org_of(state, &admin, &key).await?;
        Ok(AtOrg {
            state: state.clone(),
            admin,
            org,
        })
    }
}

/// A form posted on an organisation's page: the organisation as in [`AtOrg`], and the
/// form's fields after the CSRF check.
pub struct OrgForm(pub AtOrg, pub Fields);

impl FromRequest<AppState> for OrgForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        let key = org_key(&mut parts, state, &admin).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = admin.form(&body)?;
        let org = org_of(state, &admin, &key).await?;
        let at = AtOrg {
            state: state.clone(),
            admin,
            org,
        };
        Ok(OrgForm(at, form))
    }
}

/// The path's `{org}` (an id or a slug); empty when the route has none, which no
/// organisation matches. A path that does not decode (not UTF-8) is the 400 page.
async fn org_key(parts: &mut Parts, state: &AppState, admin: &Admin) -> Result<String, Response> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| PageError::bad_request("error.bad_request", admin.texts).into_response())?;
    Ok(params
        .iter()
        .find(|(name, _)| *name == "org")
        .map(|(_, value)| value.to_string())
        .unwrap_or_default())
}
