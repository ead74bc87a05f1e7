//! The server under test: fixtures made with the real CLI, and `nyckel serve` as a child
//! process on 127.0.0.1 (TLS off, SQLite in a temporary directory) that is killed when the
//! guard drops, also when the benchmark panics.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::client::{Conn, Template};

/// Where and how the server runs.
pub struct Setup {
    /// The process id of the running server (0 before the first start).
    pub pid: AtomicU32,
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub addr: SocketAddr,
    pub issuer: String,
}

impl Setup {
    /// A setup in `dir` on a free loopback port.
    pub fn new(bin: PathBuf, dir: &Path) -> anyhow::Result<Setup> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        Ok(Setup {
            pid: AtomicU32::new(0),
            bin,
            dir: dir.to_path_buf(),
            addr,
            issuer: format!("http://{addr}"),
        })
    }

    /// `host:port` for the `Host` header.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The `nyckel` command with the benchmark's configuration in the environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.dir)
            .env(
                "NYCKEL_DATABASE__URL",
                format!("sqlite://{}", self.dir.join("data/nyckel.db").display()),
            )
            .env("NYCKEL_DATA_DIR", self.dir.join("data"))
            .env("NYCKEL_KEYS_DIR", self.dir.join("keys"))
            .env("NYCKEL_TLS__MODE", "off")
            .env("NYCKEL_LISTEN", self.addr.to_string())
            .env("NYCKEL_ISSUER", &self.issuer)
            .env("NYCKEL_LOG__FILTER", "warn")
            // As behind a reverse proxy: the flood's people come from their own addresses.
            .env("NYCKEL_TRUSTED_PROXIES", "[\"127.0.0.1\"]")
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            // The bench's own knob, not server configuration (NYCKEL_* is read as config).
            .env_remove("NYCKEL_BIN");
        cmd
    }

    /// Runs a CLI command with `--json` (feeding `stdin`), returning its JSON output.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<serde_json::Value> {
        let mut cmd = self.command();
        cmd.arg("--json")
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("running {}", self.bin.display()))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "nyckel {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .unwrap_or("");
        serde_json::from_str(line)
            .with_context(|| format!("nyckel {}: output is not JSON: {text}", args.join(" ")))
    }

    /// Starts `nyckel serve` and waits for its first successful response (discovery);
    /// returns the running server and how long that took.
    pub async fn start(&self) -> anyhow::Result<(Server, Duration)> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))?;
        let started = Instant::now();
        let child = self
            .command()
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} serve", self.bin.display()))?;
        self.pid.store(child.id(), Ordering::Relaxed);
        let mut server = Server {
            child,
            log: self.dir.join("server.log"),
        };
        let probe = Template::get(&self.host(), "/.well-known/openid-configuration")?;
        loop {
            if let Ok(mut conn) = Conn::open(self.addr).await
                && let Ok(res) = conn.send(probe.build()).await
                && res.status == 200
            {
                return Ok((server, started.elapsed()));
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("nyckel serve exited with {status}:\n{}", server.log_text());
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "nyckel serve did not answer within 60 s:\n{}",
                    server.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// A running `nyckel serve`; killed on drop.
pub struct Server {
    child: Child,
    log: PathBuf,
}

/// Memory figures from `/proc/<pid>/status`, KiB.
#[derive(Debug, Default, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Server {
    /// The server's memory use now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Ok(Memory {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
        })
    }

    /// What the server logged.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Asks the server to stop (SIGTERM) and waits up to 40 s; kills it after that.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(40) {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("nyckel serve did not stop within 40 s after SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// CPU time (user + system) a process used so far, in seconds; `None` for this process.
/// `/proc/<pid>/stat` counts in USER_HZ, which is 100 on Linux.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".into(),
    };
    let Ok(stat) = std::fs::read_to_string(path) else {
        return f64::NAN;
    };
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state field.
    (ticks(11) + ticks(12)) as f64 / 100.0
}
