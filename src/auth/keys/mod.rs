//! Temporary login keys sent by email or SMS (SECURITY.md section 4): login links and codes,
//! and self-service password recovery. No axum types.
//!
//! The flow, end to end:
//! 1. [`request::submit`]: the page queues what the person asked for (sealed, in the
//!    `outbox` with channel `request`) and answers at once. It does the same work whether or
//!    not the address or number belongs to an account, so status, body and timing are the
//!    same (P4), and a request survives a restart before it is processed.
//! 2. [`process::process`] (the delivery loop): finds the account (an email address, or a
//!    *verified* phone number), applies the send limits (`sms::limits`), creates the key
//!    (only the newest works, bound to the requesting browser's cookie) and queues the mail
//!    or SMS. The key and code are derived from the request id under the master key, and the
//!    message's outbox id from the request id, so a request processed twice after a crash
//!    makes one key and one message.
//! 3. [`login`]: a link is shown by GET (nothing changes) and used by POST from the browser
//!    that asked; a code is typed into that browser, with a capped number of guesses.
//!    [`recovery`] turns a recovery code into a short-lived reset key for the new-password
//!    form (`auth::reset`).
//!
//! What is stored: SHA-256 of a link key; a code only as an HMAC under a master-derived key
//! (a database dump alone cannot test the million codes); the browser binding as SHA-256.

pub mod login;
pub mod process;
pub mod recovery;
pub mod request;
pub mod secret;

pub use process::process;

/// The `login_keys.purpose` of login links and codes.
pub const LOGIN: &str = "login";

/// The path of login links; the key follows.
pub const LINK_PATH: &str = "/l/";

/// `amr` of a login by an emailed link or code. RFC 8176 has no value for email; a login
/// link is one factor (possession of the mailbox), never `mfa` (SECURITY.md P8, §8.1).
pub const AMR_EMAIL: &str = "email";

/// `amr` of a login by an SMS code (RFC 8176 `sms`); one factor on its own.
pub const AMR_SMS: &str = "sms";
