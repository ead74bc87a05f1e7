//! Twilio's Programmable Messaging API: `POST {api_url}/2010-04-01/Accounts/{account}/
//! Messages.json` with HTTP Basic authentication (Account SID and auth token) and the form
//! fields `To`, `From` and `Body`. Twilio answers `201 Created` with the message resource
//! (`sid`, `status: queued`); any 2xx counts as accepted, anything else is retried.

use reqwest::Url;

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::sms::gateway::{Gateway, SendFuture};
use crate::sms::http::{self, Endpoint};
use crate::sms::{SmsError, SmsMessage};

/// Twilio's API when `sms.api_url` is unset.
pub const DEFAULT_API_URL: &str = "https://api.twilio.com";

/// A configured Twilio account. Its `Debug` shows the host only.
#[derive(Clone)]
pub struct Twilio {
    endpoint: Endpoint,
    /// `.../2010-04-01/Accounts/{account}/Messages.json`.
    url: Url,
    account: String,
    token: String,
    from: String,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Twilio {
    /// The gateway of `[sms]` (`account` = Account SID, `token` = auth token).
    pub fn from_config(config: &Config) -> Result<Self, SmsError> {
        let sms = &config.sms;
        let (Some(account), Some(token)) = (&sms.account, &sms.token) else {
            return Err(SmsError::Gateway(
                "sms.gateway = \"twilio\" needs sms.account and sms.token".into(),
            ));
        };
        let base = http::base_url(sms, DEFAULT_API_URL)?;
        let url = http::join(&base, &["2010-04-01", "Accounts", account, "Messages.json"])?;
        Ok(Self {
            endpoint: Endpoint::new("Twilio", sms, &base)?,
            url,
            account: account.clone(),
            token: token.clone(),
            from: sms.from.trim().to_string(),
        })
    }

    async fn deliver(&self, message: &SmsMessage) -> Result<(), DeliveryError> {
        let form = [
            ("To", message.to.as_str()),
            ("From", self.from.as_str()),
            ("Body", message.body.as_str()),
        ];
        let (status, body) = self
            .endpoint
            .post_form(&self.url, (&self.account, &self.token), &form)
            .await?;
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if !status.is_success() {
            // Twilio's numeric error code (e.g. 20003: authentication, 21211: bad `To`) says
            // what is wrong without quoting the message; its `message` text may quote it.
            let code = answer["code"].as_u64().map(|c| format!("Twilio error {c}"));
            return Err(self.endpoint.status_error(status, code));
        }
        tracing::debug!(
            gateway = "Twilio",
            sid = answer["sid"].as_str().unwrap_or("-"),
            "sms accepted"
        );
        Ok(())
    }
}

impl Gateway for Twilio {
    fn send<'a>(
        &'a self,
        _id: &'a str,
        _created_at: i64,
        message: &'a SmsMessage,
    ) -> SendFuture<'a> {
        Box::pin(self.deliver(message))
    }

    fn describe(&self) -> String {
        self.endpoint.describe()
    }
}
