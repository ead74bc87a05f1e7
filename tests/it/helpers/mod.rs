//! The test harness: `TestApp::spawn()` starts a server with its own database, keys folder
//! and manual clock; helpers create fixtures through the admin use-cases (what the CLI
//! calls) and drive flows over HTTP like a browser or a relying party would.

pub mod admin;
pub mod admin_ui;
pub mod api;
pub mod api_fixtures;
pub mod authorize;
pub mod backchannel;
pub mod browser;
pub mod db;
pub mod flows;
pub mod integrity;
pub mod load;
pub mod login;
pub mod nodes;
pub mod openapi_check;
pub mod ops;
pub mod pages;
pub mod people;
pub mod process;
pub mod prop;
pub mod release;
pub mod s3_server;
pub mod skip;
pub mod sms_gateway;
pub mod smtp;
pub mod tcp_proxy;
pub mod token;
pub mod two_factor;

use std::net::SocketAddr;
use std::sync::Arc;

use nyckel::admin::clients::CreateClient;
use nyckel::auth::password::Password;
use nyckel::auth::policy::PasswordPolicy;
use nyckel::clock::ManualClock;
use nyckel::config::{Config, TlsMode};
use nyckel::state::AppState;

pub use browser::Browser;

/// A password that passes the default policy.
pub const PASSWORD: &str = "blåbärssylt i skogen 42";

/// Turns off the production rule that administrators use two factors, for a test whose
/// administrators log in with a password alone; `why` says why that test does not need the
/// rule (it is there to be read at the call site, and printed when the test fails).
pub fn password_only_admins(config: &mut Config, why: &str) {
    assert!(!why.trim().is_empty(), "say why the rule is off");
    config.login.admins_require_two_factors = false;
}

/// A running server for one test.
pub struct TestApp {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub addr: SocketAddr,
    /// The issuer, `https://localhost:<port>`.
    pub issuer: String,
    /// The metrics listener, when `metrics.listen` was set.
    pub metrics_addr: Option<SocketAddr>,
    /// The plain-HTTP redirect listener, when `tls.redirect_listen` was set.
    pub redirect_addr: Option<SocketAddr>,
    handle: axum_server::Handle,
    /// The test's database (dropped after the server, PostgreSQL: when the app is dropped).
    _db: db::Prepared,
    /// Holds the test's folder (database, keys) until the app is dropped.
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts a server with the default configuration.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server whose administrators log in with a password alone (see
    /// [`password_only_admins`]; `why` says why the test does not need the two-factor rule).
    pub async fn spawn_password_only_admins(why: &str) -> TestApp {
        Self::spawn_with(|c| password_only_admins(c, why)).await
    }

    /// Starts a server after `edit` adjusted the configuration.
    pub async fn spawn_with(edit: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let prepared = db::prepare(dir.path()).await;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let issuer = format!("https://localhost:{}", addr.port());
        let mut config = Config {
            issuer: Some(issuer.clone()),
            listen: addr.to_string(),
            data_dir: dir.path().join("data"),
            keys_dir: dir.path().join("keys"),
            ..Config::default()
        };
        config.database.url = Some(prepared.url.clone());
        config.database.max_connections = 4;
        config.tls.mode = TlsMode::SelfSigned;
        // Everything else is the production default (administrators use two factors, ...);
        // a test that needs otherwise says so in `edit`, e.g. [`password_only_admins`].
        edit(&mut config);
        config.validate().expect("test configuration is valid");
        let clock = ManualClock::starting_now();
        let state = AppState::build_with_clock(config, clock.clone())
            .await
            .expect("state builds");
        let (running, _task) = nyckel::http::server::start_on(state.clone(), listener)
            .await
            .expect("server starts");
        TestApp {
            state,
            clock,
            addr: running.addr,
            metrics_addr: running.metrics_addr,
            redirect_addr: running.redirect_addr,
            issuer,
            handle: running.handle,
            _db: prepared,
            _dir: dir,
        }
    }

    /// An absolute URL on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// A fresh browser (own cookie jar) that does not follow redirects.
    pub fn browser(&self) -> Browser {
        Browser::new(self)
    }

    /// A plain HTTP client for API calls (no cookies, no redirects).
    pub fn http(&self) -> reqwest::Client {
        browser::client(self.addr, false)
    }

    /// `GET path` without cookies; the body parsed as JSON (whatever the status).
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.http()
            .get(self.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(seconds);
    }

    /// Creates an account with [`PASSWORD`]; returns its `sub`.
    pub async fn create_user(&self, email: &str) -> String {
        self.create_user_with(email, Some("Test Person"), PASSWORD)
            .await
    }

    /// Creates an account with a given name and password; returns its `sub`.
    pub async fn create_user_with(
        &self,
        email: &str,
        name: Option<&str>,
        password: &str,
    ) -> String {
        nyckel::admin::users::create(
            &self.state.db,
            &self.state.hasher,
            &PasswordPolicy::from_config(&self.state.config.password),
            nyckel::admin::users::CreateUser {
                email: email.into(),
                name: name.map(str::to_string),
                phone: None,
                password: Some(Password::new(password.into())),
            },
            self.state.now(),
        )
        .await
        .expect("user created")
    }

    /// Registers a client; returns `(client_id, secret)`.
    pub async fn create_client(&self, req: CreateClient) -> (String, Option<String>) {
        let created = nyckel::admin::clients::create(&self.state.db, req, self.state.now())
            .await
            .expect("client created");
        (created.client.id, created.secret)
    }

    /// A confidential, first-party web client redirecting to `https://app.example/cb`.
    pub async fn web_client(&self) -> (String, String) {
        let (id, secret) = self
            .create_client(CreateClient {
                name: "Web app".into(),
                redirect_uris: vec![REDIRECT_URI.into()],
                post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
                first_party: true,
                ..Default::default()
            })
            .await;
        (id, secret.expect("confidential client has a secret"))
    }

    /// Creates an organisation; returns its id.
    pub async fn create_org(&self, name: &str, slug: &str) -> String {
        nyckel::admin::orgs::create(&self.state.db, name, Some(slug), self.state.now())
            .await
            .expect("org created")
            .id
    }

    /// Adds a person to an organisation with roles.
    pub async fn add_member(&self, org: &str, email: &str, roles: &[&str]) {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        nyckel::admin::orgs::add_member(&self.state.db, org, email, &roles, self.state.now())
            .await
            .expect("member added");
    }
}

impl TestApp {
    /// Runs a mail delivery pass now and returns every message in the outbox folder (the
    /// file backend), parsed, in file-name order (creation time first).
    pub async fn mails(&self) -> Vec<crate::mail_outbox::Mail> {
        nyckel::mail::deliver_due(&self.state)
            .await
            .expect("mail delivery pass");
        crate::mail_outbox::read_dir(&nyckel::mail::outbox_dir(&self.state.config))
    }

    /// The messages to `email` (after a delivery pass).
    pub async fn mails_to(&self, email: &str) -> Vec<crate::mail_outbox::Mail> {
        self.mails()
            .await
            .into_iter()
            .filter(|m| m.header("To") == Some(email))
            .collect()
    }
}

/// An SMS written by the file gateway.
#[derive(Debug, Clone)]
pub struct Sms {
    pub to: String,
    pub body: String,
}

impl Sms {
    /// The first run of 6 to 8 digits (spaces inside allowed: "123 456").
    pub fn code(&self) -> String {
        code_in(&self.body).unwrap_or_else(|| panic!("no code in the SMS:\n{}", self.body))
    }
}

/// The first code (6 to 8 digits, maybe split by one space) in a text.
pub fn code_in(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if let Some(next) = words.get(i + 1) {
            let joined = format!("{w}{}", next.trim_end_matches(['.', ',']));
            if digits(w)
                && digits(next.trim_end_matches(['.', ',']))
                && (6..=8).contains(&joined.len())
            {
                return Some(joined);
            }
        }
        let w = w.trim_end_matches(['.', ',']);
        if digits(w) && (6..=8).contains(&w.len()) {
            return Some(w.to_string());
        }
    }
    None
}

impl TestApp {
    /// Runs a delivery pass and returns every SMS the file gateway wrote, oldest first.
    pub async fn sms_messages(&self) -> Vec<Sms> {
        nyckel::mail::deliver_due(&self.state)
            .await
            .expect("delivery pass");
        let dir = nyckel::sms::gateway::outbox_dir(&self.state.config);
        let mut files: Vec<_> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sms"))
                .collect(),
            // Nothing was ever sent: the folder is made with the first message.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        files.sort();
        files
            .into_iter()
            .map(|file| {
                let text = std::fs::read_to_string(&file).expect("sms file");
                let (head, body) = text.split_once("\n\n").expect("sms layout");
                Sms {
                    to: head.trim_start_matches("To: ").to_string(),
                    body: body.trim_end().to_string(),
                }
            })
            .collect()
    }

    /// The SMS sent to `number` (E.164).
    pub async fn sms_to(&self, number: &str) -> Vec<Sms> {
        self.sms_messages()
            .await
            .into_iter()
            .filter(|m| m.to == number)
            .collect()
    }

    /// Stops the server and starts a new one (a new process's state: same database, keys
    /// folder, configuration and clock) on the same address, as a restart would.
    pub async fn restart(&mut self) {
        self.handle.shutdown();
        // The old "process" is gone: its background loops lose the database.
        self.state.db.close().await;
        let config = self.state.config.clone();
        let state = AppState::build_with_clock(config, self.clock.clone())
            .await
            .expect("state builds again");
        let mut listener = None;
        for _ in 0..100 {
            match std::net::TcpListener::bind(self.addr) {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        let listener = listener.expect("the address is free again");
        let (running, _task) = nyckel::http::server::start_on(state.clone(), listener)
            .await
            .expect("server starts again");
        self.state = state;
        self.handle = running.handle;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// The redirect URI of [`TestApp::web_client`].
pub const REDIRECT_URI: &str = "https://app.example/cb";
/// The post-logout redirect URI of [`TestApp::web_client`].
pub const POST_LOGOUT_URI: &str = "https://app.example/logged-out";
