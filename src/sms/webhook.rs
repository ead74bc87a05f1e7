//! A generic HTTP webhook, for an operator's own SMS service: `POST {api_url}` with the JSON
//! object `{"id", "to", "from", "body"}` (`id` is the outbox id: the same on every retry of
//! one message, so the receiver can drop duplicates) and `Authorization: Bearer <sms.token>`
//! when a token is configured. Any 2xx counts as accepted; anything else is retried.

use reqwest::Url;

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::sms::gateway::{Gateway, SendFuture};
use crate::sms::http::{self, Endpoint};
use crate::sms::{SmsError, SmsMessage};

/// A configured webhook. Its `Debug` shows the host only (the URL may hold a key).
#[derive(Clone)]
pub struct Webhook {
    endpoint: Endpoint,
    url: Url,
    token: Option<String>,
    from: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The JSON the webhook receives.
#[derive(serde::Serialize)]
struct Payload<'a> {
    id: &'a str,
    to: &'a str,
    from: &'a str,
    body: &'a str,
}

impl Webhook {
    /// The gateway of `[sms]` (`api_url` required, `token` optional).
    pub fn from_config(config: &Config) -> Result<Self, SmsError> {
        let sms = &config.sms;
        if sms.api_url.is_none() {
            return Err(SmsError::Gateway(
                "sms.gateway = \"webhook\" needs sms.api_url".into(),
            ));
        }
        let url = http::base_url(sms, "")?;
        Ok(Self {
            endpoint: Endpoint::new("webhook", sms, &url)?,
            url,
            token: sms.token.clone().filter(|t| !t.is_empty()),
            from: sms.from.trim().to_string(),
        })
    }

    async fn deliver(&self, id: &str, message: &SmsMessage) -> Result<(), DeliveryError> {
        let mut request = self.endpoint.client.post(self.url.clone()).json(&Payload {
            id,
            to: &message.to,
            from: &self.from,
            body: &message.body,
        });
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.endpoint.transport_error(e))?;
        let (status, _) = self.endpoint.answer(response).await?;
        if !status.is_success() {
            return Err(self.endpoint.status_error(status, None));
        }
        Ok(())
    }
}

impl Gateway for Webhook {
    fn send<'a>(
        &'a self,
        id: &'a str,
        _created_at: i64,
        message: &'a SmsMessage,
    ) -> SendFuture<'a> {
        Box::pin(self.deliver(id, message))
    }

    fn describe(&self) -> String {
        self.endpoint.describe()
    }
}
