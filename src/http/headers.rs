//! Response headers set on every response: HSTS, a strict CSP with `frame-ancestors 'none'`,
//! `nosniff`, `Referrer-Policy: no-referrer` and `Cache-Control: no-store` unless a handler
//! chose otherwise; CORS for the endpoints browsers call from other origins (never the
//! authorization endpoint, RFC 9700 2.6); and a request log line without query strings (or
//! keys in paths).

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The default Content-Security-Policy: nothing from other origins, no framing, no inline
/// script; scripts only from this server (`/static/passkey.js`), which may call back only to it.
pub const DEFAULT_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// A CSP for pages whose form may be answered by a redirect to a client (`origin`): browsers
/// apply `form-action` to redirects after a form submission.
pub fn csp_with_form_target(origin: &str) -> String {
    DEFAULT_CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    )
}

/// A CSP for a page that loads frames from `origins` (the logged-out page's front-channel
/// logout frames): the default one, with `frame-src` naming exactly those origins.
pub fn csp_with_frames<'a>(origins: impl Iterator<Item = &'a str>) -> String {
    let mut origins: Vec<&str> = origins.collect();
    origins.sort_unstable();
    origins.dedup();
    format!("{DEFAULT_CSP}; frame-src {}", origins.join(" "))
}

/// Adds the security headers.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_CSP),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// CORS for API endpoints: any origin, no credentials (these endpoints never use cookies).
pub async fn cors(req: Request, next: Next) -> Response {
    let has_origin = req.headers().contains_key(header::ORIGIN);
    if req.method() == Method::OPTIONS {
        let mut res = StatusCode::NO_CONTENT.into_response();
        if has_origin {
            let h = res.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Authorization, Content-Type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        return res;
    }
    let mut res = next.run(req).await;
    if has_origin {
        res.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    res
}

/// The request-id header: taken from the request when it is a short token (a proxy's id),
/// else made here; echoed on the response and carried by every log line of the request.
pub const REQUEST_ID: &str = "x-request-id";

/// A request id we accept from outside: 1-64 characters of `[A-Za-z0-9._-]`.
/// The path of a request as it may be logged: the matched route's pattern, or for a path
/// that matched no route its first segment when that is a short lower-case word (a route
/// name such as `reset`), with everything after it replaced by `…`. A raw path is never
/// logged: it can carry a live key.
pub fn loggable_path(req: &Request) -> String {
    if let Some(m) = req.extensions().get::<axum::extract::MatchedPath>() {
        return m.as_str().to_string();
    }
    redact_path(req.uri().path())
}

/// [`loggable_path`] for a path that matched no route.
pub fn redact_path(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    let (first, more) = match trimmed.split_once('/') {
        Some((first, _)) => (first, true),
        None => (trimmed, false),
    };
    let word = !first.is_empty()
        && first.len() <= 16
        && first
            .bytes()
            .all(|b| b.is_ascii_lowercase() || matches!(b, b'-' | b'_' | b'.'));
    match (word, more) {
        (true, true) => format!("/{first}/… (unmatched)"),
        (true, false) => format!("/{first} (unmatched)"),
        (false, _) if trimmed.is_empty() => "/".to_string(),
        (false, _) => "/… (unmatched)".to_string(),
    }
}

fn acceptable_request_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Logs method, path (never the query: it can carry codes), status and duration inside a
/// span with the request id, and counts the request in the metrics. The path is the route's
/// pattern when one matched (`/reset/{key}`); an unmatched path is logged redacted
/// ([`loggable_path`]) and counted as `unmatched`, so a key in a path (`/reset/<key>/`,
/// `/l/<key>/x`) never reaches the log and metrics labels stay a bounded set.
pub async fn log_requests(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let method = req.method().clone();
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_string());
    let path = loggable_path(&req);
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map_or_else(|| crate::crypto::random_token(9), str::to_string);
    let span = tracing::info_span!("request", request_id = %request_id);
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    let micros = elapsed.as_micros() as u64;
    let _entered = span.enter();
    if status >= 500 {
        tracing::warn!(%method, %path, status, micros, "request");
    } else {
        tracing::debug!(%method, %path, status, micros, "request");
    }
    let route = matched.as_deref().unwrap_or("unmatched");
    let status_text = status.to_string();
    crate::metrics::registry::inc(
        "nyckel_http_requests_total",
        &[
            ("method", method.as_str()),
            ("route", route),
            ("status", &status_text),
        ],
    );
    crate::metrics::registry::observe(
        "nyckel_http_request_duration_seconds",
        &[("route", route)],
        elapsed.as_secs_f64(),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::redact_path;

    #[test]
    fn unmatched_paths_keep_only_a_route_word() {
        let key = "q8Xw3-7fJ2kLmN0pQrStUvWxYz_abcdefghijklmnop";
        for (path, want) in [
            (format!("/reset/{key}/"), "/reset/… (unmatched)"),
            (format!("/l/{key}/x"), "/l/… (unmatched)"),
            (format!("/{key}"), "/… (unmatched)"),
            ("/nothing-here".to_string(), "/nothing-here (unmatched)"),
            ("/".to_string(), "/"),
        ] {
            let got = redact_path(&path);
            assert_eq!(got, want, "{path}");
            assert!(!got.contains(key));
        }
    }
}
