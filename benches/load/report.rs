//! Measurements and the report: per-task latency samples merged into one row per scenario,
//! printed as a table and written as JSON.

use std::time::Duration;

use serde_json::{Value, json};

/// What one worker task measured.
#[derive(Debug, Default)]
pub struct Stats {
    /// Latency of every successful request in the measured window, microseconds.
    pub lat_us: Vec<u32>,
    /// Successful requests in the measured window.
    pub ok: u64,
    /// Failed requests (any time).
    pub errors: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
}

impl Stats {
    /// Records a success that took `took`, if it started in the measured window.
    pub fn ok(&mut self, took: Duration, measured: bool) {
        if measured {
            self.ok += 1;
            self.lat_us
                .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        }
    }

    /// Records a failure.
    pub fn error(&mut self, what: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what());
        }
    }

    /// Adds another worker's numbers.
    pub fn merge(&mut self, other: Stats) {
        self.lat_us.extend(other.lat_us);
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// A performance target for a row.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// At least this many per second.
    MinRate(f64),
    /// p99 below this many milliseconds.
    MaxP99Ms(f64),
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub connections: usize,
    pub ok: u64,
    pub errors: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Why the scenario did not run, or what went wrong first.
    pub note: String,
    pub target: Option<Target>,
    /// CPU the server used during the measured window, in cores.
    pub server_cpu: f64,
    /// CPU the load generator used during the measured window, in cores.
    pub client_cpu: f64,
}

impl Row {
    /// A row from merged stats over a measured window of `window`.
    pub fn from_stats(
        scenario: &str,
        connections: usize,
        mut stats: Stats,
        window: Duration,
        target: Option<Target>,
    ) -> Row {
        stats.lat_us.sort_unstable();
        let pct = |p: f64| -> f64 {
            if stats.lat_us.is_empty() {
                return f64::NAN;
            }
            let i = ((stats.lat_us.len() as f64 * p).ceil() as usize).clamp(1, stats.lat_us.len());
            f64::from(stats.lat_us[i - 1]) / 1000.0
        };
        let secs = window.as_secs_f64().max(1e-9);
        Row {
            scenario: scenario.to_string(),
            connections,
            ok: stats.ok,
            errors: stats.errors,
            rate: stats.ok as f64 / secs,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
            note: stats
                .first_error
                .map(|e| format!("first error: {e}"))
                .unwrap_or_default(),
            target,
            server_cpu: f64::NAN,
            client_cpu: f64::NAN,
        }
    }

    /// The row with the CPU use (server, generator) measured during its window.
    pub fn with_cpu(mut self, (server, client): (f64, f64)) -> Row {
        self.server_cpu = server;
        self.client_cpu = client;
        self
    }

    /// A row for a scenario that could not run.
    pub fn unavailable(scenario: &str, why: &str, target: Option<Target>) -> Row {
        Row {
            scenario: scenario.to_string(),
            connections: 0,
            ok: 0,
            errors: 0,
            rate: f64::NAN,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            max_ms: f64::NAN,
            note: format!("unavailable ({why})"),
            target,
            server_cpu: f64::NAN,
            client_cpu: f64::NAN,
        }
    }

    /// `Some(true)` when the row meets its target, `None` when it has none or did not run.
    pub fn met(&self) -> Option<bool> {
        match self.target? {
            Target::MinRate(_) | Target::MaxP99Ms(_) if self.ok == 0 => None,
            Target::MinRate(min) => Some(self.rate >= min),
            Target::MaxP99Ms(max) => Some(self.p99_ms < max),
        }
    }

    fn target_text(&self) -> String {
        match self.target {
            None => String::new(),
            Some(Target::MinRate(r)) => format!(">= {r:.0}/s"),
            Some(Target::MaxP99Ms(ms)) => format!("p99 < {ms:.0} ms"),
        }
    }

    fn json(&self) -> Value {
        let num = |v: f64| {
            if v.is_finite() {
                json!((v * 1000.0).round() / 1000.0)
            } else {
                Value::Null
            }
        };
        json!({
            "scenario": self.scenario,
            "connections": self.connections,
            "ok": self.ok,
            "errors": self.errors,
            "per_second": num(self.rate),
            "p50_ms": num(self.p50_ms),
            "p99_ms": num(self.p99_ms),
            "max_ms": num(self.max_ms),
            "server_cpu_cores": num(self.server_cpu),
            "generator_cpu_cores": num(self.client_cpu),
            "target": self.target_text(),
            "target_met": self.met(),
            "note": self.note,
        })
    }
}

/// Server-side figures.
#[derive(Debug, Default, Clone)]
pub struct ServerFigures {
    pub first_start_ms: f64,
    pub startup_ms: f64,
    pub idle_rss_kib: u64,
    pub peak_rss_kib: u64,
    pub rss_after_kib: u64,
    /// argon2id with the default parameters: ms per hash on one core.
    pub argon2_ms_per_hash: f64,
    /// argon2id hashes per second with one hash per core at once.
    pub argon2_hashes_per_s: f64,
}

/// The whole report.
#[derive(Debug)]
pub struct Report {
    pub cores: usize,
    pub settings: Value,
    pub rows: Vec<Row>,
    pub server: ServerFigures,
}

fn fmt(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{v:.decimals$}")
    } else {
        "-".into()
    }
}

impl Report {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let header = [
            "scenario", "conns", "ok", "errors", "per s", "p50 ms", "p99 ms", "max ms", "srv cpu",
            "gen cpu", "target", "met",
        ];
        let mut lines: Vec<[String; 12]> = vec![header.map(str::to_string)];
        for r in &self.rows {
            lines.push([
                r.scenario.clone(),
                if r.connections == 0 {
                    "-".into()
                } else {
                    r.connections.to_string()
                },
                r.ok.to_string(),
                r.errors.to_string(),
                fmt(r.rate, 0),
                fmt(r.p50_ms, 2),
                fmt(r.p99_ms, 2),
                fmt(r.max_ms, 2),
                fmt(r.server_cpu, 2),
                fmt(r.client_cpu, 2),
                r.target_text(),
                match r.met() {
                    Some(true) => "yes".into(),
                    Some(false) => "NO".into(),
                    None => "-".into(),
                },
            ]);
        }
        let widths: Vec<usize> = (0..12)
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for (i, l) in lines.iter().enumerate() {
            let cells: Vec<String> = l
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    if c == 0 || c >= 10 {
                        format!("{s:<w$}", w = widths[c])
                    } else {
                        format!("{s:>w$}", w = widths[c])
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * 11));
                out.push('\n');
            }
        }
        for r in self.rows.iter().filter(|r| !r.note.is_empty()) {
            out.push_str(&format!("  {}: {}\n", r.scenario, r.note));
        }
        let s = &self.server;
        out.push_str(&format!(
            "\nserver: startup {} ms (existing database; first start with a new database {} ms), \
             RSS idle {} MiB, peak (VmHWM) {} MiB, after load {} MiB; {} CPU cores \
             (srv/gen cpu: cores busy in the server / the load generator)\n",
            fmt(s.startup_ms, 0),
            fmt(s.first_start_ms, 0),
            fmt(s.idle_rss_kib as f64 / 1024.0, 1),
            fmt(s.peak_rss_kib as f64 / 1024.0, 1),
            fmt(s.rss_after_kib as f64 / 1024.0, 1),
            self.cores,
        ));
        out.push_str(&format!(
            "argon2id (default parameters, Nyckel's hasher): {} ms per hash on one core; at most {} hashes/s on all {} cores, \
             the ceiling for password logins/s before any other work a login does\n",
            fmt(s.argon2_ms_per_hash, 1),
            fmt(s.argon2_hashes_per_s, 0),
            self.cores,
        ));
        out
    }

    /// The JSON form.
    pub fn json(&self) -> Value {
        let s = &self.server;
        json!({
            "cores": self.cores,
            "settings": self.settings,
            "scenarios": self.rows.iter().map(Row::json).collect::<Vec<_>>(),
            "server": {
                "startup_ms": (s.startup_ms * 10.0).round() / 10.0,
                "first_start_ms": (s.first_start_ms * 10.0).round() / 10.0,
                "idle_rss_kib": s.idle_rss_kib,
                "argon2_ms_per_hash": (s.argon2_ms_per_hash * 10.0).round() / 10.0,
                "argon2_hashes_per_s": s.argon2_hashes_per_s.round(),
                "peak_rss_kib": s.peak_rss_kib,
                "rss_after_load_kib": s.rss_after_kib,
            },
        })
    }
}
