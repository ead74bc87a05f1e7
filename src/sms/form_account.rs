//! What the two gateways that post a form share ([`super::twilio`], [`super::elks`]): an
//! account configured from `[sms]` (`account` and `token`, HTTP Basic authentication), the
//! URL messages are posted to, the sender, and the [`Gateway`] implementation. Each gateway
//! keeps only what is its own: its URL, its form fields and how it reads the answer.

use reqwest::{StatusCode, Url};

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::sms::gateway::{Gateway, SendFuture};
use crate::sms::http::{self, Endpoint};
use crate::sms::{SmsError, SmsMessage};

/// A configured account at a form-posting gateway. Its `Debug` shows the host only.
#[derive(Clone)]
pub struct FormAccount {
    pub(crate) endpoint: Endpoint,
    /// Where messages are posted.
    url: Url,
    user: String,
    secret: String,
    /// The sender, as configured (`sms.from`).
    pub(crate) from: String,
}

impl std::fmt::Debug for FormAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.endpoint.describe())
    }
}

impl FormAccount {
    /// The account of `[sms]` for `sms.gateway = key` (shown as `name`): messages go to
    /// `path(account)` below `sms.api_url`, or below `default_url` when that is unset.
    pub(crate) fn from_config(
        (key, name): (&str, &'static str),
        config: &Config,
        default_url: &str,
        path: fn(&str) -> Vec<&str>,
    ) -> Result<Self, SmsError> {
        let sms = &config.sms;
        let (Some(user), Some(secret)) = (&sms.account, &sms.token) else {
            return Err(SmsError::Gateway(format!(
                "sms.gateway = \"{key}\" needs sms.account and sms.token"
            )));
        };
        let base = http::base_url(sms, default_url)?;
        Ok(Self {
            endpoint: Endpoint::new(name, sms, &base)?,
            url: http::join(&base, &path(user))?,
            user: user.clone(),
            secret: secret.clone(),
            from: sms.from.trim().to_string(),
        })
    }

    /// Posts `form` as the account; the answer's status and body.
    pub(crate) async fn post(
        &self,
        form: &[(&str, &str)],
    ) -> Result<(StatusCode, Vec<u8>), DeliveryError> {
        let credentials = (self.user.as_str(), self.secret.as_str());
        self.endpoint.post_form(&self.url, credentials, form).await
    }
}

/// A gateway that delivers through a [`FormAccount`].
pub(crate) trait FormGateway: Send + Sync {
    /// The account.
    fn account(&self) -> &FormAccount;

    /// Delivers one message.
    fn deliver<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a>;
}

impl<G: FormGateway> Gateway for G {
    fn send<'a>(
        &'a self,
        _id: &'a str,
        _created_at: i64,
        message: &'a SmsMessage,
    ) -> SendFuture<'a> {
        self.deliver(message)
    }

    fn describe(&self) -> String {
        self.account().endpoint.describe()
    }
}
