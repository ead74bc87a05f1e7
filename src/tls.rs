//! TLS for the listener (rustls, TLS 1.2 and 1.3 only). `self-signed` generates a certificate
//! for localhost once, in `keys_dir`; `files` reads the operator's PEM files; `off` serves
//! plain HTTP (behind a TLS-terminating proxy, or on loopback).
//!
//! The certificate is served through a [`Reloader`]: every `tls.reload_interval` seconds it
//! looks at the files, and when they changed and load cleanly, new connections get the new
//! certificate (renewal without a restart). Files that do not load are reported and the
//! current certificate stays.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{Config, TlsMode};
use crate::keys::master::{create_private_dir, write_private_file};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("generating the self-signed certificate: {0}")]
    Generate(String),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Installs ring as rustls' process-wide crypto provider (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The rustls server configuration for `config`, or `None` with TLS off.
pub fn server_config(config: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, TlsError> {
    install_crypto_provider();
    let (cert, key) = match config.tls.mode {
        TlsMode::Off => return Ok(None),
        TlsMode::Files => {
            let cert = config.tls.cert.clone().unwrap_or_default();
            let key = config.tls.key.clone().unwrap_or_default();
            (cert, key)
        }
        TlsMode::SelfSigned => {
            let cert = config.keys_dir.join("tls.crt");
            let key = config.keys_dir.join("tls.key");
            if !cert.exists() || !key.exists() {
                generate_self_signed(&config.keys_dir, &cert, &key, &config.issuer())?;
            }
            (cert, key)
        }
    };
    let reloader = Arc::new(Reloader::load(cert, key)?);
    if config.tls.reload_interval > 0 {
        reloader.clone().watch(config.tls.reload_interval);
    }
    let mut server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(reloader);
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(server)))
}

/// Reads a certificate chain and its private key from PEM files.
fn load_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::File {
            path: cert.to_path_buf(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::File {
            path: cert.to_path_buf(),
            message: "no certificate in the file".into(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::File {
        path: key.to_path_buf(),
        message: e.to_string(),
    })?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key_der)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        TlsError::Config(format!("the key does not belong to the certificate: {e}"))
    })?;
    Ok(certified)
}

/// The files' modification times (a change of either means "look again").
fn stamps(cert: &Path, key: &Path) -> (Option<SystemTime>, Option<SystemTime>) {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (modified(cert), modified(key))
}

/// Serves the current certificate and reloads it when its files change.
#[derive(Debug)]
pub struct Reloader {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    seen: RwLock<(Option<SystemTime>, Option<SystemTime>)>,
}

impl Reloader {
    /// Loads the pair (an error here stops the start).
    pub fn load(cert: PathBuf, key: PathBuf) -> Result<Self, TlsError> {
        let seen = stamps(&cert, &key);
        let certified = load_pair(&cert, &key)?;
        Ok(Self {
            cert,
            key,
            current: RwLock::new(Arc::new(certified)),
            seen: RwLock::new(seen),
        })
    }

    /// Loads the files again if they changed since the last look; returns whether the
    /// certificate was replaced. A pair that does not load keeps the current certificate.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamps(&self.cert, &self.key);
        if *self.seen.read().unwrap_or_else(|e| e.into_inner()) == now {
            return false;
        }
        match load_pair(&self.cert, &self.key) {
            Ok(certified) => {
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(certified);
                *self.seen.write().unwrap_or_else(|e| e.into_inner()) = now;
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                // Half-written files during a renewal land here; the next look tries again.
                tracing::warn!(error = %crate::error::Chain(&e), "the changed TLS files do not load; keeping the current certificate");
                false
            }
        }
    }

    /// Looks at the files every `interval` seconds, in the background.
    fn watch(self: Arc<Self>, interval: u64) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let this = self.clone();
                let _ = tokio::task::spawn_blocking(move || this.reload_if_changed()).await;
            }
        });
    }
}

impl ResolvesServerCert for Reloader {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// Writes a self-signed certificate for localhost (and the issuer's host) and its key.
fn generate_self_signed(dir: &Path, cert: &Path, key: &Path, issuer: &str) -> Result<(), TlsError> {
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Some(host) = url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    {
        let host = host.trim_matches(['[', ']']).to_string();
        if !names.contains(&host) {
            names.push(host);
        }
    }
    let generated =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    create_private_dir(dir).map_err(|e| TlsError::File {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let write = |path: &Path, data: String| {
        let _ = std::fs::remove_file(path);
        write_private_file(path, data.as_bytes()).map_err(|e| TlsError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    };
    write(key, generated.key_pair.serialize_pem())?;
    write(cert, generated.cert.pem())?;
    Ok(())
}
