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
        "s3" => Err(DestinationError::Io(format!(
            "destination {}: kind \"s3\" is not yet supported by this build",
            d.name
        ))),
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
) -> Result<Vec<Result<Box<dyn Destination>, (String, DestinationError)>>, String> {
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
