//! 46elks' SMS API: `POST {api_url}/a1/sms` with HTTP Basic authentication (API username and
//! password) and the form fields `from`, `to` and `message`. 46elks answers `200 OK` with the
//! message as JSON (`id`, `status: created`); a 2xx whose `status` is `failed` (or that holds
//! no readable status) is not a delivery, and is retried like any other status.

use reqwest::Url;

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::sms::gateway::{Gateway, SendFuture};
use crate::sms::http::{self, Endpoint};
use crate::sms::{SmsError, SmsMessage};

/// 46elks' API when `sms.api_url` is unset.
pub const DEFAULT_API_URL: &str = "https://api.46elks.com";

/// A configured 46elks account. Its `Debug` shows the host only.
#[derive(Clone)]
pub struct Elks {
    endpoint: Endpoint,
    /// `.../a1/sms`.
    url: Url,
    username: String,
    password: String,
    from: String,
}

impl std::fmt::Debug for Elks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Elks {
    /// The gateway of `[sms]` (`account` = API username, `token` = API password).
    pub fn from_config(config: &Config) -> Result<Self, SmsError> {
        let sms = &config.sms;
        let (Some(username), Some(password)) = (&sms.account, &sms.token) else {
            return Err(SmsError::Gateway(
                "sms.gateway = \"46elks\" needs sms.account and sms.token".into(),
            ));
        };
        let base = http::base_url(sms, DEFAULT_API_URL)?;
        Ok(Self {
            endpoint: Endpoint::new("46elks", sms, &base)?,
            url: http::join(&base, &["a1", "sms"])?,
            username: username.clone(),
            password: password.clone(),
            from: sms.from.trim().to_string(),
        })
    }

    async fn deliver(&self, message: &SmsMessage) -> Result<(), DeliveryError> {
        let form = [
            ("from", self.from.as_str()),
            ("to", message.to.as_str()),
            ("message", message.body.as_str()),
        ];
        let (status, body) = self
            .endpoint
            .post_form(&self.url, (&self.username, &self.password), &form)
            .await?;
        if !status.is_success() {
            // 46elks explains errors in plain text that may quote the number: not kept.
            return Err(self.endpoint.status_error(status, None));
        }
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        match answer["status"].as_str() {
            Some("failed") => Err(self
                .endpoint
                .error(&format!("answered HTTP {status} with status \"failed\""))),
            Some(_) => {
                tracing::debug!(
                    gateway = "46elks",
                    sms_id = answer["id"].as_str().unwrap_or("-"),
                    "sms accepted"
                );
                Ok(())
            }
            None => Err(self
                .endpoint
                .error(&format!("answered HTTP {status} without a message status"))),
        }
    }
}

impl Gateway for Elks {
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
