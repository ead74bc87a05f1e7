//! The two resource types, Users and Groups, behind one set of operations, so that the HTTP
//! routes and `/Bulk` dispatch on a [`Kind`] instead of repeating themselves per type.

use serde_json::Value;

use super::error::ScimError;
use super::list::Query;
use super::{Scim, groups, users};

/// A resource type of the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

impl Kind {
    /// The kind named by an endpoint path segment (`Users`, `Groups`).
    pub fn from_segment(segment: &str) -> Option<Kind> {
        match segment {
            "Users" => Some(Kind::Users),
            "Groups" => Some(Kind::Groups),
            _ => None,
        }
    }
}

/// `GET /{kind}` (and `POST /{kind}/.search`).
pub async fn list(kind: Kind, s: &Scim<'_>, q: &Query) -> Result<Value, ScimError> {
    match kind {
        Kind::Users => users::list(s, q).await,
        Kind::Groups => groups::list(s, q).await,
    }
}

/// `GET /{kind}/{id}`.
pub async fn get(kind: Kind, s: &Scim<'_>, id: &str) -> Result<Value, ScimError> {
    match kind {
        Kind::Users => users::get(s, id).await,
        Kind::Groups => groups::get(s, id).await,
    }
}

/// `POST /{kind}`.
pub async fn create(kind: Kind, s: &Scim<'_>, body: &Value) -> Result<Value, ScimError> {
    match kind {
        Kind::Users => users::create(s, body).await,
        Kind::Groups => groups::create(s, body).await,
    }
}

/// `PUT /{kind}/{id}`.
pub async fn replace(
    kind: Kind,
    s: &Scim<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Value, ScimError> {
    match kind {
        Kind::Users => users::replace(s, id, body, if_match).await,
        Kind::Groups => groups::replace(s, id, body, if_match).await,
    }
}

/// `PATCH /{kind}/{id}`.
pub async fn patch(
    kind: Kind,
    s: &Scim<'_>,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Result<Value, ScimError> {
    match kind {
        Kind::Users => users::patch(s, id, body, if_match).await,
        Kind::Groups => groups::patch(s, id, body, if_match).await,
    }
}

/// `DELETE /{kind}/{id}`.
pub async fn delete(
    kind: Kind,
    s: &Scim<'_>,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), ScimError> {
    match kind {
        Kind::Users => users::delete(s, id, if_match).await,
        Kind::Groups => groups::delete(s, id, if_match).await,
    }
}
