//! `[metrics]`: the Prometheus listener, separate from the public one (plain HTTP: put it on
//! loopback or a private network).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[metrics]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Where `GET /metrics` is served, e.g. `127.0.0.1:9464`; unset: no metrics listener.
    pub listen: Option<String>,
}

impl MetricsConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(l) = &self.listen
            && l.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "metrics.listen = {l:?} is not an address such as \"127.0.0.1:9464\""
            )));
        }
        Ok(())
    }
}
