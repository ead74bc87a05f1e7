//! Twilio's Programmable Messaging API: `POST {api_url}/2010-04-01/Accounts/{account}/
//! Messages.json` with HTTP Basic authentication (Account SID and auth token) and the form
//! fields `To`, `From` and `Body`. Twilio answers `201 Created` with the message resource
//! (`sid`, `status: queued`); any 2xx counts as accepted, anything else is retried.

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::sms::form_account::{FormAccount, FormGateway};
use crate::sms::gateway::SendFuture;
use crate::sms::{SmsError, SmsMessage};

/// Twilio's API when `sms.api_url` is unset.
pub const DEFAULT_API_URL: &str = "https://api.twilio.com";

/// A configured Twilio account (`account` = Account SID, `token` = auth token). Its `Debug`
/// shows the host only.
#[derive(Clone, Debug)]
pub struct Twilio(FormAccount);

impl Twilio {
    /// The gateway of `[sms]`.
    pub fn from_config(config: &Config) -> Result<Self, SmsError> {
        fn path(account: &str) -> Vec<&str> {
            vec!["2010-04-01", "Accounts", account, "Messages.json"]
        }
        FormAccount::from_config(("twilio", "Twilio"), config, DEFAULT_API_URL, path).map(Self)
    }

    async fn send_one(&self, message: &SmsMessage) -> Result<(), DeliveryError> {
        let account = &self.0;
        let form = [
            ("To", message.to.as_str()),
            ("From", account.from.as_str()),
            ("Body", message.body.as_str()),
        ];
        let (status, body) = account.post(&form).await?;
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if !status.is_success() {
            // Twilio's numeric error code (e.g. 20003: authentication, 21211: bad `To`) says
            // what is wrong without quoting the message; its `message` text may quote it.
            let code = answer["code"].as_u64().map(|c| format!("Twilio error {c}"));
            return Err(account.endpoint.status_error(status, code));
        }
        let sid = answer["sid"].as_str().unwrap_or("-");
        tracing::debug!(gateway = "Twilio", sid, "sms accepted");
        Ok(())
    }
}

impl FormGateway for Twilio {
    fn account(&self) -> &FormAccount {
        &self.0
    }

    fn deliver<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(self.send_one(message))
    }
}
