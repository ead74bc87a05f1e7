//! Extractors: the person's language and the client's IP address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::i18n::{Locale, Texts};
use crate::state::AppState;

/// The texts in the language the browser prefers (`Accept-Language`).
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub Texts);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(Texts::new(accept_language_locale(parts, None))))
    }
}

/// Negotiates from `ui_locales` (if given) and the `Accept-Language` header.
pub fn accept_language_locale(parts: &Parts, ui_locales: Option<&str>) -> Locale {
    let accept = parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Locale::negotiate(ui_locales, accept)
}

/// The client's IP address: the peer, or the last untrusted hop of `X-Forwarded-For` when
/// the peer is a configured trusted proxy (SECURITY.md 15.3.4).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let trusted = |ip: &IpAddr| {
            state
                .config
                .trusted_proxies
                .iter()
                .any(|p| p.parse::<IpAddr>().ok() == Some(*ip))
        };
        if !trusted(&peer) {
            return Ok(ClientIp(peer));
        }
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        // Walk from the nearest hop back; the first address that is not a trusted proxy is
        // the client.
        let ip = forwarded
            .iter()
            .rev()
            .find(|ip| !trusted(ip))
            .copied()
            .unwrap_or(peer);
        Ok(ClientIp(ip))
    }
}
