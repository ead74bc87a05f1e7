//! Delivery through an SMTP relay (lettre, rustls with ring). TLS is required: STARTTLS
//! (a relay that does not offer it is refused, never used in plain text) or implicit TLS,
//! with the relay's certificate checked against the webpki roots and `mail.smtp_ca_file`.
//! Plain SMTP only reaches a loopback relay the operator opted in to (checked by
//! `Config::validate`). Errors name the relay's problem, never the password or the message.

use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncTransport, Tokio1Executor};

use crate::config::Config;
use crate::mail::backend::DeliveryError;
use crate::mail::message::MailError;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS; refused when the relay does not offer it.
    Starttls,
    /// TLS from the first byte.
    Implicit,
    /// Plain SMTP (loopback relay only, explicit opt-in).
    None,
}

impl SmtpTls {
    fn parse(value: &str) -> Result<Self, MailError> {
        match value {
            "starttls" => Ok(Self::Starttls),
            "implicit" => Ok(Self::Implicit),
            "none" => Ok(Self::None),
            _ => Err(MailError::Relay(
                "mail.smtp_tls must be \"starttls\", \"implicit\" or \"none\"".into(),
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Starttls => "STARTTLS",
            Self::Implicit => "implicit TLS",
            Self::None => "plain SMTP on loopback",
        }
    }
}

/// A configured relay. Its `Debug` shows host, port and mode only.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
    mode: SmtpTls,
    /// Kept only to scrub it from error texts.
    password: Option<String>,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Smtp {
    /// The relay of `mail.smtp_*` (`None` when `mail.smtp_host` is unset).
    pub fn from_config(config: &Config) -> Result<Option<Self>, MailError> {
        let mail = &config.mail;
        let Some(host) = mail.smtp_host.clone() else {
            return Ok(None);
        };
        let mode = SmtpTls::parse(&mail.smtp_tls)?;
        let tls_parameters = || -> Result<TlsParameters, MailError> {
            let mut builder = TlsParameters::builder(host.clone());
            if let Some(file) = &mail.smtp_ca_file {
                let pem = std::fs::read(file).map_err(|e| {
                    MailError::Relay(format!(
                        "mail.smtp_ca_file: cannot read {}: {e}",
                        file.display()
                    ))
                })?;
                let certificate = Certificate::from_pem(&pem).map_err(|_| {
                    MailError::Relay(format!(
                        "mail.smtp_ca_file: {} holds no PEM certificate",
                        file.display()
                    ))
                })?;
                builder = builder.add_root_certificate(certificate);
            }
            builder
                .build_rustls()
                .map_err(|e| MailError::Relay(format!("mail.smtp_host: TLS setup failed: {e}")))
        };
        let tls = match mode {
            SmtpTls::Starttls => Tls::Required(tls_parameters()?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
            SmtpTls::None => Tls::None,
        };
        let hello = url::Url::parse(&config.issuer())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .map(ClientId::Domain)
            .unwrap_or_default();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(mail.smtp_port)
            .tls(tls)
            .hello_name(hello)
            .timeout(Some(Duration::from_secs(mail.smtp_timeout)));
        if let (Some(user), Some(password)) = (&mail.smtp_username, &mail.smtp_password) {
            builder = builder
                .credentials(Credentials::new(user.clone(), password.clone()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(Some(Self {
            transport: builder.build(),
            host,
            port: mail.smtp_port,
            mode,
            password: mail.smtp_password.clone(),
        }))
    }

    /// `host:port (mode)`, for the start-up log.
    pub fn describe(&self) -> String {
        format!(
            "SMTP relay {}:{} ({})",
            self.host,
            self.port,
            self.mode.name()
        )
    }

    /// Sends one rendered document from `from` to `to` (bare addresses).
    pub async fn deliver(
        &self,
        from: &str,
        to: &str,
        document: &[u8],
    ) -> Result<(), DeliveryError> {
        let address = |what: &str, a: &str| {
            a.parse::<Address>()
                .map_err(|_| DeliveryError(format!("the {what} address is not usable for SMTP")))
        };
        let envelope = Envelope::new(
            Some(address("sender", from)?),
            vec![address("recipient", to)?],
        )
        .map_err(|_| DeliveryError("the envelope is not usable".into()))?;
        self.transport
            .send_raw(&envelope, document)
            .await
            .map(|_| ())
            .map_err(|e| {
                let mut text = format!("{} refused or failed: {e}", self.describe());
                if let Some(password) = self.password.as_deref().filter(|p| !p.is_empty()) {
                    text = text.replace(password, "[redacted]");
                }
                DeliveryError(text)
            })
    }
}
