//! The load generator's HTTP client: one hyper 1 HTTP/1.1 connection per task over a tokio
//! `TcpStream` (keep-alive, `TCP_NODELAY`), requests built from pre-built templates, and a
//! small cookie jar for the browser-less login flow. No pool, no redirects, no TLS: the
//! cheapest client hyper offers, so the generator leaves the CPU to the server.

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The body as text (lossy), for error messages and HTML parsing.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A short description for error reports (status and the start of the body).
    pub fn describe(&self) -> String {
        let text = self.text();
        let short: String = text.chars().take(200).collect();
        format!("HTTP {}: {}", self.status, short.trim())
    }
}

/// One keep-alive connection to the server; reconnects when the server closed it.
pub struct Conn {
    addr: SocketAddr,
    tx: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Connects to `addr`.
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        let tx = handshake(addr).await?;
        Ok(Conn { addr, tx })
    }

    /// Sends one request and reads the whole response.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<Resp> {
        if self.tx.is_closed() || self.tx.ready().await.is_err() {
            self.tx = handshake(self.addr).await?;
        }
        let res = self.tx.send_request(req).await.context("sending request")?;
        let (parts, body) = res.into_parts();
        let body = body.collect().await.context("reading body")?.to_bytes();
        Ok(Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }
}

async fn handshake(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake")?;
    tokio::spawn(async move {
        // The connection ends when the server closes it or the sender is dropped.
        let _ = conn.await;
    });
    Ok(tx)
}

/// A pre-built request: building from it costs a few reference-count increments and one
/// header-map clone, no parsing.
#[derive(Clone)]
pub struct Template {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Template {
    /// A GET of `path_and_query` on `host`.
    pub fn get(host: &str, path_and_query: &str) -> anyhow::Result<Template> {
        Self::new(Method::GET, host, path_and_query, Bytes::new(), None)
    }

    /// A POST of the form `fields` to `path` on `host`.
    pub fn post_form(host: &str, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<Template> {
        let body = form(fields);
        Self::new(
            Method::POST,
            host,
            path,
            Bytes::from(body),
            Some("application/x-www-form-urlencoded"),
        )
    }

    fn new(
        method: Method,
        host: &str,
        path_and_query: &str,
        body: Bytes,
        content_type: Option<&'static str>,
    ) -> anyhow::Result<Template> {
        let uri: Uri = path_and_query
            .parse()
            .with_context(|| format!("request path {path_and_query:?}"))?;
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host)?);
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        Ok(Template {
            method,
            uri,
            headers,
            body,
        })
    }

    /// The template with one more header.
    pub fn with_header(mut self, name: HeaderName, value: &str) -> anyhow::Result<Template> {
        self.headers.insert(name, HeaderValue::from_str(value)?);
        Ok(self)
    }

    /// The template with HTTP Basic client authentication (RFC 6749 section 2.3.1).
    pub fn with_basic(self, client_id: &str, secret: &str) -> anyhow::Result<Template> {
        let value = basic_auth(client_id, secret);
        self.with_header(header::AUTHORIZATION, &value)
    }

    /// A request from the template.
    pub fn build(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// `application/x-www-form-urlencoded` text of `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The `Authorization: Basic` value for a client (id and secret form-encoded first).
pub fn basic_auth(client_id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(client_id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The cookies one browser holds (name -> value); `Secure` is ignored, as a browser does
/// for `localhost`-like origins.
#[derive(Debug, Default, Clone)]
pub struct Jar {
    cookies: HashMap<String, String>,
}

impl Jar {
    /// Stores the `Set-Cookie` headers of a response (a `Max-Age=0` or empty value deletes).
    pub fn store(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(header::SET_COOKIE) {
            let Ok(v) = v.to_str() else { continue };
            let mut parts = v.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let deleted =
                value.is_empty() || parts.any(|p| p.trim().eq_ignore_ascii_case("max-age=0"));
            if deleted {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    /// The `Cookie` header value, if any cookie is held.
    pub fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}
