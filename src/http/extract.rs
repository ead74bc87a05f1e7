//! Extractors: the person's language (and [`texts_for`], the same from headers) and the
//! client's IP address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

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
    headers_locale(&parts.headers, ui_locales)
}

/// Negotiates from `ui_locales` (if given) and the `Accept-Language` header.
fn headers_locale(headers: &HeaderMap, ui_locales: Option<&str>) -> Locale {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Locale::negotiate(ui_locales, accept)
}

/// The texts for a person, from `ui_locales` (if any) and `Accept-Language`.
pub fn texts_for(headers: &HeaderMap, ui_locales: Option<&str>) -> Texts {
    Texts::new(headers_locale(headers, ui_locales))
}

/// The client's IP address: the peer, or the last untrusted hop of `X-Forwarded-For` (or, when
/// that is absent, of the standard `Forwarded` header, RFC 7239) when the peer is a configured
/// trusted proxy (SECURITY.md 15.3.4).
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
        let ip = forwarded_client(&parts.headers, peer, trusted);
        Ok(ClientIp(ip))
    }
}

/// The hops a trusted proxy reported, nearest last: `X-Forwarded-For`, else the `for=`
/// parameters of `Forwarded` (quoted, `[v6]:port` and `v4:port` forms; obfuscated or
/// `unknown` identifiers are skipped).
fn forwarded_hops(headers: &axum::http::HeaderMap) -> Vec<IpAddr> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .collect()
    };
    let xff: Vec<IpAddr> = values("x-forwarded-for")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    values("forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                if !k.trim().eq_ignore_ascii_case("for") {
                    return None;
                }
                let v = v.trim().trim_matches('"');
                if let Some(rest) = v.strip_prefix('[') {
                    return rest.split(']').next()?.parse().ok();
                }
                v.parse()
                    .ok()
                    .or_else(|| v.rsplit_once(':').and_then(|(h, _)| h.parse().ok()))
            })
        })
        .collect()
}

/// Walks the reported hops from the nearest back; the first address that is not a trusted
/// proxy is the client (the peer when nothing usable was reported).
fn forwarded_client(
    headers: &axum::http::HeaderMap,
    peer: IpAddr,
    trusted: impl Fn(&IpAddr) -> bool,
) -> IpAddr {
    forwarded_hops(headers)
        .iter()
        .rev()
        .find(|ip| !trusted(ip))
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn forwarded_headers_name_the_client_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let trusted = |ip: &IpAddr| *ip == proxy;
        let peer = proxy;
        let xff = headers(&[("x-forwarded-for", "203.0.113.7, 10.0.0.1")]);
        assert_eq!(
            forwarded_client(&xff, peer, trusted),
            "203.0.113.7".parse::<IpAddr>().expect("ip")
        );
        let fwd = headers(&[(
            "forwarded",
            "for=198.51.100.9;proto=https, for=\"[2001:db8::1]:4711\"",
        )]);
        assert_eq!(
            forwarded_client(&fwd, peer, trusted),
            "2001:db8::1".parse::<IpAddr>().expect("ip")
        );
        let v4_port = headers(&[("forwarded", "for=\"192.0.2.60:8080\"")]);
        assert_eq!(
            forwarded_client(&v4_port, peer, trusted),
            "192.0.2.60".parse::<IpAddr>().expect("ip")
        );
        let hidden = headers(&[("forwarded", "for=_hidden, for=unknown")]);
        assert_eq!(forwarded_client(&hidden, peer, trusted), peer);
        // A client cannot hide behind a forged earlier hop: the nearest untrusted one counts.
        let forged = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7")]);
        assert_eq!(
            forwarded_client(&forged, peer, trusted),
            "203.0.113.7".parse::<IpAddr>().expect("ip")
        );
    }
}
