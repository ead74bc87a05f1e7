//! An installation as an operator runs it: a folder (keys in `keys/`, SQLite under `data/`,
//! `nyckel.toml`) with its database, the `nyckel` command line against it ([`Cli`]), the
//! skip guards of tests that belong to one database's pass, a plain GET, and the OpenAPI
//! check for admin-API answers that do not come through the checked client
//! (`helpers::api::Api`).

use std::ops::Deref;
use std::path::{Path, PathBuf};

use nyckel::http::api::table::{Method, PREFIX};
use serde_json::Value;

use super::db;
use super::process::{Launch, ServerProcess};
use super::{PASSWORD, REDIRECT_URI};

/// This build's `nyckel` binary.
pub fn this_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_nyckel"))
}

/// The `nyckel` command line of one binary, run in a folder against a database.
#[derive(Debug, Clone)]
pub struct Cli {
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub url: String,
    /// Extra environment of every command.
    pub env: Vec<(String, String)>,
}

impl Cli {
    /// This build's binary in `dir` against `url`.
    pub fn new(dir: &Path, url: &str) -> Cli {
        Cli {
            bin: this_binary().to_path_buf(),
            dir: dir.to_path_buf(),
            url: url.to_string(),
            env: Vec::new(),
        }
    }

    /// The same folder and database through another binary (a previous release).
    pub fn with_binary(&self, bin: &Path) -> Cli {
        Cli {
            bin: bin.to_path_buf(),
            ..self.clone()
        }
    }

    /// The same database from another folder (another machine's keys and configuration).
    pub fn in_dir(&self, dir: &Path) -> Cli {
        Cli {
            dir: dir.to_path_buf(),
            ..self.clone()
        }
    }

    /// The same with extra environment for every command.
    pub fn with_env(&self, env: &[(&str, &str)]) -> Cli {
        let mut cli = self.clone();
        cli.env
            .extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        cli
    }

    /// The folder the binary runs in.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs a command; returns `(success, stdout, stderr)`.
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        self.run_with_stdin(args, None)
    }

    /// Runs a command fed `stdin`; returns `(success, stdout, stderr)`.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.dir)
            .args(args)
            .env("NYCKEL_DATABASE__URL", &self.url)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run nyckel");
        let input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            let mut input = input;
            input.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs a command that must succeed; returns what it printed on stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "nyckel {args:?} failed: {out}\n{err}");
        out
    }

    /// Runs a command with `--json`, asserting success; returns the parsed output.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.ok(&args);
        serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("nyckel {args:?} printed no JSON ({e}): {out}"))
    }

    /// Runs a command that must fail; returns its error message.
    #[track_caller]
    pub fn fails(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(!ok, "nyckel {args:?} should have failed, printed: {out}");
        assert!(
            out.trim().is_empty(),
            "a refusal prints nothing on stdout: {out}"
        );
        err
    }

    /// Creates an account without a password; returns its id.
    pub fn user(&self, email: &str) -> String {
        self.json(&["user", "create", "--email", email])["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// Creates a person who logs in with the test password.
    pub fn person(&self, email: &str) {
        let args = ["user", "create", "--email", email, "--password-stdin"];
        let (ok, _, err) = self.run_with_stdin(&args, Some(PASSWORD));
        assert!(ok, "{err}");
    }

    /// Creates a client with `nyckel client create --name <name> <args>`; returns its id and
    /// its secret ("" for a public client).
    pub fn client(&self, name: &str, args: &[&str]) -> (String, String) {
        let c = self.client_json(name, args);
        (
            c["client_id"].as_str().expect("client id").to_string(),
            c["client_secret"].as_str().unwrap_or_default().to_string(),
        )
    }

    /// Creates a client with `nyckel client create --name <name> <args>`; returns what it
    /// printed with `--json`.
    pub fn client_json(&self, name: &str, args: &[&str]) -> Value {
        self.json(&[&["client", "create", "--name", name][..], args].concat())
    }

    /// Creates a first-party confidential web client redirecting to [`REDIRECT_URI`] (with
    /// `grants`, or the default ones when empty); returns its id and secret.
    pub fn web_client(&self, name: &str, grants: &[&str]) -> (String, String) {
        let mut args = vec!["--redirect-uri", REDIRECT_URI, "--first-party"];
        for g in grants {
            args.extend(["--grant-type", g]);
        }
        let (id, secret) = self.client(name, &args);
        assert!(
            !secret.is_empty(),
            "a confidential client is shown its secret"
        );
        (id, secret)
    }

    /// Opens the database.
    pub async fn db(&self) -> nyckel::store::Db {
        nyckel::store::Db::connect_url(&self.url, 2, std::time::Duration::from_secs(10), "full")
            .await
            .expect("connect")
    }

    /// Starts `nyckel serve` of this binary, listening on `listen` (port 0: any) with
    /// `issuer` and this command line's environment plus `env`.
    pub fn serve(&self, listen: &str, issuer: &str, env: &[(&str, &str)]) -> ServerProcess {
        let mut all: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(env);
        ServerProcess::launch(Launch {
            bin: &self.bin,
            dir: &self.dir,
            db_url: &self.url,
            listen,
            issuer,
            env: &all,
        })
    }
}

/// A test's installation: a new folder and its database, run with this build's binary (the
/// [`Cli`] it dereferences to). The database is dropped before the folder (PostgreSQL: when
/// the value is dropped).
pub struct Install {
    cli: Cli,
    _db: db::Prepared,
    _dir: tempfile::TempDir,
}

impl Install {
    /// A folder with a prepared database: migrated, signing keys and master key made.
    pub async fn new() -> Install {
        let dir = tempfile::tempdir().expect("dir");
        let db = db::prepare(dir.path()).await;
        Self::of(dir, db)
    }

    /// [`Install::new`] in the PostgreSQL pass; on SQLite `None`, the skip recorded with
    /// `why` (see [`skip_unless_postgres`]).
    pub async fn postgres_only(why: &str) -> Option<Install> {
        match skip_unless_postgres(why) {
            true => None,
            false => Some(Install::new().await),
        }
    }

    /// A folder with an empty database and keys folder: what a binary must fill itself.
    pub async fn empty() -> Install {
        let dir = tempfile::tempdir().expect("dir");
        let db = db::empty(dir.path()).await;
        Self::of(dir, db)
    }

    fn of(dir: tempfile::TempDir, db: db::Prepared) -> Install {
        Install {
            cli: Cli::new(dir.path(), &db.url),
            _db: db,
            _dir: dir,
        }
    }
}

impl Deref for Install {
    type Target = Cli;

    fn deref(&self) -> &Cli {
        &self.cli
    }
}

/// Whether the running pass is PostgreSQL's.
pub fn on_postgres() -> bool {
    db::postgres_url().is_some()
}

/// For a test that checks what only PostgreSQL has: on SQLite it records the skip with
/// `why` and returns true (the test then returns).
pub fn skip_unless_postgres(why: &str) -> bool {
    let skip = !on_postgres();
    if skip {
        super::skip::skip(why);
    }
    skip
}

/// For a test that checks what only SQLite has: on PostgreSQL it records the skip with
/// `why` and returns true (the test then returns).
pub fn skip_unless_sqlite(why: &str) -> bool {
    let skip = on_postgres();
    if skip {
        super::skip::skip(why);
    }
    skip
}

/// `GET url`; the body (the test fails when there is no answer).
pub async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: the body: {e}"))
}

/// The admin API's name of an HTTP method.
pub fn api_method(method: &reqwest::Method) -> Method {
    match *method {
        reqwest::Method::GET => Method::Get,
        reqwest::Method::POST => Method::Post,
        reqwest::Method::PUT => Method::Put,
        reqwest::Method::PATCH => Method::Patch,
        reqwest::Method::DELETE => Method::Delete,
        ref other => panic!("the admin API has no {other} requests"),
    }
}

/// What is wrong with the admin API's answer `status`/`body` to `method url` by the
/// generated OpenAPI document (`helpers::openapi_check`), if anything. `url` is the whole
/// URL or the path from [`PREFIX`] on.
pub fn api_answer_problems(
    method: Method,
    url: &str,
    status: u16,
    body: &str,
) -> Result<(), String> {
    let (_, below) = url
        .split_once(PREFIX)
        .unwrap_or_else(|| panic!("{url} is not an admin API URL"));
    super::openapi_check::problems(method, below, status, body).map_err(|p| {
        format!(
            "{} {url} answered {status}, which the OpenAPI document does not allow: {p}",
            method.as_str()
        )
    })
}

/// Panics when the admin API's answer `status`/`body` to `method url` does not match the
/// generated OpenAPI document (see [`api_answer_problems`]).
#[track_caller]
pub fn check_api_answer(method: Method, url: &str, status: u16, body: &str) {
    if let Err(problem) = api_answer_problems(method, url, status, body) {
        panic!("{problem}\nbody: {body}");
    }
}
