//! Backups (issue 6): destinations and retention. Minimal stand-in; the backup core's own
//! `mod.rs` replaces it at merge.

pub mod destination;
pub mod retention;
pub mod s3;
