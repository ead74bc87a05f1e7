//! `[upkeep]`: how often the scheduled jobs run, and the checks that tie the signing-key
//! schedule (`[keys]`) to how often nodes reload keys.

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};

/// `[upkeep]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpkeepConfig {
    /// Seconds between runs of the cleanup of expired rows (once across all nodes).
    pub cleanup_interval: i64,
}

impl Default for UpkeepConfig {
    fn default() -> Self {
        Self {
            cleanup_interval: 600,
        }
    }
}

impl UpkeepConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.cleanup_interval < 1 {
            return Err(ConfigError::Invalid(
                "upkeep.cleanup_interval must be at least 1 (seconds)".into(),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// A pre-published key must reach every node before it signs: `keys.prepublish` at least
    /// twice `keys.reload_interval`; and a key must sign for a while before its successor is
    /// due: `keys.rotate_every` (unless 0) longer than `keys.prepublish`.
    pub(super) fn validate_key_schedule(&self) -> Result<(), ConfigError> {
        let k = &self.keys;
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if k.reload_interval < 1 {
            return bad("keys.reload_interval must be at least 1 (seconds)".into());
        }
        if k.prepublish < 2 * k.reload_interval {
            return bad(format!(
                "keys.prepublish ({}) must be at least twice keys.reload_interval ({}): every node must load a new signing key before it signs, or nodes that have not reloaded could not verify its tokens",
                k.prepublish, k.reload_interval
            ));
        }
        if k.rotate_every < 0 {
            return bad("keys.rotate_every must not be negative (0 turns the schedule off)".into());
        }
        if k.rotate_every != 0 && k.rotate_every <= k.prepublish {
            return bad(format!(
                "keys.rotate_every ({}) must be longer than keys.prepublish ({}), or 0 to turn scheduled rotation off",
                k.rotate_every, k.prepublish
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_schedule_is_checked() {
        let mut c = Config::default();
        assert!(c.validate_key_schedule().is_ok());
        c.keys.reload_interval = 60;
        c.keys.prepublish = 90;
        let err = c
            .validate_key_schedule()
            .expect_err("too short")
            .to_string();
        assert!(err.contains("keys.prepublish") && err.contains("keys.reload_interval"));
        c.keys.prepublish = 120;
        c.keys.rotate_every = 120;
        assert!(c.validate_key_schedule().is_err());
        c.keys.rotate_every = 0;
        assert!(c.validate_key_schedule().is_ok());
        c.keys.reload_interval = 0;
        assert!(c.validate_key_schedule().is_err());
    }
}
