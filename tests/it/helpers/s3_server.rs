//! A real S3-compatible server on loopback for the backup tests: moto in server mode
//! (`python3 -m moto.server`), one process per test, killed on drop.
//!
//! [`S3Server::start`] picks a free port, starts moto, waits until it answers, then (while
//! moto still lets anyone in) creates an IAM user with an `s3:*` policy and an access key,
//! and the bucket, through boto3 (which moto brings); then it switches moto's IAM checks
//! on (`/moto-api/reset-auth`), so from then on every request must carry a valid
//! Signature Version 4 by that key: moto recomputes each signature with botocore, an
//! independent implementation of the one under test.
//!
//! Without moto (`pip install 'moto[server]'`), or with one older than the version `.ci/run`
//! pins, [`S3Server::start`] records a skip
//! (counted in the run's closing lines, helpers/skip.rs) and returns `None` (the test then
//! checks nothing), unless `NYCKEL_TEST_REQUIRE_MOTO=1` (CI
//! sets it), which makes it fail.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nyckel::backup::s3::S3Settings;

use super::process::free_port;

/// The bucket every server starts with.
pub const BUCKET: &str = "nyckel-test";
/// The region moto's bucket lives in.
pub const REGION: &str = "us-east-1";

/// Creates the user, its key and the bucket; prints the key as JSON.
const SETUP: &str = r#"
import json, os, boto3
endpoint = os.environ["MOTO_ENDPOINT"]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
iam.create_user(UserName="nyckel-backup")
iam.put_user_policy(UserName="nyckel-backup", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17",
     "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="nyckel-backup")["AccessKey"]
boto3.client("s3", **kw).create_bucket(Bucket=os.environ["MOTO_BUCKET"])
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
"#;

/// A running moto server with a bucket and a key that may use it.
pub struct S3Server {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    output: Arc<Mutex<String>>,
    /// How long moto took to answer after it was started.
    pub startup: Duration,
}

/// The oldest moto these tests trust: older releases (5.2.1 was seen) compute some
/// signatures over oddly named keys differently and refuse correct requests. `.ci/run` pins
/// this version.
const MOTO_MIN: (u32, u32, u32) = (5, 2, 5);

/// Whether python3 can import moto's server, at least [`MOTO_MIN`]. When it cannot, records
/// a skip (counted at the end of the run), or fails when `NYCKEL_TEST_REQUIRE_MOTO=1`.
pub fn moto_available() -> bool {
    let probe = "import re, moto, moto.server, boto3; \
                 print('.'.join(re.findall(r'\\d+', moto.__version__)[:3]))";
    let found = Command::new("python3")
        .args(["-c", probe])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let version = found.as_deref().map(|v| {
        let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let mut next = || parts.next().unwrap_or(0);
        (next(), next(), next())
    });
    let (major, minor, patch) = MOTO_MIN;
    let problem = match (version, found.as_deref()) {
        (Some(v), _) if v >= MOTO_MIN => return true,
        (Some(_), Some(text)) => format!(
            "python3 has moto {text}, older than {major}.{minor}.{patch}: python3 -m pip install 'moto[server]=={major}.{minor}.{patch}'"
        ),
        _ => "python3 cannot import moto's server: python3 -m pip install 'moto[server]'".into(),
    };
    let required = std::env::var("NYCKEL_TEST_REQUIRE_MOTO").is_ok_and(|v| v == "1");
    assert!(!required, "NYCKEL_TEST_REQUIRE_MOTO=1 but {problem}");
    super::skip::skip(format!("S3 not tested: {problem}"));
    false
}

impl S3Server {
    /// Starts moto with the bucket and key, and its IAM checks on; `None` when moto is not
    /// installed (see the module doc).
    pub fn start() -> Option<S3Server> {
        if !moto_available() {
            return None;
        }
        // A port freed just before may be taken again by the time moto binds: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => return Some(server),
                Err(e) => last = e,
            }
        }
        panic!("moto did not start: {last}");
    }

    fn try_start() -> Result<S3Server, String> {
        let port = free_port();
        let started = Instant::now();
        let mut child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env_remove("INITIAL_NO_AUTH_ACTION_COUNT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3 -m moto.server: {e}"))?;
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap_or_else(|e| e.into_inner());
                    // Keep the start and the end of a long log.
                    if out.len() > 256 * 1024 {
                        out.truncate(128 * 1024);
                        out.push_str("\n[...]\n");
                    }
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        let mut server = S3Server {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            output,
            startup: Duration::ZERO,
        };

        // Ready when this process says it listens (another one may have taken the port
        // since it was free) and the moto API answers.
        let listening = format!("Running on http://127.0.0.1:{port}");
        loop {
            if server.output().contains(&listening)
                && http(port, "GET", "/moto-api/", "")
                    .is_some_and(|s| s.starts_with("HTTP/1.1 200"))
            {
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("moto exited with {status}:\n{}", server.output()));
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(format!("moto did not answer in 60 s:\n{}", server.output()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        server.startup = started.elapsed();

        let setup = Command::new("python3")
            .args(["-c", SETUP])
            .env("MOTO_ENDPOINT", &server.endpoint)
            .env("MOTO_BUCKET", BUCKET)
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .map_err(|e| format!("python3 (boto3 setup): {e}"))?;
        let stdout = String::from_utf8_lossy(&setup.stdout);
        if !setup.status.success() {
            return Err(format!(
                "the boto3 setup failed: {}\n{stdout}\n{}",
                setup.status,
                String::from_utf8_lossy(&setup.stderr)
            ));
        }
        let key: serde_json::Value = serde_json::from_str(stdout.trim())
            .map_err(|e| format!("the boto3 setup printed {stdout:?}: {e}"))?;
        server.access_key_id = key["id"].as_str().unwrap_or_default().to_string();
        server.secret_access_key = key["secret"].as_str().unwrap_or_default().to_string();
        if server.access_key_id.is_empty() || server.secret_access_key.is_empty() {
            return Err(format!("the boto3 setup printed no key: {stdout}"));
        }

        // From now on every request is authenticated and authorised.
        let answer = http(port, "POST", "/moto-api/reset-auth", "0").unwrap_or_default();
        if !answer.starts_with("HTTP/1.1 200") {
            return Err(format!("moto refused reset-auth: {answer}"));
        }
        Ok(server)
    }

    /// Settings for the bucket with this server's key, path-style, under `prefix`.
    pub fn settings(&self, name: &str, prefix: &str) -> S3Settings {
        S3Settings {
            name: name.into(),
            endpoint: self.endpoint.clone(),
            region: REGION.into(),
            bucket: BUCKET.into(),
            prefix: prefix.into(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            path_style: true,
            timeout: Duration::from_secs(30),
        }
    }

    /// moto's log once `done` holds for it (or after 10 s): it logs each request after
    /// answering it, so a line can lag behind the answer.
    pub fn log_when(&self, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let log = self.output();
            if done(&log) || started.elapsed() > Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What moto printed so far (one line per request).
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One plain HTTP/1.1 request to moto's own API on loopback; the whole answer, or `None`
/// when the connection fails.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_secs(2),
    )
    .ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}
