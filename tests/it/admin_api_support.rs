//! Calling the admin API in tests: one HTTP client per test (connections reused), requests
//! by the route table's methods and paths below `/api/admin/v1`, answers with their JSON,
//! and fixtures the API tests share (fresh members and sessions, list walking).

use nyckel::http::api::table::{Method, PREFIX};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::helpers::TestApp;

/// An answer of the API.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl Reply {
    /// The `error.code` of an error answer ("" when there is none).
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "answer: {}", self.text);
        self
    }
}

/// A caller of the API: an HTTP client and, unless anonymous, a bearer token.
pub struct Api {
    client: reqwest::Client,
    base: String,
    pub token: Option<String>,
}

impl Api {
    /// A caller with `token` (`None`: anonymous).
    pub fn new(app: &TestApp, token: Option<&str>) -> Api {
        Api {
            client: app.http(),
            base: app.url(PREFIX),
            token: token.map(str::to_string),
        }
    }

    /// The same HTTP client with another token.
    pub fn with_token(&self, token: Option<&str>) -> Api {
        Api {
            client: self.client.clone(),
            base: self.base.clone(),
            token: token.map(str::to_string),
        }
    }

    /// Sends `method path` (below the API prefix) with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let m = match method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut req = self.client.request(m, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let reply = read(req.send().await.expect("API request")).await;
        crate::helpers::openapi_check::check(method, path, reply.status, &reply.text);
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::Get, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::Post, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::Put, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::Patch, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::Delete, path, None).await
    }

    /// A raw request builder for the API path (for malformed requests).
    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Walks a list from its first page with `limit`, following `next_cursor`; returns
    /// every item and the number of pages.
    pub async fn walk(&self, path: &str, limit: usize) -> (Vec<Value>, usize) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let r = self.get(&url).await;
            r.expect(200);
            pages += 1;
            let page = r.json["items"].as_array().expect("items");
            assert!(page.len() <= limit, "a page longer than the limit");
            items.extend(page.iter().cloned());
            match r.json["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => {
                    assert!(
                        r.json["next_cursor"].is_null(),
                        "next_cursor is null at the end"
                    );
                    return (items, pages);
                }
            }
            assert!(pages < 1000, "the walk does not end");
        }
    }
}

/// Reads an answer.
pub async fn read(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// Creates a person without a password (no hashing: fast) and makes them a member of `org`
/// with `roles`; returns their id.
pub async fn fresh_member(app: &TestApp, org: &str, email: &str, roles: &[&str]) -> String {
    let id = fresh_person(app, email).await;
    app.add_member(org, email, roles).await;
    id
}

/// Creates a person without a password; returns their id.
pub async fn fresh_person(app: &TestApp, email: &str) -> String {
    nyckel::admin::users::create(
        &app.state.db,
        &app.state.hasher,
        &nyckel::auth::policy::PasswordPolicy::from_config(&app.state.config.password),
        nyckel::admin::users::CreateUser {
            email: email.into(),
            name: Some("Fresh Person".into()),
            phone: None,
            password: None,
        },
        app.state.now(),
    )
    .await
    .expect("person created")
}

/// Records a login session of `user_id` (as the login page would); returns its `sid`.
pub async fn fresh_session(app: &TestApp, user_id: &str) -> String {
    let now = app.state.now();
    let row = nyckel::store::sessions::SessionRow {
        id_hash: nyckel::crypto::sha256_b64(&nyckel::crypto::secret_token()),
        sid: nyckel::crypto::random_id(),
        user_id: user_id.into(),
        csrf: nyckel::crypto::secret_token(),
        auth_time: now,
        amr: r#"["pwd"]"#.into(),
        acr: "urn:nyckel:acr:1fa".into(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + 3600,
    };
    nyckel::store::sessions::insert(&app.state.db, &row, Default::default())
        .await
        .expect("session");
    row.sid
}

/// String values in `v` that look like a secret (a token, key, code or hash: 32 or more
/// characters, all base64url). With `allow_client_secret`, the value of a `client_secret`
/// field is allowed (the answers that create or rotate one).
pub fn secret_shaped(v: &Value, allow_client_secret: bool) -> Vec<String> {
    let mut out = Vec::new();
    walk_strings(v, None, &mut |key, s| {
        let shaped = s.len() >= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let allowed = match key {
            Some("client_secret") => allow_client_secret,
            // An error code is a fixed snake_case word (`insufficient_user_authentication`),
            // in an answer or in the OpenAPI document's list of codes.
            Some("code" | "enum") => s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            // A cursor is base64url too, of a JSON list of sort keys: check it is one.
            Some("next_cursor") => nyckel::crypto::b64_decode(s)
                .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
                .is_some(),
            _ => false,
        };
        if shaped && !allowed {
            out.push(s.to_string());
        }
    });
    out
}

fn walk_strings(v: &Value, key: Option<&str>, f: &mut impl FnMut(Option<&str>, &str)) {
    match v {
        Value::String(s) => f(key, s),
        Value::Array(a) => a.iter().for_each(|x| walk_strings(x, key, f)),
        Value::Object(m) => m.iter().for_each(|(k, x)| walk_strings(x, Some(k), f)),
        _ => {}
    }
}
