//! Damaged tombstone lists (issue 15, defect 2): a restore reads every tombstone list at the
//! destination it restores from, so `verify` must check them too, and one damaged list must
//! not stop every restore: a restore without `--destination` falls back to the next
//! destination that holds a good copy and says which one it used. The next run removes the
//! damaged list (its own list holds every tombstone).

use crate::backup::{Site, accounts_with};

/// Flips one byte in the middle of `file`.
fn flip(file: &std::path::Path) {
    let mut data = std::fs::read(file).expect("read");
    let at = data.len() / 2;
    data[at] ^= 0x01;
    std::fs::write(file, data).expect("write");
}

#[tokio::test]
async fn a_damaged_tombstone_list_fails_verify_and_restore_uses_another_destination() {
    let (install, site) = Site::installed().await;
    let (d, url) = (install.path(), install.url());
    for email in ["kept@example.org", "gone@example.org"] {
        install.user(email);
    }
    let old = site.run(url);
    install.ok(&["user", "erase", "--email", "gone@example.org", "--yes"]);
    let new = site.run(url);

    // One byte of the older list at a.
    flip(
        &d.join("site-a")
            .join("tombstones")
            .join(format!("{old}.json.age")),
    );

    // verify at a fails (for either backup: a restore of either reads that list) and names it.
    for id in [&old, &new] {
        let (ok, out, err) = site.verify_at(url, id, "a");
        assert!(!ok, "verify of {id} at a must fail: {out}\n{err}");
        assert!(err.contains(&format!("tombstones/{old}")), "{err}");
    }
    // b is intact.
    let (ok, out, err) = site.verify_at(url, &new, "b");
    assert!(ok, "{out}\n{err}");

    // A restore without --destination uses b, says so, and still applies the erasure.
    // (It succeeds: it falls back to b.)
    let target = site.empty_target().await;
    let report = site.restored(&old, &target.url);
    assert_eq!(report["destination"], "b", "{report}");
    assert!(
        report["skipped"].to_string().contains("tombstones/"),
        "the report says why a was not used: {report}"
    );
    assert_eq!(report["erased_again"], 1, "{report}");
    let gone = accounts_with(&target.url, "gone@example.org").await;
    assert_eq!(gone, 0, "the erased person stays erased");

    // Asked for a explicitly: refused, naming the damaged list.
    let target = site.empty_target().await;
    let (ok, out, err) = site.restore_with(&new, &target.url, &["--destination", "a"]);
    assert!(!ok, "{out}");
    assert!(err.contains(&format!("tombstones/{old}")), "{err}");

    // The next run replaces what does not check out (its new list holds every tombstone):
    // a verifies again.
    site.run(url);
    assert!(
        !d.join("site-a")
            .join("tombstones")
            .join(format!("{old}.json.age"))
            .exists()
    );
    let (ok, out, err) = site.verify_at(url, &new, "a");
    assert!(ok, "{out}\n{err}");
}
