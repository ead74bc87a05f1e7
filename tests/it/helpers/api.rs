//! JSON answers, and calling the admin API: a [`Reply`] is what a program (a relying party, an
//! admin tool) gets back from a JSON endpoint (the OAuth endpoints and the admin API alike);
//! an [`Api`] sends the admin API's requests, by the route table's methods and paths below
//! `/api/admin/v1`, over one HTTP client per test (connections reused), and checks every
//! answer against the generated OpenAPI document (`helpers::openapi_check`).

use nyckel::http::api::table::{Method, PREFIX};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response};
use serde_json::Value;

use crate::helpers::openapi_check;
use crate::helpers::{REDIRECT_URI, TestApp};

/// A JSON answer: status, headers, the body as text and as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// The admin API's `error.code` of an error answer ("" when there is none).
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// The OAuth `error` of an error answer (RFC 6749 section 5.2; "" when there is none).
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }

    /// A string field of the body; fails when there is none.
    pub fn str(&self, field: &str) -> &str {
        self.json[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.json))
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

    /// Asserts an OAuth error answer: the status and the `error` code.
    #[track_caller]
    pub fn expect_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "answer: {}", self.text);
        assert_eq!(self.error(), error, "answer: {}", self.text);
    }

    /// Asserts the answer may not be cached.
    #[track_caller]
    pub fn assert_no_store(&self) {
        assert_eq!(
            self.header("cache-control"),
            "no-store",
            "Cache-Control: no-store"
        );
    }
}

/// Reads an answer.
pub async fn read(res: Response) -> Reply {
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

/// `GET path` on the server without credentials.
pub async fn fetch(app: &TestApp, path: &str) -> Reply {
    read(
        app.http()
            .get(app.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}")),
    )
    .await
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
        Api::over(app, app.http(), token)
    }

    /// A caller sending through `client` (a browser's, with its cookies), with `token`.
    pub fn over(app: &TestApp, client: reqwest::Client, token: Option<&str>) -> Api {
        Api {
            client,
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
        self.raw(http_method(method), path, |req| match body {
            Some(b) => req.json(b),
            None => req,
        })
        .await
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

    /// Sends `method path` (below the API prefix) as `build` makes it from the bare request
    /// (with the caller's token): for malformed requests, other credentials or headers. The
    /// answer is checked against the document like any other (a method the API has no route
    /// for must be answered with an `Error`).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Reply {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let reply = read(build(req).send().await.expect("API request")).await;
        openapi_check::check_http(&method, path, reply.status, &reply.text);
        reply
    }

    /// Sets the roles of `user` in `org` (`PUT .../roles`).
    pub async fn set_roles(&self, org: &str, user: &str, roles: &[&str]) -> Reply {
        let path = format!("/orgs/{org}/members/{user}/roles");
        self.put(&path, &serde_json::json!({ "roles": roles }))
            .await
    }

    /// Invites `email` to `org` with `roles` (`POST .../invitations`).
    pub async fn invite(&self, org: &str, email: &str, roles: &[&str]) -> Reply {
        let body = serde_json::json!({ "email": email, "roles": roles });
        self.post(&format!("/orgs/{org}/invitations"), &body).await
    }

    /// Registers a client of `org` (`POST /orgs/{org}/clients`) named "App" with the test
    /// redirect URI, and the fields of `more` (an object) added or replacing those.
    pub async fn register_client(&self, org: &str, more: Value) -> Reply {
        let mut body = serde_json::json!({ "name": "App", "redirect_uris": [REDIRECT_URI] });
        for (k, v) in more.as_object().expect("an object of fields") {
            body[k] = v.clone();
        }
        self.post(&format!("/orgs/{org}/clients"), &body).await
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

/// The HTTP method of a route table method.
pub fn http_method(method: Method) -> reqwest::Method {
    match method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}
