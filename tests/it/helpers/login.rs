//! Support for the login tests: a browser whose cookie jar the test can read and seed
//! (binding cookies of pending requests), pending-request fixtures and small readers.

use std::collections::HashMap;
use std::sync::Arc;

use nyckel::oidc::pending::{self, AuthParams};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};

use crate::helpers::browser::form_fields;
use crate::helpers::{REDIRECT_URI, TestApp};

/// A browser with a readable cookie jar; it never follows redirects.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub issuer: String,
}

/// A response as the browser saw it.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    async fn read(res: Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    }

    /// The `Set-Cookie` header for cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The hidden fields of the login form.
    pub fn login_form(&self) -> HashMap<String, String> {
        form_fields(&self.body, "/login")
            .unwrap_or_else(|| panic!("no login form on the page:\n{}", self.body))
    }
}

impl Browser {
    /// A fresh browser for `app`.
    pub fn new(app: &TestApp) -> Browser {
        let (client, jar) = crate::helpers::browser::client_with_jar(app.addr);
        Browser {
            client,
            jar,
            issuer: app.issuer.clone(),
        }
    }

    fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("{}{path}", self.issuer)).expect("url")
    }

    /// Puts a cookie into the jar, as if the server had set it.
    pub fn add_cookie(&self, name: &str, value: &str) {
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/; Secure"), &self.url("/"));
    }

    /// The value of cookie `name` in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.url("/"))?;
        let text = header.to_str().ok()?.to_string();
        text.split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// GET with an `Accept-Language` header.
    pub async fn get(&self, path: &str, lang: &str) -> Resp {
        let res = self
            .client
            .get(self.url(path))
            .header("accept-language", lang)
            .send()
            .await
            .expect("GET");
        Resp::read(res).await
    }

    /// POST a form.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let res = self
            .client
            .post(self.url(path))
            .header("accept-language", "en")
            .form(fields)
            .send()
            .await
            .expect("POST");
        Resp::read(res).await
    }

    /// Opens `page` (a login page path), fills in the form and submits it.
    pub async fn login_at(&self, page: &str, email: &str, password: &str) -> Resp {
        let shown = self.get(page, "en").await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        let mut fields = shown.login_form();
        fields.insert("email".into(), email.into());
        fields.insert("password".into(), password.into());
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post("/login", &pairs).await
    }

    /// Logs in through the plain `/login` form.
    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.login_at("/login", email, password).await
    }
}

/// Authorization parameters of the test web client.
pub fn params(client_id: &str) -> AuthParams {
    AuthParams {
        client_id: client_id.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: "openid".into(),
        state: Some("st".into()),
        nonce: Some("n".into()),
        code_challenge: None,
        force_login: false,
        force_consent: false,
        no_prompt: false,
        max_age: None,
        login_hint: None,
        ui_locales: None,
        organization: None,
        acr_values: vec![],
    }
}

/// Stores a pending request for `browser` (its binding cookie goes into the jar); returns
/// the request id.
pub async fn pending_for(app: &TestApp, browser: &Browser, params: AuthParams) -> String {
    let binding = browser.cookie(pending::BINDING_COOKIE);
    let (p, cookie) = pending::create(
        &app.state.db,
        params,
        binding.as_deref(),
        1800,
        app.state.now(),
    )
    .await
    .expect("pending request");
    browser.add_cookie(pending::BINDING_COOKIE, &cookie);
    p.id
}

/// Audit events of `kind`: (user_id, ip, detail).
pub async fn audit(app: &TestApp, kind: &str) -> Vec<(Option<String>, Option<String>, String)> {
    sqlx::query_as("select user_id, ip, detail from audit_events where kind = $1 order by at")
        .bind(kind)
        .fetch_all(app.state.db.pool())
        .await
        .expect("audit events")
}

/// How many session rows exist.
pub async fn session_count(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("select count(*) from sessions")
        .fetch_one(app.state.db.pool())
        .await
        .expect("count sessions");
    n
}
