//! A browser stand-in: a cookie jar the test can read and seed, no automatic redirects, and
//! helpers that read forms the way a person would fill them in (hidden inputs carried over,
//! named fields filled). A session can also be put in the jar directly
//! ([`Browser::insert_session`]), for tests about what comes after the login pages.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use nyckel::auth::session::{self, Session, acr};
use nyckel::http::cookies::SESSION_COOKIE;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};

use super::TestApp;

/// A reqwest client for the test server: trusts its self-signed certificate, resolves
/// `localhost` to it, never follows redirects, with or without a cookie jar.
pub fn client(addr: SocketAddr, cookies: bool) -> reqwest::Client {
    builder(addr)
        .cookie_store(cookies)
        .build()
        .expect("http client")
}

/// A client like [`client`] with a cookie jar the test can read and fill.
pub fn client_with_jar(addr: SocketAddr) -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = builder(addr)
        .cookie_provider(jar.clone())
        .build()
        .expect("http client");
    (client, jar)
}

fn builder(addr: SocketAddr) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", addr)
        .redirect(reqwest::redirect::Policy::none())
}

/// One browser: its own cookies, in a jar the test can reach.
pub struct Browser {
    pub client: reqwest::Client,
    pub issuer: String,
    /// The cookies `client` sends and keeps.
    pub jar: Arc<Jar>,
    /// Where `client` connects (to build it again with another user agent).
    addr: SocketAddr,
}

/// A page as the browser saw it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub async fn read(res: Response) -> Page {
        let status = res.status();
        let headers = res.headers().clone();
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = res.text().await.expect("the response body");
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    /// The hidden inputs and named buttons of the form whose action is `action`.
    pub fn form(&self, action: &str) -> Option<HashMap<String, String>> {
        form_fields(&self.body, action)
    }

    /// The hidden fields of the login form; fails when the page has none.
    pub fn login_form(&self) -> HashMap<String, String> {
        self.form("/login")
            .unwrap_or_else(|| panic!("no login form on the page:\n{}", self.body))
    }

    /// The body with the CSRF token of the form posting to `action` blanked (for comparing
    /// two browsers' pages); fails when there is no such form with a token.
    pub fn without_csrf(&self, action: &str) -> String {
        let csrf = self
            .form(action)
            .and_then(|f| f.get("csrf").cloned())
            .unwrap_or_else(|| panic!("a form to {action} with its CSRF token: {}", self.body));
        self.body.replace(&csrf, "TOKEN")
    }

    /// Whether the page has a form posting to `action`.
    pub fn has_form(&self, action: &str) -> bool {
        self.form(action).is_some()
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
}

impl Browser {
    /// A new browser for `app`.
    pub fn new(app: &TestApp) -> Self {
        Self::at(app.addr, &app.issuer)
    }

    /// A new browser for a server that is not a [`TestApp`] (a node started as a process),
    /// listening on `addr` and known as `issuer`.
    pub fn at(addr: SocketAddr, issuer: &str) -> Self {
        let (client, jar) = client_with_jar(addr);
        Self {
            client,
            issuer: issuer.to_string(),
            jar,
            addr,
        }
    }

    /// The same browser (the same cookies) introducing itself with `user_agent`.
    pub fn with_user_agent(self, user_agent: &str) -> Self {
        let client = builder(self.addr)
            .cookie_provider(self.jar.clone())
            .user_agent(user_agent)
            .build()
            .expect("http client");
        Self { client, ..self }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.issuer)
        } else {
            url.to_string()
        }
    }

    /// GET a URL (absolute, or a path on the server).
    pub async fn get(&self, url: &str) -> Page {
        self.get_in(url, "en").await
    }

    /// GET a URL asking for pages in `lang` (an `Accept-Language` value).
    pub async fn get_in(&self, url: &str, lang: &str) -> Page {
        let res = self
            .client
            .get(self.absolute(url))
            .header("accept-language", lang)
            .send()
            .await
            .expect("GET");
        Page::read(res).await
    }

    /// POST a form.
    pub async fn post(&self, url: &str, fields: &[(&str, &str)]) -> Page {
        let res = self
            .client
            .post(self.absolute(url))
            .header("accept-language", "en")
            .form(fields)
            .send()
            .await
            .expect("POST");
        Page::read(res).await
    }

    /// Submits the form posting to `action` on `page`, with its hidden fields plus `fill`.
    pub async fn submit(&self, page: &Page, action: &str, fill: &[(&str, &str)]) -> Page {
        let mut fields = page
            .form(action)
            .unwrap_or_else(|| panic!("no form posting to {action} on the page:\n{}", page.body));
        for (k, v) in fill {
            fields.insert(k.to_string(), v.to_string());
        }
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(action, &pairs).await
    }

    /// Opens the login page at `path` (`/login`, or `/login?req=...`), fills in the form
    /// and submits it; returns the answer to the submission.
    pub async fn login_at(&self, path: &str, email: &str, password: &str) -> Page {
        let shown = self.get(path).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        self.submit(
            &shown,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Logs in through the plain `/login` form; returns the answer to the submission.
    pub async fn login(&self, email: &str, password: &str) -> Page {
        self.login_at("/login", email, password).await
    }

    /// Follows redirects that stay on the server; stops at a page, or at a redirect leaving
    /// the server (returned with its `location`).
    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            match &page.location {
                Some(loc) if page.status.is_redirection() && self.is_ours(loc) => {
                    let loc = loc.clone();
                    page = self.get(&loc).await;
                }
                _ => return page,
            }
        }
        panic!("too many redirects");
    }

    fn is_ours(&self, url: &str) -> bool {
        url.starts_with('/') || url.starts_with(&self.issuer)
    }

    /// Starts at `auth_url`, logs in with `email`/`password` when asked, allows consent
    /// when asked, and returns the final redirect leaving the server.
    pub async fn authorize_and_login(&self, auth_url: &str, email: &str, password: &str) -> Page {
        let mut page = self.follow(self.get(auth_url).await).await;
        let mut logged_in = false;
        for _ in 0..5 {
            if page.has_form("/login") && !logged_in {
                // One attempt only: a second login form means the password was refused.
                logged_in = true;
                let submitted = self
                    .submit(&page, "/login", &[("email", email), ("password", password)])
                    .await;
                page = self.follow(submitted).await;
            } else if page.has_form("/consent") {
                let submitted = self
                    .submit(&page, "/consent", &[("decision", "allow")])
                    .await;
                page = self.follow(submitted).await;
            } else {
                return page;
            }
        }
        page
    }

    fn root(&self) -> url::Url {
        url::Url::parse(&format!("{}/", self.issuer)).expect("issuer URL")
    }

    /// Puts a cookie into the jar, as if the server had set it.
    pub fn add_cookie(&self, name: &str, value: &str) {
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/; Secure"), &self.root());
    }

    /// The value of cookie `name` in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.root())?;
        let text = header.to_str().ok()?.to_string();
        text.split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// A new browser in which `user_id` is signed in through a session row inserted
    /// directly ([`Browser::insert_session`]).
    pub async fn signed_in(app: &TestApp, user_id: &str) -> (Browser, Session) {
        let b = Browser::new(app);
        let session = b.insert_session(app, user_id).await;
        (b, session)
    }

    /// Inserts a fresh single-factor session row for `user_id` through the session store,
    /// not the login pages, and puts its cookie in this browser.
    pub async fn insert_session(&self, app: &TestApp, user_id: &str) -> Session {
        self.insert_session_with_cookie(app, user_id).await.0
    }

    /// [`Browser::insert_session`], also returning the cookie value.
    pub async fn insert_session_with_cookie(
        &self,
        app: &TestApp,
        user_id: &str,
    ) -> (Session, String) {
        let (session, cookie) = session::insert(
            &app.state.db,
            &app.state.config.session,
            session::NewSession {
                user_id,
                amr: &["pwd".into()],
                acr: acr::SINGLE_FACTOR,
                replaces: None,
                origin: Default::default(),
            },
            None,
            app.state.now(),
        )
        .await
        .expect("session created");
        self.add_cookie(SESSION_COOKIE, &cookie);
        (session, cookie)
    }
}

/// Reads the hidden inputs (and the first named submit button) of the form with `action`.
pub fn form_fields(html: &str, action: &str) -> Option<HashMap<String, String>> {
    let marker = format!("action=\"{action}\"");
    let start = html.find(&marker)?;
    let end = html[start..]
        .find("</form>")
        .map(|e| start + e)
        .unwrap_or(html.len());
    let form = &html[start..end];
    let mut fields = HashMap::new();
    for tag in form.split('<').filter(|t| t.starts_with("input")) {
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|i| {
                let rest = &tag[i + key.len()..];
                html_unescape(&rest[..rest.find('"').unwrap_or(rest.len())])
            })
        };
        if attr("type").as_deref() == Some("hidden")
            && let (Some(n), Some(v)) = (attr("name"), attr("value"))
        {
            fields.insert(n, v);
        }
    }
    Some(fields)
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .expect("absolute URL")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
