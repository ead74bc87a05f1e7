//! The SMS gateway trait, the file gateway of the development setup, and [`from_config`],
//! which builds the gateway `sms.gateway` names: `files`, or one of the HTTP gateways
//! ([`super::twilio`], [`super::elks`], [`super::webhook`]; each holds one HTTPS client made
//! at start with `sms.timeout`). The delivery loop calls [`Gateway::send`] for each claimed
//! `sms` outbox row and retries on error with the mail backoff.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::sms::{SmsError, SmsMessage};

/// What [`Gateway::send`] returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Something that delivers an SMS.
pub trait Gateway: Send + Sync {
    /// Delivers `message` (queued as outbox row `id` at `created_at`). An error is retried
    /// later; its text names the gateway's problem, never the message.
    fn send<'a>(&'a self, id: &'a str, created_at: i64, message: &'a SmsMessage) -> SendFuture<'a>;

    /// One line for the start-up log (never a secret).
    fn describe(&self) -> String;

    /// Whether messages really leave the machine (false: development setup).
    fn sends(&self) -> bool {
        true
    }
}

/// The gateway the configuration asks for.
pub fn from_config(config: &Config) -> Result<Box<dyn Gateway>, SmsError> {
    Ok(match config.sms.gateway.as_str() {
        "files" => Box::new(Files {
            dir: outbox_dir(config),
        }),
        "twilio" => Box::new(super::twilio::Twilio::from_config(config)?),
        "46elks" => Box::new(super::elks::Elks::from_config(config)?),
        "webhook" => Box::new(super::webhook::Webhook::from_config(config)?),
        other => {
            return Err(SmsError::Gateway(format!(
                "sms.gateway {other:?} is not available"
            )));
        }
    })
}

/// The folder of the file gateway: `sms.outbox_dir`, else `<data_dir>/outbox`.
pub fn outbox_dir(config: &Config) -> PathBuf {
    config
        .sms
        .outbox_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("outbox"))
}

/// Writes each message to `<dir>/<created_at>-<id>.sms` (`To:` line, blank line, text).
/// Writing the same `id` again replaces the earlier copy.
#[derive(Debug, Clone)]
pub struct Files {
    pub dir: PathBuf,
}

impl Gateway for Files {
    fn send<'a>(&'a self, id: &'a str, created_at: i64, message: &'a SmsMessage) -> SendFuture<'a> {
        let dir = self.dir.clone();
        let name = format!("{created_at}-{id}.sms");
        let document = format!("To: {}\n\n{}\n", message.to, message.body).into_bytes();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                crate::mail::backend::write_file(&dir, &name, &document)
            })
            .await
            .map_err(|e| DeliveryError(format!("delivery task failed: {e}")))?
        })
    }

    fn describe(&self) -> String {
        format!("files in {}", self.dir.display())
    }

    fn sends(&self) -> bool {
        false
    }
}
