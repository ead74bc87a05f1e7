//! The OpenID Connect protocol engine: discovery, authorization requests, the token endpoint,
//! token minting, userinfo, revocation, introspection and logout. No axum types here: the
//! HTTP layer parses requests into plain values and renders what these functions return.

pub mod access;
pub mod authorize;
pub mod backchannel;
pub mod client_auth;
pub mod client_cache;
pub mod discovery;
pub mod error;
pub mod frontchannel;
pub mod introspect;
pub mod issue;
pub mod logout;
pub mod mint;
pub mod pending;
pub mod redirect;
pub mod revoke;
pub mod rotation;
pub mod scope;
pub mod token;
pub mod userinfo;
