//! The previous release, for the upgrade test (tests/it/upgrade_release.rs): which release
//! it is (CHANGELOG.md, relative to this crate's version) and its binary, built from this
//! repository's history by scripts/previous-release.sh and named by
//! `NYCKEL_TEST_PREVIOUS_BIN`. Without that variable the test records a skip (helpers/skip.rs), or fails
//! when `NYCKEL_TEST_REQUIRE_PREVIOUS` is set (as in .ci/run).

use std::path::PathBuf;

/// A release recorded in CHANGELOG.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: nyckel::upgrade::Version,
    pub commit: String,
}

/// Every release CHANGELOG.md records (`## X.Y.Z ...` followed by a line
/// ``Release commit: `<40 hex digits>` ``), oldest first.
pub fn releases() -> Vec<Release> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/CHANGELOG.md"))
        .expect("CHANGELOG.md is readable");
    let mut out = Vec::new();
    let mut version = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("## ") {
            version = rest
                .split_whitespace()
                .next()
                .and_then(nyckel::upgrade::Version::parse);
            continue;
        }
        if let (Some(v), Some(rest)) = (version, line.strip_prefix("Release commit: `")) {
            let commit: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            assert_eq!(commit.len(), 40, "a full commit id for {v}: {line}");
            out.push(Release { version: v, commit });
            version = None;
        }
    }
    out.sort_by_key(|r| r.version);
    out
}

/// The newest release older than this build.
pub fn previous() -> Release {
    let current = nyckel::upgrade::Version::current();
    releases()
        .into_iter()
        .rfind(|r| r.version < current)
        .unwrap_or_else(|| panic!("CHANGELOG.md records no release before {current}"))
}

/// The previous release's binary, checked to be that release; `None` (with a recorded skip)
/// when it was not built.
pub fn previous_binary(test: &str) -> Option<PathBuf> {
    let Some(bin) = std::env::var_os("NYCKEL_TEST_PREVIOUS_BIN") else {
        assert!(
            std::env::var_os("NYCKEL_TEST_REQUIRE_PREVIOUS").is_none(),
            "{test}: NYCKEL_TEST_PREVIOUS_BIN is not set (scripts/previous-release.sh builds it)"
        );
        super::skip::skip_named(
            test,
            "the previous release is not built; run scripts/previous-release.sh and set NYCKEL_TEST_PREVIOUS_BIN to the path it prints",
        );
        return None;
    };
    let bin = PathBuf::from(bin);
    let out = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    let want = previous().version.to_string();
    assert!(
        printed.trim() == format!("nyckel {want}"),
        "{} is not nyckel {want}: {printed}",
        bin.display()
    );
    Some(bin)
}

#[test]
fn the_changelog_records_every_release_with_its_commit() {
    let all = releases();
    assert!(
        all.iter()
            .any(|r| r.version == nyckel::upgrade::Version(0, 1, 0)),
        "{all:?}"
    );
    let previous = previous();
    assert!(previous.version < nyckel::upgrade::Version::current());
}
