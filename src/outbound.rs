//! Outbound HTTPS to services Nyckel calls (SMS gateways, S3-compatible backup storage,
//! back-channel logout and webhook receivers): one client policy (rustls with verified
//! certificates, no redirects, a connect and a whole-request timeout, our User-Agent), one way
//! to describe a request that got no answer, and which addresses are this server or its own
//! network ([`Where`]).

use std::time::Duration;

/// Where a URL's host is, as far as its text tells (a name is not resolved here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// This server itself: `localhost`, a loopback address, the unspecified address (`0.0.0.0`
    /// and `::` reach this machine), or an IPv4-mapped form of one.
    Loopback,
    /// A link-local address (`169.254.0.0/16`, `fe80::/10`): the host's own link, where a
    /// cloud's metadata service answers.
    LinkLocal,
    /// Anything else, private ranges included (an organisation's app may live on an internal
    /// network; docs/security.md).
    Elsewhere,
}

/// Where `url`'s host is.
pub fn host_kind(url: &url::Url) -> Where {
    let v4 = |ip: std::net::Ipv4Addr| {
        if ip.is_loopback() || ip.is_unspecified() {
            Where::Loopback
        } else if ip.is_link_local() {
            Where::LinkLocal
        } else {
            Where::Elsewhere
        }
    };
    match url.host() {
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Where::Loopback,
        Some(url::Host::Domain(_)) | None => Where::Elsewhere,
        Some(url::Host::Ipv4(ip)) => v4(ip),
        Some(url::Host::Ipv6(ip)) => match ip.to_ipv4_mapped() {
            Some(mapped) => v4(mapped),
            None if ip.is_loopback() || ip.is_unspecified() => Where::Loopback,
            None if ip.is_unicast_link_local() => Where::LinkLocal,
            None => Where::Elsewhere,
        },
    }
}

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
