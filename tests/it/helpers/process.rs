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

/// What a node was started with when its ports were chosen in advance: the listen address,
/// the issuer and the extra environment.
pub type Ports = (String, String, Vec<(String, String)>);

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

    /// [`ServerProcess::spawn`] for a node whose ports must be chosen before it starts (the
    /// issuer names its port, or a metrics listener is configured): `choose` gives the listen
    /// address, the issuer and the extra environment. A port another test took between
    /// choosing and binding (`Address already in use`) is chosen again, up to five times.
    /// Returns the node and what `choose` gave for it.
    pub fn spawn_on_chosen_ports(
        dir: &Path,
        db_url: &str,
        choose: impl Fn() -> Ports,
    ) -> (Self, Ports) {
        let mut last = String::new();
        for _ in 0..5 {
            let (listen, issuer, env) = choose();
            let borrowed: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let bin = Path::new(env!("CARGO_BIN_EXE_nyckel"));
            match Self::try_spawn_bin(bin, dir, db_url, &listen, &issuer, &borrowed) {
                Ok(node) => return (node, (listen, issuer, env)),
                Err(text) if text.contains("Address already in use") => last = text,
                Err(text) => panic!("{text}"),
            }
        }
        panic!("no free ports after five tries:\n{last}");
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
        Self::try_spawn_bin(bin, dir, db_url, listen, issuer, env).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ServerProcess::spawn_bin`], or the process's output when it exits before listening.
    fn try_spawn_bin(
        bin: &Path,
        dir: &Path,
        db_url: &str,
        listen: &str,
        issuer: &str,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
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
                // The output threads may still be copying the last lines.
                std::thread::sleep(Duration::from_millis(100));
                let text = output.lock().unwrap_or_else(|e| e.into_inner()).clone();
                return Err(format!("nyckel serve exited with {status}:\n{text}"));
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "nyckel serve did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(ServerProcess {
            child,
            addr,
            output,
        })
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

/// A free TCP port on 127.0.0.1 for a server that must be told its port before it starts.
///
/// Ports come from below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`),
/// which `bind(0)` and outgoing connections never take: a port from `bind(0)` would be free
/// again once released, and the next test's `bind(0)` could be handed it before our server
/// binds it (`Address already in use`). Each port is handed out once per process, starting
/// at an offset of the process id, and only if it can be bound now.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const LOWEST: u32 = 10_000;
    let ephemeral_low: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .filter(|low| *low > LOWEST + 1_000)
        .unwrap_or(32_768);
    let span = ephemeral_low - LOWEST;
    let offset = std::process::id() * 7_919 % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = LOWEST + (offset + n) % span;
        let port = u16::try_from(port).expect("a port number");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {ephemeral_low}")
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
