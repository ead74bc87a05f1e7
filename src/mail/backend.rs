//! Where delivered mail goes: `.eml` files in a folder (the development setup: nothing
//! leaves the machine), or an SMTP relay ([`crate::mail::smtp`]) when `mail.smtp_host` is
//! set. Chosen in [`Backend::from_config`].

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::mail::message::MailError;
use crate::mail::smtp::Smtp;

/// A delivery backend.
#[derive(Debug, Clone)]
pub enum Backend {
    /// Writes each message to `<dir>/<created_at>-<id>.eml`.
    Files { dir: PathBuf },
    /// Sends each message through the configured relay.
    Smtp(Box<Smtp>),
}

/// A failed delivery. The text is stored in `outbox.last_error` and logged: it names the
/// backend's problem, never the message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DeliveryError(pub String);

/// The folder of the file backend: `mail.outbox_dir`, else `<data_dir>/outbox`.
pub fn outbox_dir(config: &Config) -> PathBuf {
    config
        .mail
        .outbox_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("outbox"))
}

impl Backend {
    /// The backend the configuration asks for.
    pub fn from_config(config: &Config) -> Result<Self, MailError> {
        Ok(match Smtp::from_config(config)? {
            Some(smtp) => Backend::Smtp(Box::new(smtp)),
            None => Backend::Files {
                dir: outbox_dir(config),
            },
        })
    }

    /// Whether mail really leaves the machine (false: development setup).
    pub fn sends(&self) -> bool {
        match self {
            Backend::Files { .. } => false,
            Backend::Smtp(_) => true,
        }
    }

    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Backend::Files { dir } => format!("files in {}", dir.display()),
            Backend::Smtp(smtp) => smtp.describe(),
        }
    }

    /// Delivers one rendered message from `from` to `to` (bare addresses). For files,
    /// delivering the same `id` again replaces the earlier copy (a retry after a lost
    /// acknowledgement never makes a duplicate).
    pub async fn deliver(
        &self,
        id: &str,
        created_at: i64,
        (from, to): (&str, &str),
        document: Vec<u8>,
    ) -> Result<(), DeliveryError> {
        match self {
            Backend::Smtp(smtp) => smtp.deliver(from, to, &document).await,
            Backend::Files { dir } => {
                let dir = dir.clone();
                let name = format!("{created_at}-{id}.eml");
                tokio::task::spawn_blocking(move || write_file(&dir, &name, &document))
                    .await
                    .map_err(|e| DeliveryError(format!("delivery task failed: {e}")))?
            }
        }
    }
}

/// Writes `name` in `dir` atomically (temporary file, fsync, rename), creating the folder
/// (owner-only) when needed.
pub(crate) fn write_file(dir: &Path, name: &str, document: &[u8]) -> Result<(), DeliveryError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let fail =
        |what: &str, e: std::io::Error| DeliveryError(format!("{what} in {}: {e}", dir.display()));
    crate::keys::master::create_private_dir(dir)
        .map_err(|e| fail("cannot create the folder", e))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| fail("cannot write a message file", e))?;
    file.write_all(document)
        .and_then(|()| file.sync_all())
        .map_err(|e| fail("cannot write a message file", e))?;
    std::fs::rename(&tmp, dir.join(name)).map_err(|e| fail("cannot rename a message file", e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
