//! Authentication: passwords (argon2id, policy, changes, reset and setup keys), login
//! throttling and sessions. No axum types; the HTTP layer calls in with plain values.

pub mod change;
pub mod channels;
pub mod keys;
pub mod login;
pub mod password;
pub mod phc;
pub mod policy;
pub mod reset;
pub mod session;
pub mod setup;
pub mod throttle;
pub mod workspace;
