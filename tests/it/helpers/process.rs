//! The real `nyckel serve` binary as a child process, for tests that need separate processes
//! (several nodes on one database) or the process's own log output (secret canaries).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::browser::Browser;
use super::ops::{Install, this_binary};

/// A running server process; killed on drop.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Everything the process printed (stdout and stderr), as it arrives.
    pub output: Arc<Mutex<String>>,
}

/// What a node was started with when its ports were chosen in advance: the listen address,
/// the issuer and the extra environment.
pub type Ports = (String, String, Vec<(String, String)>);

/// How a server process starts: which `nyckel` binary, in which folder (keys in `dir/keys`),
/// against which database, on which address (port 0: any), with which issuer and extra
/// environment.
#[derive(Clone, Copy)]
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub dir: &'a Path,
    pub db_url: &'a str,
    pub listen: &'a str,
    pub issuer: &'a str,
    pub env: &'a [(&'a str, &'a str)],
}

impl ServerProcess {
    /// Starts `nyckel serve` on a fresh installation ([`Install`]), on any port, with the
    /// issuer `https://localhost:8443` and extra environment `env`. Bind it as
    /// `let (_fresh, server) = ...`: the server then stops before its database is dropped.
    pub async fn fresh(env: &[(&str, &str)]) -> (Install, ServerProcess) {
        let install = Install::new().await;
        let server = install.serve("127.0.0.1:0", "https://localhost:8443", env);
        (install, server)
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
        let bin = this_binary();
        Self::launch(Launch {
            bin,
            dir,
            db_url,
            listen,
            issuer,
            env,
        })
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
            let launch = Launch {
                bin: this_binary(),
                dir,
                db_url,
                listen: &listen,
                issuer: &issuer,
                env: &borrowed,
            };
            match Self::try_launch(launch) {
                Ok(node) => return (node, (listen, issuer, env)),
                Err(text) if text.contains("Address already in use") => last = text,
                Err(text) => panic!("{text}"),
            }
        }
        panic!("no free ports after five tries:\n{last}");
    }

    /// Starts a server process as `launch` says (any `nyckel` binary, e.g. a previous
    /// release); waits until it listens.
    pub fn launch(launch: Launch<'_>) -> Self {
        Self::try_launch(launch).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`ServerProcess::launch`], or the process's output when it exits before listening.
    fn try_launch(launch: Launch<'_>) -> Result<Self, String> {
        let mut cmd = Command::new(launch.bin);
        cmd.current_dir(launch.dir)
            .arg("serve")
            .env("NYCKEL_DATABASE__URL", launch.db_url)
            .env("NYCKEL_LISTEN", launch.listen)
            .env("NYCKEL_ISSUER", launch.issuer)
            .env("NYCKEL_LOG__FILTER", "debug")
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in launch.env {
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

    /// The server's base URL: the issuer's host name with the port it listens on.
    pub fn base(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// A plain HTTP client for this server (no cookies, no redirects).
    pub fn http(&self) -> reqwest::Client {
        super::browser::client(self.addr, false)
    }

    /// A fresh browser (own cookie jar, no redirects followed) on this server.
    pub fn browser(&self) -> Browser {
        Browser::at(self.addr, &self.base())
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

/// A listen address on a port chosen now ([`free_port`]) and the issuer that names it, for a
/// server that must know its port before it starts: `(listen, issuer)`.
pub fn chosen_address() -> (String, String) {
    let port = free_port();
    (
        format!("127.0.0.1:{port}"),
        format!("https://localhost:{port}"),
    )
}
