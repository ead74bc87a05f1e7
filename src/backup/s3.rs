//! S3-compatible object storage as a backup destination: `PutObject`, `GetObject`,
//! `DeleteObject` and paginated `ListObjectsV2`, signed with AWS Signature Version 4
//! ([`sigv4`]) over the crate's `reqwest` (rustls with ring, the webpki roots, certificates
//! always verified, no redirects followed, HTTPS only unless the endpoint is plain HTTP on
//! loopback) and a timeout for connecting and for each whole request.
//!
//! Buckets are addressed path-style (`https://host/bucket/key`, for most S3-compatible
//! servers and bucket names with dots) or virtual-hosted (`https://bucket.host/key`, AWS's
//! default). Every key is stored under the settings' prefix.
//!
//! Error texts name the destination, its bucket and host, the operation and the key, and
//! what went wrong (the HTTP status with S3's error code and message, or the kind of
//! transport failure). They never hold the credentials or a signature: S3's error documents
//! echo the string to sign and the access key id, so only their `Code` and `Message` are
//! quoted, and the access key id and secret are scrubbed from every text all the same.
//!
//! Written by hand rather than with the `object_store` crate: that one brings about 20 more
//! crates and turns on reqwest's native root store for every client in the process (the SMS
//! gateways included), where this project trusts the webpki roots only.

mod sigv4;
mod xml;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, Method, Response, StatusCode, Url};

use super::destination::{DestFuture, Destination, DestinationError};

/// The most of an error answer read (S3's error documents are a few hundred bytes).
const MAX_ERROR_ANSWER: usize = 64 * 1024;
/// The most of one listing page read (1000 keys of up to 1 KiB, with their metadata).
const MAX_LIST_ANSWER: usize = 8 * 1024 * 1024;
/// The most pages one listing follows (S3 returns at most 1000 keys a page).
const MAX_PAGES: usize = 100_000;
/// The most of S3's error message quoted.
const MAX_MESSAGE: usize = 300;

/// Where and how to reach one bucket. `Debug` redacts the secret access key.
#[derive(Clone)]
pub struct S3Settings {
    /// The destination's name from the configuration.
    pub name: String,
    /// `scheme://host[:port]`, e.g. `https://s3.eu-north-1.amazonaws.com` or
    /// `http://127.0.0.1:9000` (plain HTTP only on loopback).
    pub endpoint: String,
    /// The region requests are signed for (`us-east-1` for most S3-compatible servers).
    pub region: String,
    pub bucket: String,
    /// A folder inside the bucket that every key goes under (`""` for none).
    pub prefix: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `https://host/bucket/key` when true, `https://bucket.host/key` when false.
    pub path_style: bool,
    /// The most one request may take, connecting and transferring the whole object.
    pub timeout: Duration,
}

crate::redact::debug_showing!(S3Settings {
    name, endpoint, region, bucket, prefix, access_key_id, path_style, timeout,
} redacted { secret_access_key });

/// One bucket (and prefix) as a backup destination. Its `Debug` shows the name, bucket and
/// host only.
pub struct S3Destination {
    name: String,
    client: Client,
    /// `http` or `https`.
    scheme: &'static str,
    /// The `Host` requests carry: `host[:port]`, with `bucket.` in front when virtual-hosted.
    host: String,
    /// The endpoint's `host[:port]`, for texts.
    endpoint_host: String,
    bucket: String,
    path_style: bool,
    /// `""`, or the prefix with one trailing `/`.
    prefix: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    timeout: Duration,
    /// `max-keys` for listings; `None` leaves S3's default (1000).
    page_size: Option<u32>,
}

impl std::fmt::Debug for S3Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl S3Destination {
    /// Checks `settings` and builds the HTTP client.
    pub fn new(settings: S3Settings) -> Result<Self, DestinationError> {
        Self::build(settings, None)
    }

    /// Like [`S3Destination::new`], but connects to `addr` instead of looking the host up
    /// (the port is the endpoint's); requests still name the host. For endpoints known by
    /// address only, and for tests of virtual-hosted buckets on loopback.
    pub fn with_address(settings: S3Settings, addr: SocketAddr) -> Result<Self, DestinationError> {
        Self::build(settings, Some(addr))
    }

    /// Lists `n` keys a request (1 to 1000) instead of S3's default of 1000.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n.clamp(1, 1000));
        self
    }

    fn build(s: S3Settings, addr: Option<SocketAddr>) -> Result<Self, DestinationError> {
        let fail =
            |what: &str| DestinationError::Io(format!("S3 destination \"{}\": {what}", s.name));
        if s.name.trim().is_empty() {
            return Err(fail("the name is empty"));
        }
        let url = Url::parse(s.endpoint.trim())
            .map_err(|_| fail("the endpoint is not a URL (https://host[:port])"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail("the endpoint must not hold credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
            return Err(fail(
                "the endpoint must be scheme://host[:port], without a path",
            ));
        }
        let endpoint_host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => return Err(fail("the endpoint has no host")),
        };
        let host_only = url.host_str().unwrap_or_default();
        let scheme = match url.scheme() {
            "https" => "https",
            "http" if crate::config::is_loopback(host_only) => "http",
            _ => {
                return Err(fail(
                    "the endpoint must be an https:// URL (http:// only on loopback)",
                ));
            }
        };
        check_bucket(&s.bucket).map_err(|e| fail(&e))?;
        if !s.path_style && scheme == "https" && s.bucket.contains('.') {
            return Err(fail(
                "a bucket name with dots cannot be virtual-hosted over HTTPS (its certificate does not match); use path-style addressing",
            ));
        }
        if s.region.is_empty()
            || !s
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(fail(
                "the region must be lowercase letters, digits and '-' (e.g. eu-north-1)",
            ));
        }
        if s.access_key_id.is_empty() || !s.access_key_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(fail("the access key id must be letters and digits"));
        }
        if s.secret_access_key.is_empty() || s.secret_access_key.chars().any(char::is_control) {
            return Err(fail(
                "the secret access key is empty or holds control characters",
            ));
        }
        if s.timeout.is_zero() {
            return Err(fail("the timeout must be more than zero"));
        }
        let prefix = s.prefix.trim_matches('/');
        if !prefix.is_empty() {
            check_key(prefix).map_err(|e| fail(&format!("the prefix {e}")))?;
        }
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let host = if s.path_style {
            endpoint_host.clone()
        } else {
            format!("{}.{endpoint_host}", s.bucket)
        };

        let mut builder = crate::outbound::client_builder(scheme == "https", s.timeout);
        if let Some(addr) = addr {
            let name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
            builder = builder.resolve(name, addr);
        }
        let client = builder
            .build()
            .map_err(|e| fail(&format!("the HTTP client cannot be built: {e}")))?;
        Ok(S3Destination {
            name: s.name,
            client,
            scheme,
            host,
            endpoint_host,
            bucket: s.bucket,
            path_style: s.path_style,
            prefix,
            region: s.region,
            access_key_id: s.access_key_id,
            secret_access_key: s.secret_access_key,
            timeout: s.timeout,
            page_size: None,
        })
    }

    /// `S3 destination "<name>" (bucket "<bucket>" at <host>)`, for logs and error texts.
    pub fn describe(&self) -> String {
        format!(
            "S3 destination \"{}\" (bucket \"{}\" at {})",
            self.name, self.bucket, self.endpoint_host
        )
    }

    /// The unencoded path of the object `key` (already checked).
    fn object_path(&self, key: &str) -> String {
        if self.path_style {
            format!("/{}/{}{key}", self.bucket, self.prefix)
        } else {
            format!("/{}{key}", self.prefix)
        }
    }

    /// The unencoded path of the bucket itself.
    fn bucket_path(&self) -> String {
        if self.path_style {
            format!("/{}", self.bucket)
        } else {
            "/".to_string()
        }
    }

    /// Sends one signed request; the answer whatever its status.
    async fn send(
        &self,
        op: Op<'_>,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response, DestinationError> {
        let path = sigv4::encode_path(path);
        let query = sigv4::canonical_query(query);
        let mut url = format!("{}://{}{path}", self.scheme, self.host);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let url = Url::parse(&url).map_err(|_| self.error(op, "the request URL is invalid"))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| self.error(op, "the system clock is before 1970"))?;
        let amz_date = sigv4::amz_date(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
        let payload = if body.is_empty() {
            sigv4::EMPTY_SHA256.to_string()
        } else {
            sigv4::sha256_hex(&body)
        };
        let signer = sigv4::Signer {
            access_key_id: &self.access_key_id,
            secret_access_key: &self.secret_access_key,
            region: &self.region,
            service: "s3",
        };
        let authorization = signer.authorization(
            &sigv4::Request {
                method: method.as_str(),
                path: &path,
                query: &query,
                extra_headers: &[],
                host: &self.host,
                payload_sha256: &payload,
            },
            &amz_date,
        );
        let mut authorization = HeaderValue::from_str(&authorization)
            .map_err(|_| self.error(op, "the credentials cannot be sent in a header"))?;
        authorization.set_sensitive(true);
        self.client
            .request(method, url)
            .header("x-amz-date", amz_date)
            .header("x-amz-content-sha256", payload)
            .header(AUTHORIZATION, authorization)
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(op, e))
    }

    /// `<describe>: <op> "<key>": <what>`, with the credentials scrubbed should they appear.
    fn error(&self, op: Op<'_>, what: &str) -> DestinationError {
        DestinationError::Io(self.scrub(format!("{}: {op}: {what}", self.describe())))
    }

    fn scrub(&self, mut text: String) -> String {
        for secret in [&self.secret_access_key, &self.access_key_id] {
            if !secret.is_empty() {
                text = text.replace(secret.as_str(), "[redacted]");
            }
        }
        text
    }

    /// The error for a request that got no (complete) answer: the kind of failure and the
    /// innermost cause (never the URL).
    fn transport_error(&self, op: Op<'_>, e: reqwest::Error) -> DestinationError {
        self.error(op, &crate::outbound::transport_failure(e, self.timeout))
    }

    /// At most `limit` bytes of the answer's body.
    async fn read(
        &self,
        op: Op<'_>,
        mut response: Response,
        limit: usize,
    ) -> Result<Vec<u8>, DestinationError> {
        let mut body = Vec::new();
        while body.len() < limit {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(op, e)),
            }
        }
        body.truncate(limit);
        Ok(body)
    }

    /// The status and S3's error `Code` of an answer that is not a success, and the error
    /// that tells them (with S3's `Message`).
    async fn failure(&self, op: Op<'_>, response: Response) -> (Option<String>, DestinationError) {
        let status = response.status();
        let body = match self.read(op, response, MAX_ERROR_ANSWER).await {
            Ok(body) => body,
            Err(e) => return (None, e),
        };
        let (code, message) = xml::error(&String::from_utf8_lossy(&body));
        let code = code.filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric()));
        let mut text = format!("answered HTTP {status}");
        match (&code, message) {
            (Some(code), Some(message)) => {
                let message: String = message
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_MESSAGE)
                    .collect();
                text.push_str(&format!(" ({code}: {message})"));
            }
            (Some(code), None) => text.push_str(&format!(" ({code})")),
            _ => {}
        }
        if status == StatusCode::FORBIDDEN {
            text.push_str("; check the access key, the secret and the clock");
        } else if status.is_redirection() {
            text.push_str("; check the region and the endpoint");
        }
        (code, self.error(op, &text))
    }

    async fn put_object(&self, key: &str, data: Bytes) -> Result<(), DestinationError> {
        let op = Op::new("put", key);
        check_key(key).map_err(|e| self.error(op, &format!("the key {e}")))?;
        let response = self
            .send(op, Method::PUT, &self.object_path(key), &[], data)
            .await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(self.failure(op, response).await.1)
    }

    async fn get_object(&self, key: &str) -> Result<Bytes, DestinationError> {
        let op = Op::new("get", key);
        check_key(key).map_err(|e| self.error(op, &format!("the key {e}")))?;
        let response = self
            .send(op, Method::GET, &self.object_path(key), &[], Bytes::new())
            .await?;
        let status = response.status();
        if status == StatusCode::OK {
            return response
                .bytes()
                .await
                .map_err(|e| self.transport_error(op, e));
        }
        let (code, error) = self.failure(op, response).await;
        if status == StatusCode::NOT_FOUND && code.as_deref() != Some("NoSuchBucket") {
            return Err(DestinationError::NotFound(
                self.scrub(format!("{}: object \"{key}\"", self.describe())),
            ));
        }
        Err(error)
    }

    async fn delete_object(&self, key: &str) -> Result<(), DestinationError> {
        let op = Op::new("delete", key);
        check_key(key).map_err(|e| self.error(op, &format!("the key {e}")))?;
        let response = self
            .send(
                op,
                Method::DELETE,
                &self.object_path(key),
                &[],
                Bytes::new(),
            )
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let (code, error) = self.failure(op, response).await;
        if status == StatusCode::NOT_FOUND && code.as_deref() != Some("NoSuchBucket") {
            return Ok(());
        }
        Err(error)
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, DestinationError> {
        let op = Op::new("list", prefix);
        check_prefix(prefix).map_err(|e| self.error(op, &format!("the prefix {e}")))?;
        let full_prefix = format!("{}{prefix}", self.prefix);
        let page_size = self.page_size.map(|n| n.to_string());
        let mut token: Option<String> = None;
        let mut keys = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut query = vec![("list-type", "2"), ("prefix", full_prefix.as_str())];
            if let Some(token) = &token {
                query.push(("continuation-token", token.as_str()));
            }
            if let Some(n) = &page_size {
                query.push(("max-keys", n.as_str()));
            }
            let response = self
                .send(op, Method::GET, &self.bucket_path(), &query, Bytes::new())
                .await?;
            if !response.status().is_success() {
                return Err(self.failure(op, response).await.1);
            }
            let body = self.read(op, response, MAX_LIST_ANSWER).await?;
            let page = std::str::from_utf8(&body)
                .ok()
                .and_then(xml::list_page)
                .ok_or_else(|| self.error(op, "the listing could not be read"))?;
            for key in page.keys {
                match key.strip_prefix(&self.prefix) {
                    Some(relative) if key.starts_with(&full_prefix) => {
                        keys.push(relative.to_string());
                    }
                    _ => return Err(self.error(op, "the listing holds a key outside the prefix")),
                }
            }
            match (page.truncated, page.next) {
                (false, _) => return Ok(keys),
                (true, Some(next)) if token.as_ref() != Some(&next) => token = Some(next),
                (true, _) => {
                    return Err(self.error(
                        op,
                        "the listing is truncated without a new continuation token",
                    ));
                }
            }
        }
        Err(self.error(op, &format!("the listing has more than {MAX_PAGES} pages")))
    }
}

impl Destination for S3Destination {
    fn name(&self) -> &str {
        &self.name
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> DestFuture<'a, ()> {
        Box::pin(self.put_object(key, data))
    }

    fn get<'a>(&'a self, key: &'a str) -> DestFuture<'a, Bytes> {
        Box::pin(self.get_object(key))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> DestFuture<'a, Vec<String>> {
        Box::pin(self.list_keys(prefix))
    }

    fn delete<'a>(&'a self, key: &'a str) -> DestFuture<'a, ()> {
        Box::pin(self.delete_object(key))
    }
}

/// An operation and its key, for error texts: `put "a/b"`.
#[derive(Clone, Copy)]
struct Op<'a> {
    name: &'static str,
    key: &'a str,
}

impl<'a> Op<'a> {
    fn new(name: &'static str, key: &'a str) -> Self {
        Op { name, key }
    }
}

impl std::fmt::Display for Op<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} \"{}\"", self.name, self.key.escape_debug())
    }
}

/// A key: `/`-separated, relative, every segment non-empty and neither `.` nor `..`, no
/// control characters, at most 900 bytes (S3 allows 1024 with the prefix).
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("is empty".into());
    }
    if key.len() > 900 {
        return Err("is longer than 900 bytes".into());
    }
    if key.chars().any(char::is_control) {
        return Err("holds control characters".into());
    }
    if key.starts_with('/') {
        return Err("starts with '/'".into());
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err("has an empty, '.' or '..' segment".into());
    }
    Ok(())
}

/// A listing prefix: empty, or a key's start (it may end with `/`).
fn check_prefix(prefix: &str) -> Result<(), String> {
    match prefix.strip_suffix('/') {
        _ if prefix.is_empty() => Ok(()),
        Some(folder) => check_key(folder),
        None => check_key(prefix),
    }
}

/// S3's bucket naming rules: 3 to 63 of lowercase letters, digits, `.` and `-`, starting and
/// ending with a letter or digit.
fn check_bucket(bucket: &str) -> Result<(), String> {
    let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-';
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let bytes = bucket.as_bytes();
    if (3..=63).contains(&bytes.len())
        && bytes.iter().all(|&b| ok_char(b))
        && edge(bytes.first())
        && edge(bytes.last())
        && !bucket.contains("..")
    {
        Ok(())
    } else {
        Err("the bucket name must be 3 to 63 lowercase letters, digits, '.' and '-'".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> S3Settings {
        S3Settings {
            name: "offsite".into(),
            endpoint: "https://s3.eu-north-1.amazonaws.com".into(),
            region: "eu-north-1".into(),
            bucket: "nyckel-backups".into(),
            prefix: "/prod/db/".into(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            path_style: false,
            timeout: Duration::from_secs(30),
        }
    }

    fn refused(edit: impl FnOnce(&mut S3Settings)) -> String {
        let mut s = settings();
        edit(&mut s);
        match S3Destination::new(s) {
            Ok(d) => panic!("accepted: {d:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn debug_redacts_the_secret() {
        let text = format!("{:?}", settings());
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
        let dest = S3Destination::new(settings()).expect("valid");
        let text = format!("{dest:?}");
        assert!(
            !text.contains("wJalrXUtnFEMI") && !text.contains("AKIA"),
            "{text}"
        );
        assert_eq!(
            text,
            "S3 destination \"offsite\" (bucket \"nyckel-backups\" at s3.eu-north-1.amazonaws.com)"
        );
    }

    #[test]
    fn addressing_styles() {
        let virtual_hosted = S3Destination::new(settings()).expect("valid");
        assert_eq!(
            virtual_hosted.host,
            "nyckel-backups.s3.eu-north-1.amazonaws.com"
        );
        assert_eq!(virtual_hosted.object_path("a/b.age"), "/prod/db/a/b.age");
        assert_eq!(virtual_hosted.bucket_path(), "/");
        let mut s = settings();
        s.path_style = true;
        s.endpoint = "http://127.0.0.1:9000/".into();
        s.prefix = String::new();
        let path_style = S3Destination::new(s).expect("valid");
        assert_eq!(path_style.host, "127.0.0.1:9000");
        assert_eq!(path_style.scheme, "http");
        assert_eq!(path_style.object_path("a/b.age"), "/nyckel-backups/a/b.age");
        assert_eq!(path_style.bucket_path(), "/nyckel-backups");
    }

    #[test]
    fn settings_are_checked() {
        let plain_remote = refused(|s| s.endpoint = "http://s3.example.com".into());
        assert!(plain_remote.contains("https://"), "{plain_remote}");
        assert!(
            plain_remote.starts_with("S3 destination \"offsite\""),
            "{plain_remote}"
        );
        let with_creds = refused(|s| s.endpoint = "https://AKIA:secret@s3.example.com".into());
        assert!(!with_creds.contains("secret@"), "{with_creds}");
        assert!(refused(|s| s.endpoint = "https://s3.example.com/base".into()).contains("path"));
        assert!(refused(|s| s.bucket = "No_Such".into()).contains("bucket"));
        assert!(refused(|s| s.bucket = "ab".into()).contains("bucket"));
        assert!(refused(|s| s.bucket = "with.dots".into()).contains("path-style"));
        assert!(refused(|s| s.region = String::new()).contains("region"));
        assert!(refused(|s| s.access_key_id = "AKIA X".into()).contains("access key id"));
        assert!(refused(|s| s.secret_access_key = String::new()).contains("secret"));
        assert!(refused(|s| s.timeout = Duration::ZERO).contains("timeout"));
        assert!(refused(|s| s.prefix = "a/../b".into()).contains("prefix"));
        let mut dotted = settings();
        dotted.bucket = "with.dots".into();
        dotted.path_style = true;
        assert!(S3Destination::new(dotted).is_ok());
    }

    #[test]
    fn keys_are_checked() {
        for good in ["a", "a/b", "2025-01-01T020000Z/manifest.json", "a b/ü+c"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", "/a", "a//b", "a/", "../a", "a/./b", "a/..", "a\nb"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        for good in ["", "a", "a/", "a/b-"] {
            assert!(check_prefix(good).is_ok(), "{good}");
        }
        for bad in ["/", "/a", "../", "a//"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn error_texts_name_the_operation_and_scrub_credentials() {
        let dest = S3Destination::new(settings()).expect("valid");
        let e = dest.error(
            Op::new("put", "a/b"),
            "echo AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            e.to_string(),
            "S3 destination \"offsite\" (bucket \"nyckel-backups\" at s3.eu-north-1.amazonaws.com): put \"a/b\": echo [redacted] [redacted]"
        );
    }
}
