//! The real `nyckel serve` binary as a child process, for tests that need separate processes
//! (several nodes on one database) or the process's own log output (secret canaries).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server process; killed on drop.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Everything the process printed (stdout and stderr), as it arrives.
    pub output: Arc<Mutex<String>>,
}

/// A test's folder and database for a server process (see [`ServerProcess::fresh`]).
pub struct Fresh {
    pub db: super::db::Prepared,
    /// Holds the folder (keys, SQLite file) while the server runs.
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `nyckel serve` on a fresh database in a new folder, on any port, with the issuer
    /// `https://localhost:8443` and extra environment `env`. Bind it as
    /// `let (_fresh, server) = ...`: the server then stops before its database is dropped.
    pub async fn fresh(env: &[(&str, &str)]) -> (Fresh, ServerProcess) {
        let dir = tempfile::tempdir().expect("dir");
        let db = super::db::prepare(dir.path()).await;
        let server = Self::spawn(
            dir.path(),
            &db.url,
            "127.0.0.1:0",
            "https://localhost:8443",
            env,
        );
        (Fresh { db, _dir: dir }, server)
    }

    /// Starts `nyckel serve` in `dir` (keys in `dir/keys`) against `db_url`, listening on
    /// `listen` (use port 0 for any), with `issuer`. Extra environment in `env`.
    pub fn spawn(
        dir: &Path,
        db_url: &str,
        listen: &str,
        issuer: &str,
        env: &[(&str, &str)],
    ) -> Self {
        Self::spawn_bin(
            Path::new(env!("CARGO_BIN_EXE_nyckel")),
            dir,
            db_url,
            listen,
            issuer,
            env,
        )
    }

    /// [`ServerProcess::spawn`] of another `nyckel` binary (a previous release).
    pub fn spawn_bin(
        bin: &Path,
        dir: &Path,
        db_url: &str,
        listen: &str,
        issuer: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(bin);
        cmd.current_dir(dir)
            .arg("serve")
            .env("NYCKEL_DATABASE__URL", db_url)
            .env("NYCKEL_LISTEN", listen)
            .env("NYCKEL_ISSUER", issuer)
            .env("NYCKEL_LOG__FILTER", "debug")
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start nyckel serve");
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap_or_else(|e| e.into_inner());
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        let started = Instant::now();
        let addr = loop {
            let text = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(addr) = text
                .lines()
                .find_map(|l| l.strip_prefix("nyckel listening on "))
                .and_then(|u| u.split("://").nth(1))
                .and_then(|a| a.trim().parse().ok())
            {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nyckel serve exited with {status}:\n{text}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "nyckel serve did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        ServerProcess {
            child,
            addr,
            output,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process printed so far.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(40) {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Runs the `nyckel` binary `bin` with `args` in `dir` against `db_url`, feeding `stdin`;
/// returns `(success, stdout, stderr)`.
pub fn run_cli(
    bin: &Path,
    dir: &Path,
    db_url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .args(args)
        .env("NYCKEL_DATABASE__URL", db_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run nyckel");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
