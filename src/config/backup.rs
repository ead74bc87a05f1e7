//! `[backup]`: who can read backups (age recipients, public keys only) and where copies go
//! (`[[backup.destinations]]`). The private identity never appears here: it stays offline
//! with the operator and is given to `nyckel backup verify|restore --identity FILE`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[backup]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// age X25519 recipients (`age1...`); every backup is readable by each of them.
    pub recipients: Vec<String>,
    /// Where copies are written; each is written and read back independently.
    pub destinations: Vec<DestinationConfig>,
    /// The node name recorded in the manifest (default: the host name).
    pub node: Option<String>,
    /// Where a run keeps its temporary snapshot and encrypted parts (default:
    /// `<data_dir>/backup-scratch`). It holds plaintext while a run lasts: keep it on the
    /// database's own disk.
    pub scratch_dir: Option<PathBuf>,
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
}

impl std::fmt::Debug for DestinationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "[redacted]"),
            )
            .field("secret_access_key_file", &self.secret_access_key_file)
            .field("path_style", &self.path_style)
            .finish()
    }
}

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
