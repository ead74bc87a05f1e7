//! Signed event webhooks (issue 18): what an organisation's (or the installation's) endpoint
//! is sent when members, people or clients change.
//!
//! - [`events`]: the event types and their bodies, queued inside the changing transaction.
//! - [`deliver`]: posting them from the outbox loop, signed, at least once, in order per
//!   person.
//! - [`signature`]: the Standard Webhooks v1 scheme (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature`).
//!
//! Endpoints are managed by the admin use-cases (`admin::webhooks`).

pub mod deliver;
pub mod events;
pub mod signature;
