//! Outgoing SMS: a message (number + fixed text) is sealed into the same durable `outbox` as
//! mail (`channel = 'sms'`) and delivered by the same loop through a [`Gateway`]: Twilio,
//! 46elks, a generic HTTP webhook, or (the development setup) files in `<data_dir>/outbox`.
//! What may be sent at all is decided first by [`limits`] (SECURITY.md P6).
//!
//! Layout: [`phone`] (E.164 numbers and country codes), [`gateway`] (the trait and the file
//! gateway), [`twilio`], [`elks`], [`webhook`] (the HTTP gateways), [`limits`] (send limits).

pub mod elks;
mod form_account;
pub mod gateway;
mod http;
pub mod limits;
pub mod phone;
pub mod texts;
pub mod twilio;
pub mod webhook;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Result;
use crate::state::AppState;
use crate::store::{Conn, Tx};

pub use gateway::Gateway;

/// The longest SMS body accepted, in characters (two concatenated GSM segments).
pub const MAX_BODY: usize = 300;

/// One SMS as queued. Its `Debug` leaves out the body (it holds a code).
#[derive(Clone, Serialize, Deserialize)]
pub struct SmsMessage {
    /// E.164, e.g. `+46701234567`.
    pub to: String,
    pub body: String,
}

crate::redact::debug_showing!(SmsMessage { to });

/// Why an SMS could not be made or queued.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the recipient is not a phone number in E.164 form")]
    BadRecipient,
    #[error("the message text is empty, too long or holds control characters")]
    BadBody,
    #[error("sms gateway: {0}")]
    Gateway(String),
}

impl SmsMessage {
    /// A checked message.
    pub fn new(to: &str, body: String) -> Result<Self, SmsError> {
        let m = Self {
            to: to.to_string(),
            body,
        };
        m.check()?;
        Ok(m)
    }

    /// Checks the recipient and the body.
    pub fn check(&self) -> Result<(), SmsError> {
        if !phone::is_e164(&self.to) {
            return Err(SmsError::BadRecipient);
        }
        if self.body.trim().is_empty()
            || self.body.chars().count() > MAX_BODY
            || self.body.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(SmsError::BadBody);
        }
        Ok(())
    }
}

/// The SMS side of the application state.
pub struct Sms {
    pub gateway: Box<dyn Gateway>,
}

crate::redact::debug_showing!(Sms {} computed { gateway = |s| s.gateway.describe() });

impl Sms {
    /// The gateway the configuration asks for.
    pub fn from_config(config: &Config) -> Result<Self, SmsError> {
        Ok(Self {
            gateway: gateway::from_config(config)?,
        })
    }
}

/// Queues an SMS under `id` (sealed with the master key) and wakes the delivery loop.
/// Queuing the same `id` twice queues it once.
pub async fn enqueue(state: &AppState, id: &str, message: &SmsMessage) -> Result<()> {
    queue(&state.db, state, id, message).await?;
    state.mailer.wake();
    Ok(())
}

/// Queues an SMS inside `tx`, the transaction of the change it tells about: it goes out only
/// if the change commits. Wake the delivery loop after the commit (`state.mailer.wake()`).
pub async fn enqueue_in(
    tx: &mut Tx<'_>,
    state: &AppState,
    id: &str,
    message: &SmsMessage,
) -> Result<()> {
    queue(tx, state, id, message).await
}

async fn queue(
    conn: impl Into<Conn<'_>>,
    state: &AppState,
    id: &str,
    message: &SmsMessage,
) -> Result<()> {
    message.check()?;
    let recipient = phone::masked(&message.to);
    crate::mail::delivery::queue_sealed(conn, state, (id, "sms", &recipient), message).await
}

/// Opens a claimed SMS row's payload.
pub fn open(state: &AppState, id: &str, payload: &str) -> Result<SmsMessage, SmsError> {
    let plain = state
        .keys
        .open_data(payload, &crate::mail::delivery::seal_context(id))
        .map_err(|_| {
            SmsError::Gateway("the sealed payload does not open with this master key".into())
        })?;
    serde_json::from_slice(&plain).map_err(|_| SmsError::Gateway("the payload is damaged".into()))
}
