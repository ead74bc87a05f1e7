//! Signed event webhooks (issue 18): what an organisation's (or the installation's) endpoint
//! is sent when members, people or clients change. So far this holds the signature scheme
//! ([`signature`]); endpoints, events and delivery through the outbox follow.

pub mod signature;
