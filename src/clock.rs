//! Time source. Every expiry decision takes "now" from a [`Clock`] held in the application
//! state, so tests move time instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix time in whole seconds (UTC).
pub type UnixTime = i64;

/// The instant `unix` (whole seconds), clamped to jiff's range (years -9999 to 9999), which
/// no stored time leaves.
pub fn instant(unix: UnixTime) -> jiff::Timestamp {
    jiff::Timestamp::from_second(unix).unwrap_or(if unix < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    })
}

/// The UTC calendar date of `unix`.
pub fn utc_date(unix: UnixTime) -> jiff::civil::Date {
    instant(unix).to_zoned(jiff::tz::TimeZone::UTC).date()
}

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in unix seconds.
    fn now(&self) -> UnixTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that tests set and advance by hand.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A manual clock starting at the current system time.
    pub fn starting_now() -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(SystemClock.now())))
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::{instant, utc_date};

    #[test]
    fn dates_around_epochs_and_leap_days_and_the_range_ends() {
        assert_eq!(utc_date(0).to_string(), "1970-01-01");
        assert_eq!(utc_date(-1).to_string(), "1969-12-31");
        assert_eq!(utc_date(951_782_400).to_string(), "2000-02-29");
        assert_eq!(utc_date(1_735_689_600).to_string(), "2025-01-01");
        assert_eq!(instant(i64::MAX), jiff::Timestamp::MAX);
        assert_eq!(instant(i64::MIN), jiff::Timestamp::MIN);
    }
}
