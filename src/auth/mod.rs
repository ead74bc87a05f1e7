//! Authentication: passwords (argon2id, policy), login throttling and sessions. No axum types;
//! the HTTP layer calls in with plain values.

pub mod login;
pub mod password;
pub mod phc;
pub mod policy;
pub mod reset;
pub mod session;
pub mod throttle;
pub mod workspace;
