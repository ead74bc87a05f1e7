//! Opens the configured `[[backup.destinations]]`.

use super::destination::{Destination, DestinationError};
use super::dir::DirDestination;
use crate::config::{BackupConfig, DestinationConfig};

/// Opens one destination.
pub fn open(d: &DestinationConfig) -> Result<Box<dyn Destination>, DestinationError> {
    match d.kind.as_str() {
        "dir" => {
            let path = d.path.as_deref().ok_or_else(|| {
                DestinationError::Io(format!("destination {}: kind \"dir\" needs path", d.name))
            })?;
            Ok(Box::new(DirDestination::new(&d.name, path)?))
        }
        "s3" => Ok(Box::new(open_s3(d)?)),
        other => Err(DestinationError::Io(format!(
            "destination {}: unknown kind {other:?}",
            d.name
        ))),
    }
}

/// Opens every configured destination, or the one named `only`. A destination that cannot be
/// opened is returned as an error next to the others, so one bad site stops none.
pub fn build(
    config: &BackupConfig,
    only: Option<&str>,
) -> Result<Vec<super::OpenDestination>, String> {
    if config.destinations.is_empty() {
        return Err(
            "no backup destinations: add [[backup.destinations]] to the configuration".into(),
        );
    }
    let chosen: Vec<&DestinationConfig> = config
        .destinations
        .iter()
        .filter(|d| only.is_none_or(|o| o == d.name))
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "no backup destination named {:?}",
            only.unwrap_or_default()
        ));
    }
    Ok(chosen
        .into_iter()
        .map(|d| open(d).map_err(|e| (d.name.clone(), e)))
        .collect())
}

/// The default of `timeout` for S3 requests, seconds.
pub const S3_TIMEOUT: u64 = 300;

/// Builds an S3 destination from its configuration; the secret is read from
/// `secret_access_key_file` now (so a rotated file is picked up by the next run).
fn open_s3(d: &DestinationConfig) -> Result<super::s3::S3Destination, DestinationError> {
    let need = |key: &str, v: &Option<String>| {
        v.clone().filter(|v| !v.is_empty()).ok_or_else(|| {
            DestinationError::Io(format!("destination {}: kind \"s3\" needs {key}", d.name))
        })
    };
    let secret = match (&d.secret_access_key, &d.secret_access_key_file) {
        (Some(s), None) => s.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| {
                DestinationError::Io(format!(
                    "destination {}: cannot read secret_access_key_file {}: {e}",
                    d.name,
                    path.display()
                ))
            })?
            .trim()
            .to_string(),
        _ => {
            return Err(DestinationError::Io(format!(
                "destination {}: give exactly one of secret_access_key and secret_access_key_file",
                d.name
            )));
        }
    };
    super::s3::S3Destination::new(super::s3::S3Settings {
        name: d.name.clone(),
        endpoint: need("endpoint", &d.endpoint)?,
        region: d
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".into()),
        bucket: need("bucket", &d.bucket)?,
        prefix: d.prefix.clone().unwrap_or_default(),
        access_key_id: need("access_key_id", &d.access_key_id)?,
        secret_access_key: secret,
        path_style: d.path_style,
        timeout: std::time::Duration::from_secs(d.timeout.unwrap_or(S3_TIMEOUT).max(1)),
    })
}
