//! `[backup]`: who can read backups (age recipients, public keys only), whose signatures are
//! trusted besides the master key's, and where copies go (`[[backup.destinations]]`). The
//! private identity never appears here: it stays offline with the operator and is given to
//! `nyckel backup verify|restore --identity FILE`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[backup]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// age X25519 recipients (`age1...`); every backup is readable by each of them.
    pub recipients: Vec<String>,
    /// Backup-signing public keys (`ed25519:...`) whose backups `verify`, `restore`, `list`
    /// and retention accept besides those derived from the master key file: keys of master
    /// keys that were forgotten, or for a machine without the master key (`backup::sign`).
    pub trusted_signing_keys: Vec<String>,
    /// Where copies are written; each is written and read back independently.
    pub destinations: Vec<DestinationConfig>,
    /// The node name recorded in the manifest (default: the host name).
    pub node: Option<String>,
    /// Where a run keeps its encrypted parts and a verify its scratch database (default:
    /// `<data_dir>/backup-scratch`; see `backup::scratch`). A verify's database is plaintext
    /// while it lasts.
    pub scratch_dir: Option<PathBuf>,
    /// Retention (GFS) for every destination, unless it overrides: the newest backup of each
    /// of the N most recent days (default 7), ISO weeks (5), months (12) and years
    /// (`"forever"`, the default, or a number) that have backups.
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<KeepYearly>,
    /// The nightly run's local time, `"HH:MM"` (default `"02:30"`), in `timezone`.
    pub schedule: Option<String>,
    /// An IANA time zone name such as `"Europe/Stockholm"` (default: the system's zone, else
    /// UTC); also the zone whose calendar days, weeks, months and years retention counts.
    pub timezone: Option<String>,
}

/// One `[[backup.destinations]]` entry. Its `Debug` leaves out the S3 secret.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DestinationConfig {
    /// A short unique name for logs, metrics and `--destination`.
    pub name: String,
    /// `dir` (a local or mounted directory) or `s3` (S3-compatible object storage).
    pub kind: String,
    /// `dir`: the directory (created when missing).
    pub path: Option<PathBuf>,
    /// `s3`: e.g. `https://s3.eu-north-1.amazonaws.com` or `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    /// `s3`: a key prefix such as `nyckel/` (default: none).
    pub prefix: Option<String>,
    pub access_key_id: Option<String>,
    /// `s3`: a secret; prefer `secret_access_key_file`.
    pub secret_access_key: Option<String>,
    /// `s3`: a file holding the secret access key (read when the destination is opened).
    pub secret_access_key_file: Option<PathBuf>,
    /// `s3`: path-style addressing (`endpoint/bucket/key`), for MinIO and similar.
    pub path_style: bool,
    /// `s3`: the longest one request may take, seconds (default 300).
    pub timeout: Option<u64>,
    /// Retention overrides for this destination (default: the `[backup]` values).
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<KeepYearly>,
}

crate::redact::debug_showing!(DestinationConfig {
    name, kind, path, endpoint, region, bucket, prefix, access_key_id, secret_access_key_file,
    path_style,
} redacted { secret_access_key });

impl BackupConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        for r in &self.recipients {
            if crate::backup::crypt::parse_recipient(r).is_err() {
                return bad(format!(
                    "backup.recipients: {r:?} is not an age X25519 recipient (age1...)"
                ));
            }
        }
        for k in &self.trusted_signing_keys {
            if let Err(e) = crate::backup::sign::PublicKey::parse(k) {
                return bad(format!("backup.trusted_signing_keys: {e}"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for d in &self.destinations {
            if d.name.is_empty()
                || !d
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return bad(format!(
                    "backup.destinations: name {:?} must be letters, digits, - or _",
                    d.name
                ));
            }
            if !names.insert(d.name.as_str()) {
                return bad(format!(
                    "backup.destinations: the name {:?} is used twice",
                    d.name
                ));
            }
            match d.kind.as_str() {
                "dir" if d.path.is_none() => {
                    return bad(format!(
                        "backup.destinations {:?}: kind \"dir\" needs path",
                        d.name
                    ));
                }
                "dir" => {}
                "s3" => {
                    for (key, v) in [
                        ("endpoint", &d.endpoint),
                        ("bucket", &d.bucket),
                        ("access_key_id", &d.access_key_id),
                    ] {
                        if v.as_deref().unwrap_or_default().is_empty() {
                            return bad(format!(
                                "backup.destinations {:?}: kind \"s3\" needs {key}",
                                d.name
                            ));
                        }
                    }
                    if d.secret_access_key.is_none() == d.secret_access_key_file.is_none() {
                        return bad(format!(
                            "backup.destinations {:?}: give exactly one of secret_access_key and secret_access_key_file",
                            d.name
                        ));
                    }
                }
                other => {
                    return bad(format!(
                        "backup.destinations {:?}: kind {other:?} is not \"dir\" or \"s3\"",
                        d.name
                    ));
                }
            }
        }
        self.validate_schedule()?;
        Ok(())
    }

    /// The node name for manifests: configured, else the host name, else `nyckel`.
    pub fn node_name(&self) -> String {
        if let Some(n) = &self.node {
            return n.clone();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|s| s.trim().to_string())
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "nyckel".into())
    }
}

/// `keep_yearly`: `"forever"` or a number of years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "YearlyRepr", into = "YearlyRepr")]
pub enum KeepYearly {
    Forever,
    Count(u32),
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum YearlyRepr {
    Count(u32),
    Word(String),
}

impl TryFrom<YearlyRepr> for KeepYearly {
    type Error = String;
    fn try_from(r: YearlyRepr) -> Result<Self, String> {
        match r {
            YearlyRepr::Count(n) => Ok(KeepYearly::Count(n)),
            YearlyRepr::Word(w) if w == "forever" => Ok(KeepYearly::Forever),
            // An environment value is text: `NYCKEL_BACKUP__KEEP_YEARLY=3`.
            YearlyRepr::Word(w) => w
                .parse()
                .map(KeepYearly::Count)
                .map_err(|_| format!("keep_yearly: {w:?} is not \"forever\" or a number of years")),
        }
    }
}

impl From<KeepYearly> for YearlyRepr {
    fn from(k: KeepYearly) -> Self {
        match k {
            KeepYearly::Forever => YearlyRepr::Word("forever".into()),
            KeepYearly::Count(n) => YearlyRepr::Count(n),
        }
    }
}

/// The default nightly time.
pub const DEFAULT_SCHEDULE: &str = "02:30";

/// The most backups one retention rule may keep (a typo such as 70000 is refused).
const MAX_KEEP: u32 = 10_000;

impl BackupConfig {
    /// The retention policy of destination `name` (its overrides, else `[backup]`, else the
    /// defaults 7 / 5 / 12 / forever).
    pub fn policy_for(&self, name: &str) -> crate::backup::retention::Policy {
        let d = self.destinations.iter().find(|d| d.name == name);
        let pick =
            |own: Option<u32>, global: Option<u32>, default: u32| own.or(global).unwrap_or(default);
        let yearly = d
            .and_then(|d| d.keep_yearly)
            .or(self.keep_yearly)
            .unwrap_or(KeepYearly::Forever);
        crate::backup::retention::Policy {
            daily: pick(d.and_then(|d| d.keep_daily), self.keep_daily, 7),
            weekly: pick(d.and_then(|d| d.keep_weekly), self.keep_weekly, 5),
            monthly: pick(d.and_then(|d| d.keep_monthly), self.keep_monthly, 12),
            yearly: match yearly {
                KeepYearly::Forever => None,
                KeepYearly::Count(n) => Some(n),
            },
        }
    }

    /// The nightly time as (hour, minute).
    pub fn schedule_time(&self) -> Result<(i8, i8), String> {
        let s = self.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE);
        let bad =
            || format!("backup.schedule: {s:?} is not a local time \"HH:MM\" (00:00 to 23:59)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: i8 = h.parse().map_err(|_| bad())?;
        let m: i8 = m.parse().map_err(|_| bad())?;
        if !(0..24).contains(&h) || !(0..60).contains(&m) {
            return Err(bad());
        }
        Ok((h, m))
    }

    /// The schedule's time zone: `timezone`, else the system's, else UTC.
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, String> {
        match self.timezone.as_deref() {
            Some(name) => jiff::tz::TimeZone::get(name).map_err(|e| {
                format!(
                    "backup.timezone: {name:?} is not a time zone in the system's time zone database (an IANA name such as \"Europe/Stockholm\", or \"UTC\"): {e}"
                )
            }),
            None => Ok(jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC)),
        }
    }

    fn validate_schedule(&self) -> Result<(), ConfigError> {
        self.schedule_time().map_err(ConfigError::Invalid)?;
        self.time_zone().map_err(ConfigError::Invalid)?;
        let check = |whose: &str, key: &str, v: Option<u32>| match v {
            Some(n) if n > MAX_KEEP => Err(ConfigError::Invalid(format!(
                "{whose}.{key}: {n} is more than {MAX_KEEP}"
            ))),
            _ => Ok(()),
        };
        let yearly = |k: Option<KeepYearly>| match k {
            Some(KeepYearly::Count(n)) => Some(n),
            _ => None,
        };
        check("backup", "keep_daily", self.keep_daily)?;
        check("backup", "keep_weekly", self.keep_weekly)?;
        check("backup", "keep_monthly", self.keep_monthly)?;
        check("backup", "keep_yearly", yearly(self.keep_yearly))?;
        for d in &self.destinations {
            let whose = format!("backup.destinations {:?}", d.name);
            check(&whose, "keep_daily", d.keep_daily)?;
            check(&whose, "keep_weekly", d.keep_weekly)?;
            check(&whose, "keep_monthly", d.keep_monthly)?;
            check(&whose, "keep_yearly", yearly(d.keep_yearly))?;
            if d.timeout == Some(0) {
                return Err(ConfigError::Invalid(format!(
                    "{whose}: timeout must be at least 1 second"
                )));
            }
        }
        // Keeping nothing at all would delete every backup but pinned and verified ones.
        for d in &self.destinations {
            let p = self.policy_for(&d.name);
            if p.daily == 0 && p.weekly == 0 && p.monthly == 0 && p.yearly == Some(0) {
                return Err(ConfigError::Invalid(format!(
                    "backup.destinations {:?}: keep_daily, keep_weekly, keep_monthly and keep_yearly are all 0, which would delete every backup; keep at least one",
                    d.name
                )));
            }
        }
        Ok(())
    }
}
