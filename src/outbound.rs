//! Outbound HTTPS to services Nyckel calls (SMS gateways, S3-compatible backup storage): one
//! client policy (rustls with verified certificates, no redirects, a connect and a whole-request
//! timeout, our User-Agent) and one way to describe a request that got no answer.

use std::time::Duration;

/// A client builder with the policy above; `https_only` refuses plain HTTP.
pub fn client_builder(https_only: bool, timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .https_only(https_only)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("nyckel/", env!("CARGO_PKG_VERSION")))
}

/// What went wrong with a request that got no (complete) answer: timeout, connection or TLS
/// failure, unreadable body, with the innermost cause. Never the URL (it may carry an account
/// id or a signature).
pub fn transport_failure(e: reqwest::Error, timeout: Duration) -> String {
    let kind = if e.is_timeout() {
        format!("no answer within {} s (timed out)", timeout.as_secs_f64())
    } else if e.is_connect() {
        "could not connect".to_string()
    } else if e.is_body() || e.is_decode() {
        "the answer could not be read".to_string()
    } else {
        "the request failed".to_string()
    };
    let e = e.without_url();
    let mut cause: &dyn std::error::Error = &e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("{kind}: {cause}")
}
