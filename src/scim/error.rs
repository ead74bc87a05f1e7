//! SCIM error responses (RFC 7644 section 3.12): the refusals a SCIM client is told about,
//! each with its HTTP status and, for the 400-family detail errors, its `scimType` keyword,
//! and the JSON body the RFC prescribes. No axum here (layering: only `src/http` knows axum);
//! the HTTP layer turns a [`ScimError`] into a response with [`ScimError::status`] and
//! [`ScimError::body`], and adds the headers a status needs (`WWW-Authenticate` on 401).

use super::filter::FilterError;
use super::patch_path::PathError;

/// The `schemas` value of every SCIM error body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// What went wrong, as far as the client is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimErrorKind {
    /// 400 `invalidFilter`: the filter (or a PATCH path's filter) does not parse, or the
    /// attribute and operator combination is not supported.
    InvalidFilter,
    /// 400 `tooMany`: the filter would yield more results than we are willing to process.
    TooMany,
    /// 409 `uniqueness`: a value is already in use. RFC 7644 lists the keyword under 400 in
    /// Table 9, but sections 3.3 and 3.5.1 say a duplicate is 409 Conflict, and provisioning
    /// clients (Entra ID, Okta) expect 409.
    Uniqueness,
    /// 400 `mutability`: the change conflicts with the attribute's mutability.
    Mutability,
    /// 400 `invalidSyntax`: the request body does not have the required structure.
    InvalidSyntax,
    /// 400 `invalidPath`: a PATCH `path` is malformed.
    InvalidPath,
    /// 400 `noTarget`: a PATCH `path` selects nothing to operate on.
    NoTarget,
    /// 400 `invalidValue`: a required value is missing or a value has the wrong type.
    InvalidValue,
    /// 400 `invalidVers`: the requested SCIM protocol version is not supported.
    InvalidVers,
    /// 403 `sensitive`: personal information in a request URI (RFC 7644 section 7.5.2 says
    /// 403 Forbidden; Table 9 lists the keyword among the 400 details).
    Sensitive,
    /// 400 without a `scimType`.
    BadRequest,
    /// 401: missing or invalid credentials.
    Unauthorized,
    /// 403: the credentials do not allow this operation.
    Forbidden,
    /// 404: no such resource or endpoint.
    NotFound,
    /// 409 without a `scimType`: a version conflict.
    Conflict,
    /// 412: an `If-Match` precondition failed; the resource changed.
    PreconditionFailed,
    /// 413: the request is larger than we accept.
    PayloadTooLarge,
    /// 500: an internal failure. Its detail is never sent (see [`ScimError::body`]).
    Internal,
    /// 501: the operation is not supported (e.g. bulk).
    NotImplemented,
    /// 503: the database is unavailable for a moment; the client retries.
    Unavailable,
}

impl ScimErrorKind {
    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            ScimErrorKind::InvalidFilter
            | ScimErrorKind::TooMany
            | ScimErrorKind::Mutability
            | ScimErrorKind::InvalidSyntax
            | ScimErrorKind::InvalidPath
            | ScimErrorKind::NoTarget
            | ScimErrorKind::InvalidValue
            | ScimErrorKind::InvalidVers
            | ScimErrorKind::BadRequest => 400,
            ScimErrorKind::Unauthorized => 401,
            ScimErrorKind::Sensitive | ScimErrorKind::Forbidden => 403,
            ScimErrorKind::NotFound => 404,
            ScimErrorKind::Uniqueness | ScimErrorKind::Conflict => 409,
            ScimErrorKind::PreconditionFailed => 412,
            ScimErrorKind::PayloadTooLarge => 413,
            ScimErrorKind::Internal => 500,
            ScimErrorKind::NotImplemented => 501,
            ScimErrorKind::Unavailable => 503,
        }
    }

    /// The `scimType` keyword (RFC 7644 Table 9), if this kind has one.
    pub fn scim_type(self) -> Option<&'static str> {
        Some(match self {
            ScimErrorKind::InvalidFilter => "invalidFilter",
            ScimErrorKind::TooMany => "tooMany",
            ScimErrorKind::Uniqueness => "uniqueness",
            ScimErrorKind::Mutability => "mutability",
            ScimErrorKind::InvalidSyntax => "invalidSyntax",
            ScimErrorKind::InvalidPath => "invalidPath",
            ScimErrorKind::NoTarget => "noTarget",
            ScimErrorKind::InvalidValue => "invalidValue",
            ScimErrorKind::InvalidVers => "invalidVers",
            ScimErrorKind::Sensitive => "sensitive",
            ScimErrorKind::BadRequest
            | ScimErrorKind::Unauthorized
            | ScimErrorKind::Forbidden
            | ScimErrorKind::NotFound
            | ScimErrorKind::Conflict
            | ScimErrorKind::PreconditionFailed
            | ScimErrorKind::PayloadTooLarge
            | ScimErrorKind::Internal
            | ScimErrorKind::NotImplemented
            | ScimErrorKind::Unavailable => return None,
        })
    }
}

/// A refusal for a SCIM client: the kind and an optional human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SCIM {} {}: {}", .kind.status(), .kind.scim_type().unwrap_or("-"), .detail.as_deref().unwrap_or("-"))]
pub struct ScimError {
    pub kind: ScimErrorKind,
    /// For the client developer; never holds secrets. Not sent for [`ScimErrorKind::Internal`].
    pub detail: Option<String>,
}

impl ScimError {
    /// An error with a detail.
    pub fn new(kind: ScimErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
        }
    }

    /// An error without a detail.
    pub fn bare(kind: ScimErrorKind) -> Self {
        Self { kind, detail: None }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The `scimType` keyword, if any.
    pub fn scim_type(&self) -> Option<&'static str> {
        self.kind.scim_type()
    }

    /// The response body: `schemas`, `status` as a JSON string (RFC 7644 section 3.12),
    /// `scimType` when the kind has one, and `detail` when there is one.
    ///
    /// A 500's detail stays out of the body whatever the caller put in it: internal causes
    /// (SQL errors, paths) are for the log, not for the client.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
        });
        if let Some(map) = body.as_object_mut() {
            if let Some(scim_type) = self.scim_type() {
                map.insert("scimType".into(), scim_type.into());
            }
            let detail = match self.kind {
                ScimErrorKind::Internal => Some("internal error"),
                _ => self.detail.as_deref(),
            };
            if let Some(detail) = detail {
                map.insert("detail".into(), detail.into());
            }
        }
        body
    }
}

/// A filter that does not parse is `invalidFilter` (RFC 7644 section 3.4.2.2).
impl From<FilterError> for ScimError {
    fn from(err: FilterError) -> Self {
        ScimError::new(ScimErrorKind::InvalidFilter, err.to_string())
    }
}

/// A PATCH path that does not parse, including its bracketed filter, is `invalidPath`.
impl From<PathError> for ScimError {
    fn from(err: PathError) -> Self {
        ScimError::new(ScimErrorKind::InvalidPath, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: [ScimErrorKind; 19] = [
        ScimErrorKind::InvalidFilter,
        ScimErrorKind::TooMany,
        ScimErrorKind::Uniqueness,
        ScimErrorKind::Mutability,
        ScimErrorKind::InvalidSyntax,
        ScimErrorKind::InvalidPath,
        ScimErrorKind::NoTarget,
        ScimErrorKind::InvalidValue,
        ScimErrorKind::InvalidVers,
        ScimErrorKind::Sensitive,
        ScimErrorKind::BadRequest,
        ScimErrorKind::Unauthorized,
        ScimErrorKind::Forbidden,
        ScimErrorKind::NotFound,
        ScimErrorKind::Conflict,
        ScimErrorKind::PreconditionFailed,
        ScimErrorKind::PayloadTooLarge,
        ScimErrorKind::Internal,
        ScimErrorKind::NotImplemented,
    ];

    #[test]
    fn statuses_and_keywords() {
        let table: Vec<(u16, Option<&str>)> =
            ALL.iter().map(|k| (k.status(), k.scim_type())).collect();
        assert_eq!(
            table,
            vec![
                (400, Some("invalidFilter")),
                (400, Some("tooMany")),
                (409, Some("uniqueness")),
                (400, Some("mutability")),
                (400, Some("invalidSyntax")),
                (400, Some("invalidPath")),
                (400, Some("noTarget")),
                (400, Some("invalidValue")),
                (400, Some("invalidVers")),
                (403, Some("sensitive")),
                (400, None),
                (401, None),
                (403, None),
                (404, None),
                (409, None),
                (412, None),
                (413, None),
                (500, None),
                (501, None),
            ]
        );
    }

    #[test]
    fn body_with_scim_type_and_detail() {
        let err = ScimError::new(ScimErrorKind::Mutability, "Attribute 'id' is readOnly");
        assert_eq!(
            err.body(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "mutability",
                "detail": "Attribute 'id' is readOnly",
            })
        );
    }

    #[test]
    fn body_without_scim_type_or_detail() {
        let err = ScimError::bare(ScimErrorKind::NotFound);
        assert_eq!(
            err.body(),
            json!({"schemas": [ERROR_SCHEMA], "status": "404"})
        );
    }

    #[test]
    fn status_is_always_a_string() {
        for kind in ALL {
            let body = ScimError::bare(kind).body();
            assert_eq!(body["status"], json!(kind.status().to_string()), "{kind:?}");
            assert_eq!(body["schemas"], json!([ERROR_SCHEMA]));
            assert_eq!(body.get("scimType").is_some(), kind.scim_type().is_some());
        }
    }

    #[test]
    fn internal_detail_is_not_sent() {
        let err = ScimError::new(ScimErrorKind::Internal, "sqlx: pool timed out at /var/lib");
        let body = err.body();
        assert_eq!(body["status"], "500");
        assert_eq!(body["detail"], "internal error");
        assert!(!body.to_string().contains("sqlx"));
        // The cause stays available to the log.
        assert!(err.to_string().contains("pool timed out"));
    }

    #[test]
    fn filter_errors_are_invalid_filter() {
        let err: ScimError = crate::scim::filter::Filter::parse("userName regex \"x\"")
            .unwrap_err()
            .into();
        assert_eq!(err.status(), 400);
        assert_eq!(err.scim_type(), Some("invalidFilter"));
        assert!(
            err.detail.as_deref().unwrap_or("").contains("regex"),
            "{err}"
        );
    }

    #[test]
    fn path_errors_are_invalid_path() {
        let err: ScimError = crate::scim::patch_path::PatchPath::parse("members[value eq")
            .unwrap_err()
            .into();
        assert_eq!(err.status(), 400);
        assert_eq!(err.scim_type(), Some("invalidPath"));
    }
}
