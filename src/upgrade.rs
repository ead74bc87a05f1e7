//! Upgrades that never let an older node silently ignore a newer security setting (issue 15,
//! docs/upgrades.md "Settings new in a release").
//!
//! During a rolling upgrade on PostgreSQL, nodes of the previous release keep serving beside
//! the new one. They do not know the settings the new release adds: an organisation or a
//! client could be told "two factors from now on", and an old node would go on issuing
//! one-factor codes. The sequencing rule:
//!
//! 1. A setting a release adds is switched on only once the installation's upgrade to that
//!    release is **finished** ([`require_finished`], checked by the use-cases that change the
//!    setting; refused with instructions before).
//! 2. The upgrade is finished by the operator with `nyckel upgrade finish` once every node
//!    runs the new release; it refuses while a node older than this binary has been seen in
//!    the last [`LIVE_WINDOW`] seconds ([`finish`]). On SQLite (one process on one host) and
//!    on a database this version created, there is no older node: the upgrade is finished at
//!    start ([`after_migrating`]).
//! 3. A node older than the finished version stops serving ([`heartbeat`] marks it
//!    outdated; requests get 503 and `/readyz` fails), so a forgotten old node cannot act on
//!    settings it does not know.
//!
//! Every node records its version every [`HEARTBEAT`] (`node_versions`). Nodes of releases
//! from before this mechanism (0.2.0 and older) record nothing: finishing an upgrade from
//! one of them relies on the operator having replaced them, which `nyckel upgrade status`
//! and docs/upgrades.md say.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::clock::UnixTime;
use crate::store::{self, Backend, Db};

/// This binary's version.
pub const CURRENT: &str = env!("CARGO_PKG_VERSION");

/// How often a node records its version.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Seconds within which a node counts as live (four heartbeats).
pub const LIVE_WINDOW: i64 = 60;

/// Heartbeats older than this many seconds are forgotten.
const FORGET_AFTER: i64 = 7 * 86400;

/// A setting that a release added, switched on only once the upgrade to it is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// The setting, as the refusal names it.
    pub setting: &'static str,
    /// The release that added it.
    pub since: &'static str,
}

/// `require_two_factors` on a client (every login through it has two factors).
pub const CLIENT_TWO_FACTORS: Gate = Gate {
    setting: "a client's require_two_factors",
    since: "0.3.0",
};

/// `backchannel_logout_uri` on a client: logout tokens are queued for it, which a node of
/// an earlier release cannot deliver.
pub const CLIENT_BACKCHANNEL_LOGOUT: Gate = Gate {
    setting: "a client's backchannel_logout_uri",
    since: "0.4.0",
};

/// `frontchannel_logout_uri` on a client: the logged-out page loads it, which a node of an
/// earlier release would not do.
pub const CLIENT_FRONTCHANNEL_LOGOUT: Gate = Gate {
    setting: "a client's frontchannel_logout_uri",
    since: "0.5.0",
};

/// A webhook endpoint (issue 18): messages are queued for it in the outbox, which a node of
/// an earlier release cannot deliver (it would spend their attempts).
pub const WEBHOOKS: Gate = Gate {
    setting: "a webhook endpoint",
    since: "0.6.0",
};

/// An organisation's SCIM endpoint (issue 18): its records are linked to people when they
/// accept an invitation, which a node of an earlier release would not do.
pub const SCIM: Gate = Gate {
    setting: "the SCIM endpoint",
    since: "0.6.0",
};

/// Every gate, newest last; a release that adds a setting adds its gate here.
pub const GATES: &[Gate] = &[
    CLIENT_TWO_FACTORS,
    CLIENT_BACKCHANNEL_LOGOUT,
    CLIENT_FRONTCHANNEL_LOGOUT,
    WEBHOOKS,
    SCIM,
];

/// A release number `major.minor.patch` (a pre-release suffix is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    /// Parses `1.2.3` (or `1.2.3-dev`).
    pub fn parse(s: &str) -> Option<Version> {
        let core = s.trim().split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let v = Version(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(v)
    }

    /// This binary's version.
    pub fn current() -> Version {
        Version::parse(CURRENT).unwrap_or(Version(0, 0, 0))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// Why an upgrade step was refused.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// A setting is gated and the upgrade to its release is not finished.
    #[error(
        "{} can be switched on once the upgrade to nyckel {} is finished (the installation's upgrade is finished to {}): replace every node with {} or newer, then run `nyckel upgrade finish` (docs/upgrades.md)",
        gate.setting, gate.since, finished.map_or_else(|| "a version before 0.3.0".to_string(), |v| v.to_string()), gate.since
    )]
    Unfinished {
        gate: Gate,
        finished: Option<Version>,
    },
    /// Finishing refused: older nodes are live.
    #[error(
        "nodes older than this binary (nyckel {CURRENT}) were seen in the last {LIVE_WINDOW} s: {}; replace them, then run `nyckel upgrade finish` again",
        nodes.iter().map(|n| format!("{} ({})", n.node, n.version)).collect::<Vec<_>>().join(", ")
    )]
    OlderNodesLive { nodes: Vec<store::cluster::NodeRow> },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The version the installation's last upgrade was finished to.
pub async fn finished(db: &Db) -> Result<Option<Version>, sqlx::Error> {
    Ok(store::cluster::finished_version(db)
        .await?
        .as_deref()
        .and_then(Version::parse))
}

/// Refuses to switch on the setting of `gate` until the upgrade to its release is finished.
pub async fn require_finished(db: &Db, gate: Gate) -> Result<(), UpgradeError> {
    let finished = finished(db).await?;
    let since = Version::parse(gate.since).unwrap_or(Version(u64::MAX, 0, 0));
    if finished.is_some_and(|f| f >= since) {
        return Ok(());
    }
    Err(UpgradeError::Unfinished { gate, finished })
}

/// Records the upgrade to this binary's version as finished (never lowering it), unless a
/// node older than this binary was seen in the last [`LIVE_WINDOW`] seconds.
pub async fn finish(db: &Db, now: UnixTime) -> Result<Version, UpgradeError> {
    let current = Version::current();
    let older: Vec<_> = store::cluster::seen_since(db, now - LIVE_WINDOW)
        .await?
        .into_iter()
        .filter(|n| Version::parse(&n.version).is_none_or(|v| v < current))
        .collect();
    if !older.is_empty() {
        return Err(UpgradeError::OlderNodesLive { nodes: older });
    }
    raise_finished(db, current, now).await?;
    Ok(current)
}

/// Sets the finished version to `version` unless it is already as high.
async fn raise_finished(db: &Db, version: Version, now: UnixTime) -> Result<(), sqlx::Error> {
    if finished(db).await?.is_none_or(|f| f < version) {
        store::cluster::set_finished_version(db, &version.to_string(), now).await?;
    }
    Ok(())
}

/// After this binary migrated `db`: on a database it created (`fresh`), or on SQLite (one
/// process on one host, so no older node can be serving beside it), the upgrade is finished
/// at once; on PostgreSQL the operator finishes it (`nyckel upgrade finish`).
pub async fn after_migrating(db: &Db, fresh: bool, now: UnixTime) -> Result<(), sqlx::Error> {
    if fresh || db.backend() == Backend::Sqlite {
        raise_finished(db, Version::current(), now).await?;
    } else if finished(db).await?.is_none_or(|f| f < Version::current()) {
        tracing::info!(
            version = CURRENT,
            "the database was upgraded to this version; settings new in it can be switched on after `nyckel upgrade finish`, once every node runs it (docs/upgrades.md)"
        );
    }
    Ok(())
}

/// Where an installation's upgrade stands (`nyckel upgrade status`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// This binary's version.
    pub version: String,
    /// The version the last upgrade was finished to (`None`: before 0.3.0).
    pub finished: Option<String>,
    /// Nodes seen in the last [`LIVE_WINDOW`] seconds.
    pub live_nodes: Vec<store::cluster::NodeRow>,
    /// Whether `nyckel upgrade finish` would succeed now and change something.
    pub can_finish: bool,
}

/// The upgrade's status.
pub async fn status(db: &Db, now: UnixTime) -> Result<Status, sqlx::Error> {
    let current = Version::current();
    let finished = finished(db).await?;
    let live_nodes = store::cluster::seen_since(db, now - LIVE_WINDOW).await?;
    let older = live_nodes
        .iter()
        .any(|n| Version::parse(&n.version).is_none_or(|v| v < current));
    Ok(Status {
        version: CURRENT.to_string(),
        finished: finished.map(|v| v.to_string()),
        can_finish: !older && finished.is_none_or(|f| f < current),
        live_nodes,
    })
}

/// One heartbeat of this node (`node`, started at `started_at`): records its version,
/// forgets long-gone nodes, and sets `outdated` when the installation's upgrade was
/// finished to a newer version than this binary (the node then stops serving).
pub async fn heartbeat(
    db: &Db,
    node: &str,
    started_at: UnixTime,
    now: UnixTime,
    outdated: &AtomicBool,
) -> Result<(), sqlx::Error> {
    store::cluster::heartbeat(db, node, CURRENT, started_at, now).await?;
    store::cluster::forget_nodes(db, now - FORGET_AFTER).await?;
    let behind = finished(db).await?.is_some_and(|f| f > Version::current());
    if behind && !outdated.swap(true, Ordering::SeqCst) {
        tracing::error!(
            version = CURRENT,
            "the installation's upgrade was finished to a newer version than this node runs: it stops serving (503) until it is replaced with the newest nyckel release"
        );
    } else if !behind {
        outdated.store(false, Ordering::SeqCst);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(Version::parse("0.3.0"), Some(Version(0, 3, 0)));
        assert_eq!(Version::parse("1.2.3-dev"), Some(Version(1, 2, 3)));
        assert_eq!(Version::parse("1.2"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
        assert_eq!(Version::parse("x.2.3"), None);
        assert!(Version(0, 10, 0) > Version(0, 9, 9));
        assert!(Version::current() >= Version(0, 3, 0), "{CURRENT}");
        for gate in GATES {
            let since = Version::parse(gate.since).expect("a version");
            assert!(since <= Version::current(), "{gate:?} is from the future");
        }
    }
}
