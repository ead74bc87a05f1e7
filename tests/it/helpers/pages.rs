//! What a person does on a page, one call each: open it, fill in its form, sign in, ask for
//! a recovery or login key, choose a new password; and what a test reads off a page: the
//! status (with the body when it is not the one expected), a form's CSRF token, whether it
//! shows a text, the cookies it sets. Built on [`Browser`] and [`Page`]; a step of a flow
//! stays one line at its call site.

use crate::helpers::api::Reply;
use crate::helpers::authorize::VERIFIER;
use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::flows::authorize_url;
use crate::helpers::token::{Auth, redeem};
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

/// The path of a link to the test server: `https://localhost:1234/reset/abc` gives
/// `/reset/abc` (what a form on the link's page posts to).
pub fn path_of(link: &str) -> String {
    url::Url::parse(link).expect("url").path().to_string()
}

/// A code that is not `code` (a wrong guess of the same shape).
pub fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

impl Page {
    /// Asserts the status, showing the body when it is another; returns the page.
    #[track_caller]
    pub fn expect_status(self, status: u16) -> Page {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }

    /// Asserts that the page shows `text`, showing the page when it does not.
    #[track_caller]
    pub fn assert_shows(&self, text: &str) -> &Page {
        assert!(
            self.body.contains(text),
            "{text:?} is not shown:\n{}",
            self.body
        );
        self
    }

    /// Asserts that the page has a form posting to `action`.
    #[track_caller]
    pub fn assert_form(&self, action: &str) -> &Page {
        assert!(self.has_form(action), "no form to {action}:\n{}", self.body);
        self
    }

    /// Asserts that the page has no form posting to `action`.
    #[track_caller]
    pub fn assert_no_form(&self, action: &str) -> &Page {
        assert!(!self.has_form(action), "a form to {action}:\n{}", self.body);
        self
    }

    /// Asserts an answer of `status` that shows `text`.
    #[track_caller]
    pub fn assert_says(&self, status: u16, text: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        self.assert_shows(text);
    }

    /// Asserts a redirect (303) to exactly `location`.
    #[track_caller]
    pub fn assert_redirect(&self, location: &str) {
        assert_eq!(self.status, 303, "{}", self.body);
        assert_eq!(self.location.as_deref(), Some(location));
    }

    /// The target of a redirect (303), which must start with `prefix`.
    #[track_caller]
    pub fn redirect_starting(&self, prefix: &str) -> String {
        assert_eq!(self.status, 303, "{}", self.body);
        let to = self.location.clone().expect("a location");
        assert!(to.starts_with(prefix), "{to} does not start with {prefix}");
        to
    }

    /// The CSRF token of the form posting to `action`.
    #[track_caller]
    pub fn csrf(&self, action: &str) -> String {
        self.form(action)
            .and_then(|f| f.get("csrf").cloned())
            .unwrap_or_else(|| panic!("no form to {action} with a token:\n{}", self.body))
    }

    /// Whether any `Set-Cookie` header (setting or clearing) names the session cookie: a
    /// page that logs nobody in sets none.
    pub fn touches_session(&self) -> bool {
        self.set_cookies()
            .iter()
            .any(|c| c.contains("nyckel_session"))
    }
}

impl Browser {
    /// GET a URL (a path, or a link to the server), asserting 200.
    pub async fn open(&self, url: &str) -> Page {
        self.get(url).await.expect_status(200)
    }

    /// Opens `path` and submits its form posting to `path` with `fill`.
    pub async fn fill(&self, path: &str, fill: &[(&str, &str)]) -> Page {
        self.fill_at(path, path, fill).await
    }

    /// Opens `path` and submits its form posting to `action` with `fill`.
    pub async fn fill_at(&self, path: &str, action: &str, fill: &[(&str, &str)]) -> Page {
        let page = self.open(path).await;
        self.submit(&page, action, fill).await
    }

    /// POSTs fields held as owned pairs (a form read off a page and changed).
    pub async fn post_pairs(&self, action: &str, fields: &[(String, String)]) -> Page {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(action, &pairs).await
    }

    /// The CSRF token of the form posting to `path` on the page at `path`.
    pub async fn csrf_on(&self, path: &str) -> String {
        self.open(path).await.csrf(path)
    }

    /// Submits the login form on `page` (a login page reached some way) with `email` and
    /// `password`.
    pub async fn submit_login(&self, page: &Page, email: &str, password: &str) -> Page {
        let fill = [("email", email), ("password", password)];
        self.submit(page, "/login", &fill).await
    }

    /// Signs in with [`PASSWORD`] on `/login`, asserting that it worked (a redirect).
    pub async fn log_in(&self, email: &str) {
        let done = self.login_at("/login", email, PASSWORD).await;
        assert_eq!(done.status, 303, "login of {email} failed: {}", done.body);
    }

    /// Whether the browser is signed in as `email` (the home page names the person).
    pub async fn signed_in_as(&self, email: &str) -> bool {
        self.get("/").await.body.contains(email)
    }

    /// Asks for a login key (link and code) for `identifier` on the login page.
    pub async fn ask_key(&self, identifier: &str) -> Page {
        self.fill_at("/login", "/login/key", &[("identifier", identifier)])
            .await
    }

    /// Asks for password recovery for `identifier` on the forgot-password page.
    pub async fn forgot(&self, identifier: &str) -> Page {
        self.fill("/forgot", &[("identifier", identifier)]).await
    }

    /// Types `code` into the form posting to `action` on `page`.
    pub async fn type_code(&self, page: &Page, action: &str, code: &str) -> Page {
        self.submit(page, action, &[("code", code)]).await
    }

    /// Chooses `password` (typed twice) on a reset page.
    pub async fn set_password(&self, page: &Page, password: &str) -> Page {
        self.set_password_with(page, password, None).await
    }

    /// Chooses `password` on a reset page, with the SMS `code` when one is asked for.
    pub async fn set_password_with(&self, page: &Page, password: &str, code: Option<&str>) -> Page {
        let mut fill = vec![("password", password), ("confirm", password)];
        fill.extend(code.map(|c| ("code", c)));
        self.submit(page, "/reset", &fill).await
    }

    /// Posts the reset form by hand (not from its page): `key`, `csrf`, `password` twice,
    /// and the SMS `code` when given.
    pub async fn post_reset(
        &self,
        key: &str,
        csrf: &str,
        password: &str,
        code: Option<&str>,
    ) -> Page {
        let mut fields = vec![("key", key), ("csrf", csrf)];
        fields.extend([("password", password), ("confirm", password)]);
        fields.extend(code.map(|c| ("code", c)));
        self.post("/reset", &fields).await
    }

    /// Changes the password on the change form `page`: `current`, then `new` twice.
    pub async fn change_password(&self, page: &Page, current: &str, new: &str) -> Page {
        let fill = [("current", current), ("password", new), ("confirm", new)];
        self.submit(page, "/password/change", &fill).await
    }

    /// Submits the first administrator's form on a setup link's `page`: `email`, `name`,
    /// and `password` twice.
    pub async fn set_up(&self, page: &Page, email: &str, name: &str, password: &str) -> Page {
        let fill = [
            ("email", email),
            ("name", name),
            ("password", password),
            ("confirm", password),
        ];
        self.submit(page, "/setup", &fill).await
    }

    /// Opens a link's page and submits its form (confirming what the link is for).
    pub async fn use_link(&self, link: &str) -> Page {
        let path = path_of(link);
        let page = self.get(&path).await;
        self.submit(&page, &path, &[]).await
    }
}

/// Follows the browser from `page` to the client's registered redirect URI (allowing consent
/// when asked) and redeems the code it carries as `client` (with the fixed PKCE verifier):
/// the token answer, 200.
pub async fn redeem_at_client(app: &TestApp, b: &Browser, page: Page, client: Client<'_>) -> Reply {
    let mut page = b.follow(page).await;
    if page.has_form("/consent") {
        let allowed = b.submit(&page, "/consent", &[("decision", "allow")]).await;
        page = b.follow(allowed).await;
    }
    assert_eq!(page.status, 303, "a redirect to the client: {}", page.body);
    let location = page.location.clone().expect("a location");
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    let code = query(&location)["code"].clone();
    let answer = redeem(app, Auth::Basic(client.0, client.1), &code, Some(VERIFIER)).await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer
}

/// Signs `email` in with the test password at `client` (an `openid` request) through `b`
/// and redeems the code: the token answer.
pub async fn client_tokens(app: &TestApp, b: &Browser, client: Client<'_>, email: &str) -> Reply {
    let start = authorize_url(&app.issuer, client.0, "openid", "st", None, &[]);
    let done = b.authorize_and_login(&start, email, PASSWORD).await;
    redeem_at_client(app, b, done, client).await
}

/// A fresh browser signs in at `client_id` with `email` and `password`: the redirect
/// that leaves the server at last (to the client, with a code), or `None` when the login
/// page refused the password.
pub async fn fresh_login(
    app: &TestApp,
    client_id: &str,
    email: &str,
    password: &str,
) -> Option<String> {
    let start = authorize_url(&app.issuer, client_id, "openid", "st", None, &[]);
    let b = app.browser();
    b.authorize_and_login(&start, email, password)
        .await
        .location
}

/// A confidential client: `(client_id, secret)`.
pub type Client<'a> = (&'a str, &'a str);
