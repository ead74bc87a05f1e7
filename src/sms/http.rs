//! What the HTTP gateways ([`super::twilio`], [`super::elks`], [`super::webhook`]) share: one
//! `reqwest` client per gateway (rustls with ring, the webpki roots, certificates always
//! verified, no redirects followed, HTTPS only unless the configured URL is plain HTTP to
//! loopback), and the texts of failed deliveries.
//!
//! A failure's text is stored in `outbox.last_error` and logged, so it names the gateway, its
//! host and the HTTP status or the kind of transport error, and nothing of the request: not
//! the URL (it holds the account, and a webhook URL may hold a key), not the number, the
//! text or the credentials. Response bodies are never quoted either (gateways echo the
//! number and text in them).

use std::time::Duration;

use reqwest::{Client, Response, StatusCode, Url};

use crate::config::SmsConfig;
use crate::mail::backend::DeliveryError;
use crate::sms::SmsError;

/// The most of a response body read (the gateways' answers are a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;

/// The connection to one gateway. Its `Debug` shows the label only.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) client: Client,
    /// `Twilio`, `46elks` or `webhook`.
    pub(crate) name: &'static str,
    /// The host (and port, when not the scheme's default) requests go to.
    pub(crate) host: String,
    /// Seconds one request may take, for the timeout's error text.
    timeout: u64,
    /// Kept only to scrub it from error texts.
    token: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `sms.api_url`, or `default` when it is unset, checked again here: HTTPS, or plain HTTP
/// to loopback (`Config::validate` says the same, with the key's name).
pub(crate) fn base_url(sms: &SmsConfig, default: &str) -> Result<Url, SmsError> {
    let raw = sms.api_url.as_deref().unwrap_or(default);
    let url = Url::parse(raw).map_err(|_| SmsError::Gateway("sms.api_url is not a URL".into()))?;
    let host = url.host_str().unwrap_or("");
    match url.scheme() {
        "https" if !host.is_empty() => Ok(url),
        "http" if crate::config::is_loopback(host) => Ok(url),
        _ => Err(SmsError::Gateway(
            "sms.api_url must be an https:// URL (http:// only on loopback)".into(),
        )),
    }
}

/// `url` with `segments` appended to its path (each one percent-encoded as needed).
pub(crate) fn join(url: &Url, segments: &[&str]) -> Result<Url, SmsError> {
    let mut joined = url.clone();
    joined
        .path_segments_mut()
        .map_err(|()| SmsError::Gateway("sms.api_url cannot take a path".into()))?
        .pop_if_empty()
        .extend(segments);
    Ok(joined)
}

impl Endpoint {
    /// The client for requests to `url`, with `sms.timeout` for connecting and for the whole
    /// request.
    pub(crate) fn new(name: &'static str, sms: &SmsConfig, url: &Url) -> Result<Self, SmsError> {
        let timeout = Duration::from_secs(sms.timeout);
        let client = crate::outbound::client_builder(url.scheme() == "https", timeout)
            .build()
            .map_err(|e| {
                SmsError::Gateway(format!("{name}: the HTTP client cannot be built: {e}"))
            })?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => String::new(),
        };
        Ok(Self {
            client,
            name,
            host,
            timeout: sms.timeout,
            token: sms.token.clone().filter(|t| !t.is_empty()),
        })
    }

    /// `<name> at <host>`, for the start-up log and error texts.
    pub(crate) fn describe(&self) -> String {
        format!("{} at {}", self.name, self.host)
    }

    /// The error for a request that got no (complete) answer: timeout, connection or TLS
    /// failure, and the innermost cause (never the URL).
    pub(crate) fn transport_error(&self, e: reqwest::Error) -> DeliveryError {
        self.error(&crate::outbound::transport_failure(
            e,
            Duration::from_secs(self.timeout),
        ))
    }

    /// The error for an answer that is not a success: the status, and `detail` (something
    /// the gateway's own answer says that holds nothing of the message).
    pub(crate) fn status_error(&self, status: StatusCode, detail: Option<String>) -> DeliveryError {
        let mut text = format!("answered HTTP {status}");
        if let Some(detail) = detail {
            text.push_str(&format!(" ({detail})"));
        }
        self.error(&text)
    }

    /// `<name> at <host>: <what>`, with the token scrubbed should it appear.
    pub(crate) fn error(&self, what: &str) -> DeliveryError {
        let mut text = format!("{}: {what}", self.describe());
        if let Some(token) = &self.token {
            text = text.replace(token.as_str(), "[redacted]");
        }
        DeliveryError(text)
    }

    /// POSTs `form` (URL-encoded) to `url` with HTTP basic authentication, as both Twilio and
    /// 46elks take a message; returns the status and at most [`MAX_ANSWER`] bytes of the answer.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        (user, password): (&str, &str),
        form: &[(&str, &str)],
    ) -> Result<(StatusCode, Vec<u8>), DeliveryError> {
        let response = self
            .client
            .post(url.clone())
            .basic_auth(user, Some(password))
            .form(form)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        self.answer(response).await
    }

    /// The status of `response` and at most [`MAX_ANSWER`] bytes of its body.
    pub(crate) async fn answer(
        &self,
        mut response: Response,
    ) -> Result<(StatusCode, Vec<u8>), DeliveryError> {
        let status = response.status();
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(e)),
            }
        }
        body.truncate(MAX_ANSWER);
        Ok((status, body))
    }
}
