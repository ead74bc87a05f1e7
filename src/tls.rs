//! TLS for the listener (rustls, TLS 1.2 and 1.3 only). `self-signed` generates a certificate
//! for localhost once, in `keys_dir`; `files` reads the operator's PEM files; `off` serves
//! plain HTTP (behind a TLS-terminating proxy, or on loopback).

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::File {
            path: cert.clone(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::File {
            path: cert,
            message: "no certificate in the file".into(),
        });
    }
    let key_der = PrivateKeyDer::from_pem_file(&key).map_err(|e| TlsError::File {
        path: key.clone(),
        message: e.to_string(),
    })?;
    let mut server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(server)))
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
