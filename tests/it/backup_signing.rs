//! Backup signatures (issue 15, defect 1): a backup whose signature is missing, tampered with
//! or made by a key this installation does not trust is refused before anything else is read;
//! a backup written before signing existed (format 1) is read only with `--allow-unsigned`; and
//! after the master key (and with it the backup-signing key) rotates, older backups still
//! verify and restore: while the old master key is in the file, and after it is forgotten,
//! with its public key given or configured.

use std::path::Path;

use crate::backup::{Site, connect};

fn verify(site: &Site, url: &str, id: &str, extra: &[&str]) -> (bool, String) {
    let (ok, out, err) = site.verify_with(url, id, extra);
    (ok, format!("{out}\n{err}"))
}

fn restore(site: &Site, id: &str, target: &str, extra: &[&str]) -> (bool, String) {
    let (ok, out, err) = site.restore_with(id, target, extra);
    (ok, format!("{out}\n{err}"))
}

/// Turns backup `id` in `folder` into what a release before signing wrote (format 1): no
/// signature, format 1 in the index and the (re-encrypted) manifest, no tombstone signatures.
fn make_format_1(site: &Site, root: &Path, id: &str) {
    let folder = root.join("backups").join(id);
    let identities = nyckel::backup::crypt::read_identities(&site.identity).expect("identity");
    let manifest_path = folder.join("manifest.json.age");
    let plain = nyckel::backup::crypt::decrypt(
        &identities,
        &std::fs::read(&manifest_path).expect("manifest"),
        "manifest",
    )
    .expect("decrypt");
    let mut manifest: serde_json::Value = serde_json::from_slice(&plain).expect("json");
    manifest["format"] = 1.into();
    let sealed = nyckel::backup::crypt::encrypt(
        &[identities[0].to_public()],
        &serde_json::to_vec(&manifest).expect("json"),
    )
    .expect("encrypt");
    std::fs::write(&manifest_path, &sealed).expect("write");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("index.json")).expect("index"))
            .expect("json");
    index["format"] = 1.into();
    for o in index["objects"].as_array_mut().expect("objects") {
        if o["name"] == "manifest.json.age" {
            o["bytes"] = sealed.len().into();
            o["sha256"] = nyckel::backup::format::sha256_hex(&sealed).into();
        }
    }
    std::fs::write(
        folder.join("index.json"),
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("write");
    std::fs::remove_file(folder.join("signature.json")).expect("signature");
    for e in std::fs::read_dir(root.join("tombstones")).expect("tombstones") {
        let path = e.expect("entry").path();
        if path.extension().is_some_and(|x| x == "sig") {
            std::fs::remove_file(path).expect("remove");
        }
    }
}

#[tokio::test]
async fn unsigned_and_tampered_backups_are_refused_and_format_1_needs_allow_unsigned() {
    let (install, site) = Site::installed().await;
    let (d, url) = (install.path(), install.url());
    let id = site.run(url);

    // At b: the signature removed. Refused, with or without --allow-unsigned (a backup of
    // this format is always signed).
    let b = d.join("site-b").join("backups").join(&id);
    let signature = std::fs::read(b.join("signature.json")).expect("signature");
    std::fs::remove_file(b.join("signature.json")).expect("remove");
    for extra in [&[][..], &["--allow-unsigned"][..]] {
        let mut args = vec!["--destination", "b"];
        args.extend_from_slice(extra);
        let (ok, text) = verify(&site, url, &id, &args);
        assert!(!ok && text.contains("not signed"), "{text}");
    }
    // A signature that does not verify.
    let mut envelope: serde_json::Value = serde_json::from_slice(&signature).expect("json");
    envelope["signature"] = nyckel::crypto::b64(&[7u8; 64]).into();
    std::fs::write(
        b.join("signature.json"),
        serde_json::to_vec(&envelope).expect("json"),
    )
    .expect("write");
    let (ok, text) = verify(&site, url, &id, &["--destination", "b"]);
    assert!(!ok && text.contains("does not verify"), "{text}");
    let target = site.empty_target().await;
    let (ok, text) = restore(&site, &id, &target.url, &["--destination", "b"]);
    assert!(!ok && text.contains("does not verify"), "{text}");

    // At a: what a release before signing wrote.
    make_format_1(&site, &d.join("site-a"), &id);
    let (ok, text) = verify(&site, url, &id, &["--destination", "a"]);
    assert!(
        !ok && text.contains("not signed") && text.contains("--allow-unsigned"),
        "{text}"
    );
    let target = site.empty_target().await;
    let (ok, text) = restore(&site, &id, &target.url, &[]);
    assert!(!ok && text.contains("not signed"), "{text}");
    let (ok, text) = verify(&site, url, &id, &["--destination", "a", "--allow-unsigned"]);
    assert!(ok, "{text}");
    let (ok, text) = restore(&site, &id, &target.url, &["--allow-unsigned"]);
    assert!(ok, "{text}");
    let restored = connect(&target.url).await;
    let (keys,): (i64,) = sqlx::query_as("select count(*) from signing_keys")
        .fetch_one(restored.pool())
        .await
        .expect("keys");
    assert!(keys > 0);
    restored.close().await;
}

#[tokio::test]
async fn older_backups_verify_and_restore_after_the_signing_key_rotates() {
    let (install, site) = Site::installed().await;
    let url = install.url();
    let signing_key = || install.json(&["backup", "signing-key"]);
    let first = site.run(url);
    let k1 = signing_key()["signing_key"]["public_key"]
        .as_str()
        .expect("key")
        .to_string();
    assert!(k1.starts_with("ed25519:"), "{k1}");

    // Rotating the master key rotates the backup-signing key.
    let rotated = install.json(&["keys", "rotate-master"]);
    assert!(rotated["message"].as_str().expect("message").contains(&k1));
    let second = site.run(url);
    let keys = signing_key();
    let k2 = keys["signing_key"]["public_key"].as_str().expect("key");
    assert_ne!(k1, k2);
    assert!(
        keys["trusted"].to_string().contains(&k1),
        "the retired master key's signing key is still trusted: {keys}"
    );
    for id in [&first, &second] {
        let (ok, text) = verify(&site, url, id, &[]);
        assert!(ok, "{text}");
    }
    let target = site.empty_target().await;
    let (ok, text) = restore(&site, &first, &target.url, &[]);
    assert!(ok, "{text}");

    // The old master key forgotten: its backups verify only with its public key given.
    let forgotten = install.json(&["keys", "rotate-master", "--forget-old"]);
    assert!(
        forgotten["message"]
            .as_str()
            .expect("message")
            .contains(&k1),
        "the forgotten key's backup-signing key is printed: {forgotten}"
    );
    let (ok, text) = verify(&site, url, &first, &[]);
    assert!(!ok && text.contains("not a trusted key"), "{text}");
    let (ok, text) = verify(&site, url, &second, &[]);
    assert!(ok, "{text}");
    let (ok, text) = verify(&site, url, &first, &["--trust-key", &k1]);
    assert!(ok, "{text}");

    // ... or configured in backup.trusted_signing_keys.
    let config = site.dir.join("nyckel.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replacen(
        "[backup]\n",
        &format!("[backup]\ntrusted_signing_keys = [\"{k1}\"]\n"),
        1,
    );
    std::fs::write(&config, text).expect("config");
    let (ok, text) = verify(&site, url, &first, &[]);
    assert!(ok, "{text}");
    let target = site.empty_target().await;
    let (ok, text) = restore(&site, &first, &target.url, &[]);
    assert!(ok, "{text}");
    let keys = signing_key();
    assert!(
        keys["trusted"]
            .to_string()
            .contains("backup.trusted_signing_keys"),
        "{keys}"
    );
}
