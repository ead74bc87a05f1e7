//! SCIM 2.0 service provider (RFC 7643 core schema, RFC 7644 protocol), one per
//! organisation, so that identity providers (Entra ID, Okta, ...) can provision users and
//! groups. No axum types here: `src/http` will turn these results into responses.
//!
//! So far the protocol pieces the endpoints will stand on:
//! - [`filter`]: the `filter` expression language (parse, evaluate against a resource's
//!   JSON, find an indexable `attr eq "value"`), with length and depth limits.
//! - [`patch_path`]: PATCH operation paths (`attr`, `attr[filter]`, `attr[filter].sub`).
//! - [`error`]: SCIM error responses: status, `scimType` and the RFC's JSON body.
//!
//! The `/Users`, `/Groups`, `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`
//! endpoints will follow.

pub mod error;
pub mod filter;
mod filter_eval;
pub mod patch_path;
