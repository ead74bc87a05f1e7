//! 46elks' SMS API: `POST {api_url}/a1/sms` with HTTP Basic authentication (API username and
//! password) and the form fields `from`, `to` and `message`. 46elks answers `200 OK` with the
//! message as JSON (`id`, `status: created`); a 2xx whose `status` is `failed` (or that holds
//! no readable status) is not a delivery, and is retried like any other status.

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::sms::form_account::{FormAccount, FormGateway};
use crate::sms::gateway::SendFuture;
use crate::sms::{SmsError, SmsMessage};

/// 46elks' API when `sms.api_url` is unset.
pub const DEFAULT_API_URL: &str = "https://api.46elks.com";

/// A configured 46elks account (`account` = API username, `token` = API password). Its
/// `Debug` shows the host only.
#[derive(Clone, Debug)]
pub struct Elks(FormAccount);

impl Elks {
    /// The gateway of `[sms]`.
    pub fn from_config(config: &Config) -> Result<Self, SmsError> {
        let path = |_: &str| vec!["a1", "sms"];
        FormAccount::from_config(("46elks", "46elks"), config, DEFAULT_API_URL, path).map(Self)
    }

    async fn send_one(&self, message: &SmsMessage) -> Result<(), DeliveryError> {
        let account = &self.0;
        let form = [
            ("from", account.from.as_str()),
            ("to", message.to.as_str()),
            ("message", message.body.as_str()),
        ];
        let (status, body) = account.post(&form).await?;
        if !status.is_success() {
            // 46elks explains errors in plain text that may quote the number: not kept.
            return Err(account.endpoint.status_error(status, None));
        }
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let refused = |what: &str| {
            account
                .endpoint
                .error(&format!("answered HTTP {status} {what}"))
        };
        match answer["status"].as_str() {
            Some("failed") => Err(refused("with status \"failed\"")),
            Some(_) => {
                let sms_id = answer["id"].as_str().unwrap_or("-");
                tracing::debug!(gateway = "46elks", sms_id, "sms accepted");
                Ok(())
            }
            None => Err(refused("without a message status")),
        }
    }
}

impl FormGateway for Elks {
    fn account(&self) -> &FormAccount {
        &self.0
    }

    fn deliver<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(self.send_one(message))
    }
}
