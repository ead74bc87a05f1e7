//! Forged backups (issue 15, defect 1): whoever can write to a destination and knows the
//! public age recipients (they are in `nyckel.toml`) can make a backup on another installation,
//! with their own superadmin and their own master key, encrypted to the victim's recipients,
//! and put it in the victim's folder. `verify` and `restore` must refuse it with a clear
//! message, leave the target untouched, and still accept the installation's own backups.

use std::path::Path;

use crate::backup::{Site, accounts_with, tables_in};
use crate::helpers::ops::Cli;

/// The `backup.recipients` line of a site's `nyckel.toml`.
fn recipients_line(site: &Site) -> String {
    std::fs::read_to_string(site.dir.join("nyckel.toml"))
        .expect("config")
        .lines()
        .find(|l| l.starts_with("recipients"))
        .expect("recipients")
        .to_string()
}

/// Another installation in `evil`: its own SQLite database, master key and superadmin,
/// configured with the victim's recipients and the victim's destination `a` as its own.
/// Returns the id of the backup it wrote there.
pub fn forge_backup(victim: &Site, evil: &Path) -> String {
    let cli = Cli::new(
        evil,
        &format!("sqlite://{}", evil.join("evil.db").display()),
    );
    // A new installation: database, master key and signing keys.
    cli.ok(&["keys", "list"]);
    for command in ["create", "superadmin"] {
        cli.ok(&["user", command, "--email", "mallory@evil.example"]);
    }
    std::fs::write(
        evil.join("nyckel.toml"),
        format!(
            "[backup]\n{}\n\n[[backup.destinations]]\nname = \"a\"\nkind = \"dir\"\npath = \"{}\"\n",
            recipients_line(victim),
            victim.dir.join("site-a").display()
        ),
    )
    .expect("config");
    // The other installation backs up.
    cli.json(&["backup", "run"])["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[tokio::test]
async fn a_backup_made_by_another_installation_is_refused_by_verify_and_restore() {
    let (install, site, own) = Site::backed_up("owner@example.org").await;
    let (d, url) = (install.path(), install.url());

    // Ids sort by their second: the forged backup is made in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let evil_dir = tempfile::tempdir().expect("dir");
    let forged = forge_backup(&site, evil_dir.path());
    assert_ne!(
        std::fs::read(d.join("keys/master.key")).expect("master key"),
        std::fs::read(evil_dir.path().join("keys/master.key")).expect("its master key"),
        "the other installation has its own master key"
    );
    assert!(forged > own, "the forged backup is the newest at a");

    // verify, by id and as the newest backup at a: refused, with a clear message.
    for args in [
        vec!["verify", forged.as_str()],
        vec!["verify"], // the newest complete backup
    ] {
        let mut args = args;
        args.extend(["--identity", site.identity(), "--destination", "a"]);
        let (ok, out, err) = site.backup(url, &args);
        assert!(
            !ok,
            "verify {args:?} must refuse the forged backup: {out}\n{err}"
        );
        assert!(
            err.contains(&forged) && err.contains("trusted"),
            "the message says which backup and that its signer is not trusted: {err}"
        );
    }

    // restore: refused, whichever destination is asked, and the target stays empty.
    for only in [&[][..], &["--destination", "a"][..]] {
        let target = site.empty_target().await;
        let (ok, out, err) = site.restore_with(&forged, &target.url, only);
        assert!(!ok, "restore must refuse the forged backup: {out}\n{err}");
        assert!(err.starts_with("nyckel: "), "one clear line: {err}");
        assert!(err.contains("trusted"), "{err}");
        assert_eq!(tables_in(&target.url).await, 0, "target untouched");
    }

    // The listing tells them apart, and retention leaves the stranger's backup alone.
    let (ok, out, err) = site.backup(url, &["list", "--destination", "a", "--json"]);
    assert!(ok, "{err}");
    let list: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let backups = list["items"][0]["backups"].as_array().expect("backups");
    let signature = |id: &str| {
        backups
            .iter()
            .find(|b| b["id"] == id)
            .map(|b| b["signature"].clone())
            .expect("listed")
    };
    assert_eq!(signature(&own), "trusted", "{list}");
    assert_eq!(signature(&forged), "untrusted", "{list}");
    let (ok, out, err) = site.backup(url, &["prune", "--dry-run", "--json"]);
    assert!(ok, "{err}");
    let pruned: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        pruned[0]["not_trusted"],
        serde_json::json!([forged]),
        "{pruned}"
    );
    assert_eq!(pruned[0]["kept"], serde_json::json!([own]), "{pruned}");

    // The installation's own backup still verifies and restores. The stranger also left a
    // tombstone list at a: it is not applied (its erasures are not ours), and the reports say
    // so.
    let (ok, out, err) = site.verify_with(url, &own, &["--destination", "a", "--json"]);
    assert!(ok, "{out}\n{err}");
    let verified: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(
        verified["items"][0]["warnings"]
            .to_string()
            .contains(&format!("tombstones/{forged}")),
        "{verified}"
    );
    let target = site.empty_target().await;
    let report = site.restored(&own, &target.url);
    assert_eq!(report["destination"], "a", "{report}");
    assert!(
        report["warnings"]
            .to_string()
            .contains(&format!("tombstones/{forged}")),
        "{report}"
    );
    assert_eq!(accounts_with(&target.url, "mallory@evil.example").await, 0);
}
