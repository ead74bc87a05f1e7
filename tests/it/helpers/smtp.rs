//! A minimal SMTP server for the mail tests, on 127.0.0.1 port 0: EHLO, STARTTLS (upgrades
//! to TLS with a certificate for 127.0.0.1), AUTH PLAIN, MAIL, RCPT, DATA, QUIT. It records
//! every message it accepts and whether it arrived over TLS.

use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA, dot-unstuffed, CRLF line ends.
    pub data: String,
    /// Whether it came after STARTTLS.
    pub tls: bool,
    /// The decoded AUTH PLAIN response, if the client authenticated.
    pub auth: Option<String>,
}

/// What the server does.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Offer STARTTLS in the EHLO answer.
    pub starttls: bool,
    /// Present a certificate from a CA the client was not told about.
    pub untrusted_cert: bool,
}

/// A running test server.
pub struct SmtpServer {
    pub port: u16,
    /// PEM of the CA that signed the server's (trusted) certificate.
    pub ca_pem: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Connections accepted (also those refused later).
    pub connections: Arc<Mutex<usize>>,
}

impl SmtpServer {
    /// A relay that offers STARTTLS with a certificate from its own CA ([`Self::ca_pem`]).
    pub async fn starttls() -> SmtpServer {
        Self::start(Behaviour {
            starttls: true,
            untrusted_cert: false,
        })
        .await
    }

    /// A relay that offers no STARTTLS (plain SMTP only).
    pub async fn without_starttls() -> SmtpServer {
        Self::start(Behaviour {
            starttls: false,
            untrusted_cert: false,
        })
        .await
    }

    /// A relay whose STARTTLS certificate comes from a CA the client is not told about.
    pub async fn untrusted() -> SmtpServer {
        Self::start(Behaviour {
            starttls: true,
            untrusted_cert: true,
        })
        .await
    }

    /// Points `config` at this relay: host, port, and its CA (written to `dir/ca.pem`).
    pub fn relay_for(&self, config: &mut nyckel::config::Config, dir: &std::path::Path) {
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, &self.ca_pem).expect("CA file");
        config.mail.smtp_host = Some("127.0.0.1".into());
        config.mail.smtp_port = self.port;
        config.mail.smtp_ca_file = Some(ca);
    }

    pub async fn start(behaviour: Behaviour) -> SmtpServer {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("CA");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
        let leaf = if behaviour.untrusted_cert {
            let other_key = KeyPair::generate().expect("other CA key");
            let mut other = CertificateParams::new(Vec::<String>::new()).expect("params");
            other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let other_ca = other.self_signed(&other_key).expect("other CA");
            leaf_params
                .signed_by(&leaf_key, &other_ca, &other_key)
                .expect("leaf")
        } else {
            leaf_params
                .signed_by(&leaf_key, &ca, &ca_key)
                .expect("leaf")
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls_server(&leaf, &leaf_key));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (rec, conns) = (received.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *conns.lock().expect("lock") += 1;
                let (rec, acceptor) = (rec.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let mut plain = BufReader::new(stream);
                    let _ = plain.get_mut().write_all(b"220 test ESMTP\r\n").await;
                    if let Some(Upgrade) = session(&mut plain, behaviour, false, &rec).await {
                        let Ok(tls) = acceptor.accept(plain.into_inner()).await else {
                            return;
                        };
                        let mut tls = BufReader::new(tls);
                        session(&mut tls, behaviour, true, &rec).await;
                    }
                });
            }
        });
        SmtpServer {
            port,
            ca_pem: ca.pem(),
            received,
            connections,
        }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

struct Upgrade;

/// Serves commands until QUIT, EOF or STARTTLS (then `Some(Upgrade)`).
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    behaviour: Behaviour,
    tls: bool,
    received: &Mutex<Vec<Received>>,
) -> Option<Upgrade> {
    let mut from = String::new();
    let mut to = Vec::new();
    let mut auth = None;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let command = line.trim_end().to_string();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" | "HELO" => {
                let mut r = String::from("250-test\r\n");
                if behaviour.starttls && !tls {
                    r.push_str("250-STARTTLS\r\n");
                }
                if tls {
                    r.push_str("250-AUTH PLAIN\r\n");
                }
                r.push_str("250 8BITMIME\r\n");
                r
            }
            "STARTTLS" if behaviour.starttls && !tls => {
                stream.get_mut().write_all(b"220 go ahead\r\n").await.ok()?;
                stream.get_mut().flush().await.ok()?;
                return Some(Upgrade);
            }
            "AUTH" => {
                use base64::Engine;
                let b64 = command.split_whitespace().nth(2).unwrap_or("");
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap_or_default();
                auth = Some(String::from_utf8_lossy(&decoded).replace('\0', " "));
                "235 ok\r\n".into()
            }
            "MAIL" => {
                from = angle(&command);
                "250 ok\r\n".into()
            }
            "RCPT" => {
                to.push(angle(&command));
                "250 ok\r\n".into()
            }
            "DATA" => {
                stream.get_mut().write_all(b"354 go\r\n").await.ok()?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if stream.read_line(&mut l).await.ok()? == 0 {
                        return None;
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                received.lock().expect("lock").push(Received {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                    tls,
                    auth: auth.clone(),
                });
                "250 queued\r\n".into()
            }
            "RSET" | "NOOP" => "250 ok\r\n".into(),
            "QUIT" => {
                let _ = stream.get_mut().write_all(b"221 bye\r\n").await;
                return None;
            }
            _ => "502 not implemented\r\n".into(),
        };
        stream.get_mut().write_all(reply.as_bytes()).await.ok()?;
        stream.get_mut().flush().await.ok()?;
    }
}

/// The address between `<` and `>` in a MAIL or RCPT command.
fn angle(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}

/// A TLS server configuration (ring, safe protocol versions, no client certificates) that
/// presents `cert`, whose key is `key`.
pub fn tls_server(cert: &rcgen::Certificate, key: &KeyPair) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
    Arc::new(config)
}

/// Queues the test invitation (to anna@example.org, in Swedish, to Göteborgs Roddklubb)
/// whose link holds `key`, as the invitation use-case does.
pub async fn queue_invitation(app: &crate::helpers::TestApp, key: &str) {
    let link = format!("{}/invite/{key}", app.issuer);
    let (to, club) = ("anna@example.org", "Göteborgs Roddklubb");
    nyckel::mail::send_invitation(&app.state, to, nyckel::i18n::Locale::Sv, club, &link)
        .await
        .expect("queued");
}
