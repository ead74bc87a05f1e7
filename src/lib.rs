//! Nyckel: an OpenID Connect provider for organisations that share one installation.
//!
//! Crate map (see `docs/` and ARCHITECTURE.md for the contracts):
//! - [`config`]: typed configuration (defaults, `nyckel.toml`, `NYCKEL_*`, `*_FILE`).
//! - [`store`]: the database (SQLite or PostgreSQL through `sqlx::Any`); the only place with SQL.
//! - [`keys`]: the master key, signing keys (rotation, JWKS) and compact JWS.
//! - [`oidc`]: the protocol engine (authorize, token, userinfo, ...); no axum types.
//! - [`auth`]: passwords, throttling, sessions, reset and setup keys; no axum types.
//! - [`mail`]: outgoing mail: messages from templates, the sealed outbox and its delivery loop.
//! - [`orgs`]: organisations, memberships and the claims built from them.
//! - [`admin`]: use-cases shared by the CLI and (later) the admin API.
//! - [`http`]: everything that knows axum: routes, pages, extractors, error responses.
//! - [`cli`]: the `nyckel` command line.
//! - [`backup`]: encrypted, verified backups to several destinations; restore.
//! - [`http::server`] and [`tls`]: listening, TLS and graceful shutdown; [`memory`]:
//!   allocator tuning.
//! - [`upkeep`]: the scheduled jobs every node runs (key reload and rotation, cleanup).
//! - [`paging`]: keyset pagination (opaque cursors, limits); [`clock`]: time and dates.
//! - [`upgrade`]: node versions, finishing an upgrade, and settings gated until it is finished.
//! - [`webhooks`]: signed event webhooks: events, their delivery from the outbox, signatures.
//! - [`scim`]: SCIM 2.0 provisioning pieces (filters, PATCH paths, errors); no axum types.

// House rules the compiler checks (clippy.toml lets tests unwrap): no `unwrap` outside
// tests, and a lint is silenced only with `#[expect(..., reason = "...")]`, never `#[allow]`.
#![warn(
    clippy::unwrap_used,
    clippy::allow_attributes,
    clippy::allow_attributes_without_reason
)]

pub mod admin;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod mail;
pub mod memory;
pub mod metrics;
pub mod oidc;
pub mod orgs;
pub mod outbound;
pub mod paging;
pub mod redact;
pub mod scim;
pub mod sms;
pub mod state;
pub mod store;
pub mod tls;
pub mod upgrade;
pub mod upkeep;
pub mod webhooks;
