//! A fake SMS gateway on 127.0.0.1 port 0 for the SMS tests: it speaks Twilio's message API
//! (`POST /2010-04-01/Accounts/{sid}/Messages.json`, 201 with `sid` and `status: queued`),
//! 46elks' (`POST /a1/sms`, 200 with `id` and `status: created`) and a generic webhook
//! (`POST /webhook`, JSON), checks the credentials like the real APIs (wrong Basic auth ->
//! 401), and records every request it gets.
//!
//! ```ignore
//! let (gw, app) = app_with_gateway(Kind::Twilio, |c| c.sms.global_daily = 2).await;
//! // ... something queues an SMS ...
//! nyckel::mail::deliver_due(&app.state).await.expect("pass");
//! let code = gw.last_text().expect("an SMS arrived");
//! ```
//!
//! `fail_next(n)` answers the next `n` requests 503 (an outage); `hang(d)` holds every
//! answer for `d` (a gateway that does not answer). `start_untrusted_tls()` serves the same
//! over TLS with a certificate nobody trusts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use nyckel::config::Config;

use crate::helpers::TestApp;

/// A fake gateway speaking `kind`'s API and an app sending its SMS through it, with the
/// configuration adjusted by `edit` after [`FakeGateway::configure`].
pub async fn app_with_gateway(
    kind: Kind,
    edit: impl FnOnce(&mut Config),
) -> (FakeGateway, TestApp) {
    let gw = FakeGateway::start().await;
    let app = TestApp::spawn_with(|c| {
        gw.configure(kind, c);
        edit(c);
    })
    .await;
    (gw, app)
}

/// One behaviour checked against several gateways: a `#[tokio::test]` per `name => kind`,
/// each running `check(kind)`.
macro_rules! test_per_gateway {
    ($check:ident: $($name:ident => $kind:expr),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $check($kind).await;
            }
        )+
    };
}
pub(crate) use test_per_gateway;

/// The Account SID the fake Twilio accepts.
pub const TWILIO_ACCOUNT: &str = "AC5f0c6b1d2e3f40718293a4b5c6d7e8f9";
/// The API username the fake 46elks accepts.
pub const ELKS_ACCOUNT: &str = "u1f2e3d4c5b6a79880123456789abcdef";
/// The auth token / API password / bearer token the fake accepts (a canary: it must never
/// show up in a log, an error or a page).
pub const TOKEN: &str = "canary-sms-gateway-token-3b9d";
/// The sender [`FakeGateway::configure`] sets (`sms.from`).
pub const FROM: &str = "NyckelTest";

/// Which API a test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Twilio,
    Elks,
    Webhook,
}

impl Kind {
    /// `sms.gateway` for this API.
    pub fn gateway(self) -> &'static str {
        match self {
            Kind::Twilio => "twilio",
            Kind::Elks => "46elks",
            Kind::Webhook => "webhook",
        }
    }

    /// How Nyckel names this gateway in its log and its errors ("Twilio at 127.0.0.1:…").
    pub fn name(self) -> &'static str {
        match self {
            Kind::Twilio => "Twilio",
            Kind::Elks => "46elks",
            Kind::Webhook => "webhook",
        }
    }

    /// The path a message is posted to.
    pub fn path(self) -> String {
        match self {
            Kind::Twilio => format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages.json"),
            Kind::Elks => "/a1/sms".into(),
            Kind::Webhook => "/webhook".into(),
        }
    }

    /// The exact `Authorization` header a correctly configured gateway sends.
    pub fn authorization(self) -> String {
        let basic = |user: &str| {
            let pair = format!("{user}:{TOKEN}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        };
        match self {
            Kind::Twilio => basic(TWILIO_ACCOUNT),
            Kind::Elks => basic(ELKS_ACCOUNT),
            Kind::Webhook => format!("Bearer {TOKEN}"),
        }
    }

    /// The names of the sender, recipient and text fields in this API's request.
    pub fn fields(self) -> [&'static str; 3] {
        match self {
            Kind::Twilio => ["From", "To", "Body"],
            Kind::Elks => ["from", "to", "message"],
            Kind::Webhook => ["from", "to", "body"],
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Which API's path it was posted to (`None`: an unknown path, answered 404).
    pub kind: Option<Kind>,
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The decoded form fields, or the JSON object's fields (non-strings as JSON text).
    pub fields: BTreeMap<String, String>,
    /// What the fake answered (`None`: it had not answered yet, e.g. while hanging).
    pub status: Option<u16>,
}

impl Recorded {
    /// A field of the request.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// Sender, recipient and text, whichever API it was.
    pub fn parts(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        let [from, to, text] = self.kind.unwrap_or(Kind::Webhook).fields();
        (self.field(from), self.field(to), self.field(text))
    }

    /// The message text (`Body`, `message` or `body`).
    pub fn text(&self) -> Option<&str> {
        self.parts().2
    }

    /// The recipient (`To` or `to`).
    pub fn to(&self) -> Option<&str> {
        self.parts().1
    }

    /// Whether the fake accepted it (answered 2xx): a message that was sent.
    pub fn accepted(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    fail_next: Mutex<usize>,
    hang: Mutex<Option<Duration>>,
}

/// A running fake gateway; it stops when dropped.
pub struct FakeGateway {
    pub addr: SocketAddr,
    /// `http` or `https`.
    scheme: &'static str,
    shared: Arc<Shared>,
    handle: axum_server::Handle,
}

impl FakeGateway {
    /// Starts a fake on plain HTTP (accepted by `sms.api_url` on loopback).
    pub async fn start() -> FakeGateway {
        Self::serve(None)
    }

    /// Starts a fake on HTTPS with a self-signed certificate for 127.0.0.1 that no client
    /// trusts: a gateway that checks certificates never gets a request through.
    pub async fn start_untrusted_tls() -> FakeGateway {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        let tls = crate::helpers::smtp::tls_server(&cert, &key);
        Self::serve(Some(tls))
    }

    fn serve(tls: Option<Arc<rustls::ServerConfig>>) -> FakeGateway {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { answer(&state, method, uri, headers, body).await }
            },
        );
        let handle = axum_server::Handle::new();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server_handle = handle.clone();
        tokio::spawn(async move {
            let _ = match tls {
                Some(tls) => {
                    axum_server::from_tcp_rustls(
                        listener,
                        axum_server::tls_rustls::RustlsConfig::from_config(tls),
                    )
                    .handle(server_handle)
                    .serve(app.into_make_service())
                    .await
                }
                None => {
                    axum_server::from_tcp(listener)
                        .handle(server_handle)
                        .serve(app.into_make_service())
                        .await
                }
            };
        });
        FakeGateway {
            addr,
            scheme,
            shared,
            handle,
        }
    }

    /// The `sms.api_url` for `kind` (Twilio and 46elks: the base; webhook: its full URL).
    pub fn api_url(&self, kind: Kind) -> String {
        let base = format!("{}://{}", self.scheme, self.addr);
        match kind {
            Kind::Webhook => format!("{base}/webhook"),
            Kind::Twilio | Kind::Elks => base,
        }
    }

    /// Points `[sms]` at this fake with working credentials: `gateway`, `api_url`,
    /// `account`, `token` and `from` ([`FROM`]).
    pub fn configure(&self, kind: Kind, c: &mut Config) {
        c.sms.gateway = kind.gateway().into();
        c.sms.api_url = Some(self.api_url(kind));
        c.sms.account = match kind {
            Kind::Twilio => Some(TWILIO_ACCOUNT.into()),
            Kind::Elks => Some(ELKS_ACCOUNT.into()),
            Kind::Webhook => None,
        };
        c.sms.token = Some(TOKEN.into());
        c.sms.from = FROM.into();
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// The requests the fake accepted (the messages that were sent), in order.
    pub fn messages(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(Recorded::accepted)
            .collect()
    }

    /// The text of the last message accepted.
    pub fn last_text(&self) -> Option<String> {
        self.messages().last()?.text().map(str::to_string)
    }

    /// Answers the next `n` requests `503 Service Unavailable` (an outage).
    pub fn fail_next(&self, n: usize) {
        *self.shared.fail_next.lock().expect("lock") = n;
    }

    /// Holds every answer for `delay` first (`None`: answer at once).
    pub fn hang(&self, delay: Option<Duration>) {
        *self.shared.hang.lock().expect("lock") = delay;
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Records the request, then answers as the API it was posted to would.
async fn answer(
    shared: &Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let kind = match path.as_str() {
        "/a1/sms" => Some(Kind::Elks),
        "/webhook" => Some(Kind::Webhook),
        p if p.starts_with("/2010-04-01/Accounts/") && p.ends_with("/Messages.json") => {
            Some(Kind::Twilio)
        }
        _ => None,
    };
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = text(header::CONTENT_TYPE);
    let fields = decode(content_type.as_deref(), &body);
    let index = {
        let mut requests = shared.requests.lock().expect("lock");
        requests.push(Recorded {
            kind,
            method: method.to_string(),
            path: path.clone(),
            authorization: text(header::AUTHORIZATION),
            content_type,
            fields: fields.clone(),
            status: None,
        });
        requests.len() - 1
    };
    let hang = *shared.hang.lock().expect("lock");
    if let Some(delay) = hang {
        tokio::time::sleep(delay).await;
    }
    let outage = {
        let mut left = shared.fail_next.lock().expect("lock");
        let failing = *left > 0;
        *left = left.saturating_sub(1);
        failing
    };
    let authorization = text(header::AUTHORIZATION);
    let response = match kind {
        _ if outage => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        Some(_) if method != Method::POST => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        Some(Kind::Twilio) => twilio(&path, authorization.as_deref(), &fields),
        Some(Kind::Elks) => elks(authorization.as_deref(), &fields),
        Some(Kind::Webhook) => webhook(authorization.as_deref()),
        None => StatusCode::NOT_FOUND.into_response(),
    };
    shared.requests.lock().expect("lock")[index].status = Some(response.status().as_u16());
    response
}

/// Form fields, or a JSON object's fields.
fn decode(content_type: Option<&str>, body: &[u8]) -> BTreeMap<String, String> {
    let content_type = content_type.unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return url::form_urlencoded::parse(body).into_owned().collect();
    }
    if content_type.starts_with("application/json")
        && let Ok(serde_json::Value::Object(object)) = serde_json::from_slice(body)
    {
        return object
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
    }
    BTreeMap::new()
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// Twilio: 401 (code 20003) for wrong credentials, 404 (20404) for another account's path,
/// 400 (21604/21602/21603) for a missing field, else 201 with the message resource.
fn twilio(path: &str, authorization: Option<&str>, fields: &BTreeMap<String, String>) -> Response {
    let error = |status: StatusCode, code: u32, message: &str| {
        json(
            status,
            serde_json::json!({
                "code": code,
                "message": message,
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                "status": status.as_u16(),
            }),
        )
    };
    if authorization != Some(Kind::Twilio.authorization().as_str()) {
        let mut response = error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Twilio API\""),
        );
        return response;
    }
    if path != Kind::Twilio.path() {
        return error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    for (name, code) in [("To", 21604), ("From", 21603), ("Body", 21602)] {
        if fields.get(name).is_none_or(|v| v.is_empty()) {
            return error(
                StatusCode::BAD_REQUEST,
                code,
                &format!("A '{name}' is required."),
            );
        }
    }
    let sid = format!("SM{:032x}", next_id());
    json(
        StatusCode::CREATED,
        serde_json::json!({
            "sid": sid,
            "account_sid": TWILIO_ACCOUNT,
            "status": "queued",
            "direction": "outbound-api",
            "to": fields["To"],
            "from": fields["From"],
            "body": fields["Body"],
            "num_segments": "1",
            "uri": format!("/2010-04-01/Accounts/{TWILIO_ACCOUNT}/Messages/{sid}.json"),
        }),
    )
}

/// 46elks: 401 for wrong credentials, 400 for a missing field, else 200 with the message.
fn elks(authorization: Option<&str>, fields: &BTreeMap<String, String>) -> Response {
    if authorization != Some(Kind::Elks.authorization().as_str()) {
        return (StatusCode::UNAUTHORIZED, "Authorization required").into_response();
    }
    for name in ["from", "to", "message"] {
        if fields.get(name).is_none_or(|v| v.is_empty()) {
            return (StatusCode::BAD_REQUEST, format!("Missing key {name}")).into_response();
        }
    }
    json(
        StatusCode::OK,
        serde_json::json!({
            "id": format!("s{:032x}", next_id()),
            "status": "created",
            "direction": "outgoing",
            "from": fields["from"],
            "to": fields["to"],
            "message": fields["message"],
            "parts": 1,
            "cost": 3500,
        }),
    )
}

/// The webhook: 401 for a wrong bearer token (none at all is accepted), else 200.
fn webhook(authorization: Option<&str>) -> Response {
    match authorization {
        Some(a) if a != Kind::Webhook.authorization() => StatusCode::UNAUTHORIZED.into_response(),
        _ => json(StatusCode::OK, serde_json::json!({"ok": true})),
    }
}

/// A fresh id for the fake's message resources.
fn next_id() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    u128::from(NEXT.fetch_add(1, Ordering::Relaxed)) << 64 | 0x5eed
}
