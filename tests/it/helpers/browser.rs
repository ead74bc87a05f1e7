//! A browser stand-in: a cookie jar, no automatic redirects, and helpers that read forms the
//! way a person would fill them in (hidden inputs carried over, named fields filled).

use std::collections::HashMap;
use std::net::SocketAddr;

use reqwest::header::LOCATION;
use reqwest::{Response, StatusCode};

use super::TestApp;

/// A reqwest client for the test server: trusts its self-signed certificate, resolves
/// `localhost` to it, never follows redirects, with or without a cookie jar.
pub fn client(addr: SocketAddr, cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", addr)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(cookies)
        .build()
        .expect("http client")
}

/// A client like [`client`] with a cookie jar the test can read and fill.
pub fn client_with_jar(
    addr: SocketAddr,
) -> (reqwest::Client, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("localhost", addr)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .expect("http client");
    (client, jar)
}

/// One browser: its own cookies.
pub struct Browser {
    pub client: reqwest::Client,
    pub issuer: String,
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
    async fn read(res: Response) -> Page {
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
}

impl Browser {
    /// A new browser for `app`.
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: client(app.addr, true),
            issuer: app.issuer.clone(),
        }
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
        let res = self
            .client
            .get(self.absolute(url))
            .header("accept-language", "en")
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
