//! Login throttling (SECURITY.md 6.3.1, NIST N10, §7 defaults): the keys under which failures
//! are counted, the delay ladders, and the decision whether an attempt may check a password.
//!
//! Why hand-written: rate-limiting crates (governor, tower_governor) count in one process's
//! memory by a key they see in the request; login throttling must count per account and per
//! IP prefix across every node (in the database), survive restarts, and answer the same
//! whether or not the account exists, which no such crate models.
//!
//! Two counters per attempt live in the database (`store::throttle`, shared by every node):
//! - the account key `acct:<sha256 of the normalised email>`, formed the same way whether or
//!   not the account exists, so throttling reveals nothing about which emails are registered;
//! - the IP key `ip:<address>` (IPv6: the /64 prefix, which one subscriber usually holds).
//!
//! Per account the delay grows with consecutive failures (a Kanidm-like curve) and stops
//! completely at `account_hard_stop` failures for `hard_stop_window` seconds after the last
//! one; never a permanent lock. Per IP a number of failures is free, then a delay applies.
//! The decision is a pure function of the two counters, the configuration and the time.
//!
//! Attempts are counted before the password is checked (and given back on success), so that
//! concurrent attempts cannot all slip past a counter read before any of them failed:
//! [`raced`] tells from the count returned by the increment whether others came in between.

use std::net::IpAddr;

use crate::clock::UnixTime;
use crate::config::ThrottleConfig;
use crate::crypto::sha256_b64;
use crate::store::throttle::Counter;
use crate::store::users::normalize_email;

/// From this many IP failures on, the IP delay is [`IP_LONG_DELAY`].
pub const IP_LONG_AFTER: i64 = 50;
/// The IP delay once past the free failures.
pub const IP_SHORT_DELAY: i64 = 60;
/// The IP delay from [`IP_LONG_AFTER`] failures on.
pub const IP_LONG_DELAY: i64 = 600;

/// The counter key of an account, from the email as typed (normalised first). Unknown and
/// known emails give keys of the same form.
pub fn account_key(email: &str) -> String {
    format!("acct:{}", sha256_b64(&normalize_email(email)))
}

/// The counter key of a client address. IPv4 (and IPv4-mapped IPv6) addresses count alone;
/// other IPv6 addresses count per /64, since one subscriber commonly holds a whole /64.
pub fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("ip:{prefix}/64")
        }
    }
}

/// Seconds an account must wait after its last failure, given its consecutive failures
/// (the hard stop is separate, see [`decide`]).
pub fn account_delay(failures: i64) -> i64 {
    match failures {
        i64::MIN..=4 => 0,
        5..=9 => 5,
        10..=24 => 15,
        _ => 60,
    }
}

/// Seconds an IP address must wait after its last failure: nothing up to `free` failures,
/// then [`IP_SHORT_DELAY`], and [`IP_LONG_DELAY`] from [`IP_LONG_AFTER`] failures on.
pub fn ip_delay(failures: i64, free: i64) -> i64 {
    if failures <= free {
        0
    } else if failures < IP_LONG_AFTER {
        IP_SHORT_DELAY
    } else {
        IP_LONG_DELAY
    }
}

/// Whether an attempt may check a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Do not check the password; the earliest useful retry is `retry_after` seconds away.
    Throttled { retry_after: i64 },
}

/// Decides from the account and IP counters whether an attempt at `now` may go ahead.
pub fn decide(account: Counter, ip: Counter, config: &ThrottleConfig, now: UnixTime) -> Decision {
    let mut until: Option<UnixTime> = None;
    let mut wait_until = |t: UnixTime| {
        if t > now {
            until = Some(until.map_or(t, |u: UnixTime| u.max(t)));
        }
    };
    if account.failures > 0 {
        if account.failures >= config.account_hard_stop {
            wait_until(account.last_failure_at + config.hard_stop_window);
        }
        wait_until(account.last_failure_at + account_delay(account.failures));
    }
    if ip.failures > 0 {
        wait_until(ip.last_failure_at + ip_delay(ip.failures, config.ip_free_failures));
    }
    match until {
        Some(t) => Decision::Throttled {
            retry_after: t - now,
        },
        None => Decision::Allow,
    }
}

/// After counting an attempt in advance: whether other attempts were counted between reading
/// the counters (`read` failures) and this increment (which returned `counted`) and they put
/// the key into a delay or the hard stop. Such an attempt waits like a throttled one.
pub fn raced(read: i64, counted: i64, delay: impl Fn(i64) -> i64, hard_stop: Option<i64>) -> bool {
    if counted <= read + 1 {
        return false;
    }
    let before = counted - 1;
    hard_stop.is_some_and(|h| before >= h) || delay(before) > 0
}

/// [`raced`] for an account counter.
pub fn account_raced(read: i64, counted: i64, config: &ThrottleConfig) -> bool {
    raced(read, counted, account_delay, Some(config.account_hard_stop))
}

/// [`raced`] for an IP counter.
pub fn ip_raced(read: i64, counted: i64, config: &ThrottleConfig) -> bool {
    raced(
        read,
        counted,
        |n| ip_delay(n, config.ip_free_failures),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(failures: i64, last_failure_at: UnixTime) -> Counter {
        Counter {
            failures,
            last_failure_at,
        }
    }

    #[test]
    fn account_ladder() {
        assert_eq!(account_delay(0), 0);
        for n in 1..=4 {
            assert_eq!(account_delay(n), 0, "{n}");
        }
        for n in 5..=9 {
            assert_eq!(account_delay(n), 5, "{n}");
        }
        for n in 10..=24 {
            assert_eq!(account_delay(n), 15, "{n}");
        }
        for n in 25..=99 {
            assert_eq!(account_delay(n), 60, "{n}");
        }
    }

    #[test]
    fn ip_ladder() {
        assert_eq!(ip_delay(0, 20), 0);
        assert_eq!(ip_delay(20, 20), 0);
        assert_eq!(ip_delay(21, 20), 60);
        assert_eq!(ip_delay(49, 20), 60);
        assert_eq!(ip_delay(50, 20), 600);
        assert_eq!(ip_delay(5000, 20), 600);
        // A generous free allowance above the long threshold goes straight to the long delay.
        assert_eq!(ip_delay(70, 70), 0);
        assert_eq!(ip_delay(71, 70), 600);
    }

    #[test]
    fn no_failures_allows() {
        let c = ThrottleConfig::default();
        assert_eq!(
            decide(Counter::default(), Counter::default(), &c, 1000),
            Decision::Allow
        );
    }

    #[test]
    fn progressive_account_delay() {
        let c = ThrottleConfig::default();
        let none = Counter::default();
        assert_eq!(decide(counter(4, 1000), none, &c, 1000), Decision::Allow);
        assert_eq!(
            decide(counter(5, 1000), none, &c, 1001),
            Decision::Throttled { retry_after: 4 }
        );
        assert_eq!(decide(counter(5, 1000), none, &c, 1005), Decision::Allow);
        assert_eq!(
            decide(counter(30, 1000), none, &c, 1059),
            Decision::Throttled { retry_after: 1 }
        );
        assert_eq!(decide(counter(99, 1000), none, &c, 1060), Decision::Allow);
    }

    #[test]
    fn hard_stop_is_time_boxed() {
        let c = ThrottleConfig::default();
        let none = Counter::default();
        let last = 10_000;
        assert_eq!(
            decide(counter(100, last), none, &c, last + 3600),
            Decision::Throttled {
                retry_after: c.hard_stop_window - 3600
            }
        );
        assert!(matches!(
            decide(counter(250, last), none, &c, last + c.hard_stop_window - 1),
            Decision::Throttled { .. }
        ));
        assert_eq!(
            decide(counter(100, last), none, &c, last + c.hard_stop_window),
            Decision::Allow
        );
    }

    #[test]
    fn ip_delay_applies_whatever_the_account() {
        let c = ThrottleConfig::default();
        let none = Counter::default();
        assert_eq!(decide(none, counter(20, 1000), &c, 1000), Decision::Allow);
        assert_eq!(
            decide(none, counter(21, 1000), &c, 1010),
            Decision::Throttled { retry_after: 50 }
        );
        assert_eq!(
            decide(none, counter(50, 1000), &c, 1100),
            Decision::Throttled { retry_after: 500 }
        );
        assert_eq!(decide(none, counter(50, 1000), &c, 1600), Decision::Allow);
    }

    #[test]
    fn the_longer_wait_wins() {
        let c = ThrottleConfig::default();
        assert_eq!(
            decide(counter(5, 1000), counter(30, 1000), &c, 1001),
            Decision::Throttled { retry_after: 59 }
        );
    }

    #[test]
    fn concurrent_attempts_are_caught() {
        let c = ThrottleConfig::default();
        // Alone: the count went up by exactly one.
        assert!(!account_raced(99, 100, &c));
        assert!(!account_raced(4, 5, &c));
        // A counter that had expired starts again at one.
        assert!(!account_raced(150, 1, &c));
        // Others came in, but no delay applies yet.
        assert!(!account_raced(0, 3, &c));
        // Others came in and the account is now delayed or stopped.
        assert!(account_raced(4, 6, &c));
        assert!(account_raced(99, 101, &c));
        assert!(account_raced(95, 120, &c));
        assert!(!ip_raced(0, 20, &c));
        assert!(ip_raced(19, 22, &c));
    }

    #[test]
    fn keys() {
        assert_eq!(
            account_key(" Anna@Example.org "),
            account_key("anna@example.org")
        );
        assert!(account_key("x@example.org").starts_with("acct:"));
        assert!(!account_key("x@example.org").contains("example"));
        assert_eq!(ip_key("192.0.2.7".parse().expect("ip")), "ip:192.0.2.7");
        assert_eq!(
            ip_key("::ffff:192.0.2.7".parse().expect("ip")),
            "ip:192.0.2.7"
        );
        assert_eq!(
            ip_key("2001:db8:1:2:3:4:5:6".parse().expect("ip")),
            ip_key("2001:db8:1:2:ffff::1".parse().expect("ip"))
        );
        assert_eq!(
            ip_key("2001:db8:1:2:3:4:5:6".parse().expect("ip")),
            "ip:2001:db8:1:2::/64"
        );
    }
}
