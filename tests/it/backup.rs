//! Backups through the real binary (issue 6): a backup taken while writes continue restores
//! every row committed before it (SQLite, PostgreSQL, SQLite -> PostgreSQL); damaged backups
//! and wrong keys are refused by verify and restore with the target untouched; erased people
//! stay erased when an older backup is restored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::cli::nyckel;
use crate::helpers::db;
use crate::helpers::ops::{Install, on_postgres, skip_unless_postgres};

/// A test installation with two `dir` destinations and an identity.
pub struct Site {
    pub dir: PathBuf,
    pub identity: PathBuf,
}

impl Site {
    /// A new installation ([`Install`]) configured as a site.
    pub async fn installed() -> (Install, Site) {
        let install = Install::new().await;
        let site = Site::new(install.path());
        (install, site)
    }

    /// A site ([`Site::installed`]) whose database holds one account, `email` (no
    /// password), backed up once; returns the backup's id too.
    pub async fn backed_up(email: &str) -> (Install, Site, String) {
        let (install, site) = Site::installed().await;
        install.user(email);
        let id = site.run(install.url());
        (install, site, id)
    }

    /// Writes `nyckel.toml` in `dir` with a fresh key pair and destinations `a` and `b`.
    pub fn new(dir: &Path) -> Site {
        let identity = dir.join("backup-identity.txt");
        let (ok, out, err) = nyckel(
            dir,
            "sqlite://unused.db",
            &[
                "backup",
                "keygen",
                "--out",
                identity.to_str().expect("utf8"),
                "--json",
            ],
            None,
        );
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        let recipient = v["recipient"].as_str().expect("recipient").to_string();
        std::fs::write(
            dir.join("nyckel.toml"),
            format!(
                "[backup]\nrecipients = [\"{recipient}\"]\n\n[[backup.destinations]]\nname = \"a\"\nkind = \"dir\"\npath = \"{a}\"\n\n[[backup.destinations]]\nname = \"b\"\nkind = \"dir\"\npath = \"{b}\"\n",
                a = dir.join("site-a").display(),
                b = dir.join("site-b").display()
            ),
        )
        .expect("config");
        Site {
            dir: dir.to_path_buf(),
            identity,
        }
    }

    /// Runs `nyckel backup ...` against `db_url`.
    pub fn backup(&self, db_url: &str, args: &[&str]) -> (bool, String, String) {
        let mut all = vec!["backup"];
        all.extend_from_slice(args);
        nyckel(&self.dir, db_url, &all, None)
    }

    /// Takes a backup; returns its id.
    pub fn run(&self, db_url: &str) -> String {
        let (ok, out, err) = self.backup(db_url, &["run", "--json"]);
        assert!(ok, "backup run: {out}\n{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
        v["id"].as_str().expect("id").to_string()
    }

    pub fn identity(&self) -> &str {
        self.identity.to_str().expect("utf8")
    }

    /// The object name of `table`'s part in backup `id` (read from the encrypted manifest at
    /// site a: object names do not say).
    pub fn part_object(&self, id: &str, table: &str) -> String {
        let identities = nyckel::backup::crypt::read_identities(&self.identity).expect("identity");
        let sealed = std::fs::read(
            self.dir
                .join("site-a/backups")
                .join(id)
                .join("manifest.json.age"),
        )
        .expect("manifest");
        let plain =
            nyckel::backup::crypt::decrypt(&identities, &sealed, "manifest").expect("decrypt");
        let manifest: nyckel::backup::format::Manifest =
            serde_json::from_slice(&plain).expect("manifest json");
        manifest
            .parts
            .into_iter()
            .find(|p| p.table == table)
            .expect("table in the manifest")
            .object
    }

    /// `nyckel backup verify <id> <extra>` with this site's identity; returns `(success,
    /// stdout, stderr)`.
    pub fn verify_with(&self, db_url: &str, id: &str, extra: &[&str]) -> (bool, String, String) {
        let args = [&["verify", id, "--identity", self.identity()][..], extra].concat();
        self.backup(db_url, &args)
    }

    /// `nyckel backup verify <id> --destination <destination>` with this site's identity.
    pub fn verify_at(&self, db_url: &str, id: &str, destination: &str) -> (bool, String, String) {
        self.verify_with(db_url, id, &["--destination", destination])
    }

    /// `nyckel backup restore <id> --into <into> <extra>` with this site's identity.
    pub fn restore_with(&self, id: &str, into: &str, extra: &[&str]) -> (bool, String, String) {
        let args = ["restore", id, "--identity", self.identity(), "--into", into];
        self.backup(into, &[&args[..], extra].concat())
    }

    /// Restores `id` into `into`, reporting in JSON.
    pub fn restore(&self, id: &str, into: &str) -> (bool, String, String) {
        self.restore_with(id, into, &["--json"])
    }

    /// Restores `id` into `into`, which must succeed; returns the JSON report.
    #[track_caller]
    pub fn restored(&self, id: &str, into: &str) -> serde_json::Value {
        let (ok, out, err) = self.restore(id, into);
        assert!(ok, "restore of {id}: {out}\n{err}");
        serde_json::from_str(out.trim()).expect("the report is JSON")
    }

    /// A new empty database of the suite's kind to restore into (see [`empty_database`]).
    pub async fn empty_target(&self) -> db::Prepared {
        empty_database(&self.dir, on_postgres()).await
    }
}

/// A new empty database of the kind of `like` (a SQLite file in `dir`, or a PostgreSQL
/// database on the test server, dropped with the returned value).
pub async fn empty_database(dir: &Path, postgres: bool) -> db::Prepared {
    if !postgres {
        return db::Prepared::unowned(format!(
            "sqlite://{}",
            dir.join(format!("restored-{}.db", nyckel::crypto::random_id()))
                .display()
        ));
    }
    db::empty_postgres().await
}

/// How many accounts with `email` the database at `url` holds.
pub async fn accounts_with(url: &str, email: &str) -> i64 {
    let db = connect(url).await;
    let (n,): (i64,) = sqlx::query_as("select count(*) from users where email = $1")
        .bind(email)
        .fetch_one(db.pool())
        .await
        .expect("users");
    db.close().await;
    n
}

/// How many tables the database at `url` has (0: a restore left it untouched).
pub async fn tables_in(url: &str) -> i64 {
    let db = connect(url).await;
    let n = table_count(&db).await;
    db.close().await;
    n
}

pub async fn connect(url: &str) -> nyckel::store::Db {
    nyckel::store::Db::connect_url(url, 2, std::time::Duration::from_secs(10), "full")
        .await
        .expect("connect")
}

/// How many tables the database has.
pub async fn table_count(db: &nyckel::store::Db) -> i64 {
    let sql = match db.backend() {
        nyckel::store::Backend::Sqlite => "select count(*) from sqlite_master where type = 'table'",
        nyckel::store::Backend::Postgres => {
            "select count(*) from information_schema.tables where table_schema = current_schema()"
        }
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(db.pool())
        .await
        .expect("count tables");
    n
}

/// Writes organisations `w-0`, `w-1`, ... one per transaction while a backup runs; restores
/// and checks that the restored rows are exactly `w-0 .. w-k` with k at least the last row
/// committed before the backup started (a consistent snapshot: no gaps, nothing missing).
async fn backup_under_writes(source: &str, target_postgres: bool, d: &Path) {
    let site = Site::new(d);
    let db = connect(source).await;
    let committed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, committed, stop) = (db.clone(), committed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                sqlx::query(
                    "insert into organisations (id, slug, name, created_at) values ($1, $2, $3, $4)",
                )
                .bind(format!("w-{i:08}"))
                .bind(format!("w-{i:08}"))
                .bind("Writer")
                .bind(1_700_000_000_i64)
                .execute(db.writer())
                .await
                .expect("insert");
                i += 1;
                committed.store(i, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
    };
    while committed.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // The marker: everything committed up to here must be in the backup.
    let before = committed.load(Ordering::SeqCst);
    let id = {
        let site_dir = site.dir.clone();
        let identity = site.identity.clone();
        let source = source.to_string();
        tokio::task::spawn_blocking(move || {
            Site {
                dir: site_dir,
                identity,
            }
            .run(&source)
        })
        .await
        .expect("backup")
    };
    stop.store(true, Ordering::SeqCst);
    writer.await.expect("writer");
    let after = committed.load(Ordering::SeqCst);
    assert!(after > before, "writes continued during the backup");
    db.close().await;

    let target = empty_database(d, target_postgres).await;
    let (ok, out, err) = site.restore(&id, &target.url);
    assert!(ok, "restore: {out}\n{err}");
    let restored = connect(&target.url).await;
    let ids: Vec<(String,)> =
        sqlx::query_as("select id from organisations where id like 'w-%' order by id")
            .fetch_all(restored.pool())
            .await
            .expect("read");
    let k = ids.len() as u64;
    assert!(
        k >= before,
        "rows committed before the backup: {before}, restored: {k}"
    );
    assert!(k <= after);
    for (i, (id,)) in ids.iter().enumerate() {
        assert_eq!(id, &format!("w-{i:08}"), "no gaps: a consistent snapshot");
    }
    if restored.backend() == nyckel::store::Backend::Sqlite {
        let (check,): (String,) = sqlx::query_as("pragma integrity_check")
            .fetch_one(restored.pool())
            .await
            .expect("check");
        assert_eq!(check, "ok");
    }
    // The restored database is migrated to this binary and serves: signing keys are there.
    let (keys,): (i64,) = sqlx::query_as("select count(*) from signing_keys")
        .fetch_one(restored.pool())
        .await
        .expect("keys");
    assert!(keys > 0, "signing keys restored");
    restored.close().await;
}

#[tokio::test]
async fn a_backup_taken_under_writes_restores_every_committed_row() {
    let install = Install::new().await;
    backup_under_writes(install.url(), on_postgres(), install.path()).await;
}

#[tokio::test]
async fn a_sqlite_backup_restores_into_postgresql_and_back() {
    // The SQLite pass restores SQLite into SQLite in the test above.
    if skip_unless_postgres("PostgreSQL pass only: moves a backup between the two databases") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    // A SQLite installation even though the suite runs on PostgreSQL.
    let sqlite = format!("sqlite://{}", d.join("source.db").display());
    let (ok, _, err) = nyckel(d, &sqlite, &["keys", "list"], None);
    assert!(ok, "{err}");
    backup_under_writes(&sqlite, true, d).await;

    // And PostgreSQL -> SQLite.
    let pg = Install::new().await;
    backup_under_writes(pg.url(), false, pg.path()).await;
}

/// Flips one byte in the middle of `file`; returns the original content.
fn flip(file: &Path) -> Vec<u8> {
    let original = std::fs::read(file).expect("read");
    let mut damaged = original.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 0x01;
    std::fs::write(file, damaged).expect("write");
    original
}

#[tokio::test]
async fn damaged_backups_and_wrong_keys_are_refused_and_the_target_is_untouched() {
    let (install, site, id) = Site::backed_up("bo@example.org").await;
    let (d, url) = (install.path(), install.url());
    let part = |name: &str| d.join("site-a").join("backups").join(&id).join(name);
    let users_object = site.part_object(&id, "users");
    let memberships_object = site.part_object(&id, "memberships");
    let users = part(&users_object);
    let memberships = part(&memberships_object);

    // Each damage, at site a only (site b keeps a good copy).
    let check_refused = |what: &str, expect: &str| {
        let (ok, out, err) = site.verify_at(url, &id, "a");
        assert!(!ok, "{what}: verify must fail: {out}");
        assert!(err.contains(expect), "{what}: {err}");
        (out, err)
    };
    // A restore from a into a new database fails with one clear line, the target untouched.
    let check_restore_refused = async |what: &str| {
        let target = site.empty_target().await;
        let (ok, out, err) = site.restore_with(&id, &target.url, &["--destination", "a"]);
        assert!(!ok, "{what}: restore must fail: {out}");
        assert!(err.starts_with("nyckel: "), "{what}: one clear line: {err}");
        assert_eq!(tables_in(&target.url).await, 0, "{what}: target untouched");
        err
    };

    let original = flip(&users);
    check_refused("flipped byte", "checksum");
    let err = check_restore_refused("flipped byte").await;
    assert!(err.contains("checksum"), "{err}");

    // The same byte flipped with the index updated to match: the signature over the index
    // catches it (and, were the index signed again, the manifest's checksums and age's
    // authentication would).
    let index_path = part("index.json");
    let index_original = std::fs::read(&index_path).expect("index");
    let mut index: serde_json::Value = serde_json::from_slice(&index_original).expect("json");
    let damaged = std::fs::read(&users).expect("users");
    for o in index["objects"].as_array_mut().expect("objects") {
        if o["name"] == users_object.as_str() {
            o["sha256"] = nyckel::backup::format::sha256_hex(&damaged).into();
        }
    }
    std::fs::write(&index_path, serde_json::to_vec(&index).expect("json")).expect("write");
    check_refused(
        "flipped byte, index forged",
        "index.json differs from what was signed",
    );
    std::fs::write(&index_path, &index_original).expect("restore index");
    std::fs::write(&users, &original).expect("undo flip");

    let full = std::fs::read(&users).expect("read");
    std::fs::write(&users, &full[..full.len() - 17]).expect("truncate");
    check_refused("truncated", "truncated");
    check_restore_refused("truncated").await;
    std::fs::write(&users, &full).expect("undo truncate");

    let m = std::fs::read(&memberships).expect("read");
    std::fs::remove_file(&memberships).expect("remove");
    check_refused("missing part", &format!("{memberships_object} is missing"));
    check_restore_refused("missing part").await;
    std::fs::write(&memberships, &m).expect("undo remove");

    // A wrong key: another identity.
    let wrong_path = d.join("wrong-identity.txt");
    let wrong = wrong_path.to_str().expect("utf8");
    install.ok(&["backup", "keygen", "--out", wrong]);
    let (ok, _, err) = site.backup(url, &["verify", &id, "--identity", wrong]);
    assert!(!ok && err.contains("wrong key"), "{err}");
    let target = site.empty_target().await;
    let (ok, _, err) = site.backup(
        &target.url,
        &["restore", &id, "--identity", wrong, "--into", &target.url],
    );
    assert!(!ok && err.contains("wrong key"), "{err}");
    assert_eq!(tables_in(&target.url).await, 0, "target untouched");

    // Undamaged again: both sites verify, and a restore never goes over a live database.
    let (ok, out, err) = site.verify_with(url, &id, &[]);
    assert!(ok, "{out}\n{err}");
    let (ok, _, err) = site.restore(&id, url);
    assert!(!ok && err.contains("not empty"), "{err}");
    let (ok, out, _) = site.backup(url, &["list", "--json"]);
    assert!(ok);
    let list: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(
        list["items"][0]["backups"][0]["verified_at"].is_i64(),
        "{list}"
    );
}

#[tokio::test]
async fn erased_people_stay_erased_when_an_older_backup_is_restored() {
    let (install, site) = Site::installed().await;
    let url = install.url();
    for (email, org) in [
        ("kept@example.org", "Klubben"),
        ("gone@example.org", "Laget"),
    ] {
        install.user(email);
        install.ok(&["org", "create", "--name", org]);
        let slug = org.to_lowercase();
        install.ok(&[
            "org",
            "add-member",
            "--org",
            &slug,
            "--email",
            email,
            "--role",
            "coach",
        ]);
    }
    let old = site.run(url);

    // Erase one person after the backup; the next run writes the newer tombstone list.
    let db = install.db().await;
    let (gone,): (String,) =
        sqlx::query_as("select id from users where email = 'gone@example.org'")
            .fetch_one(db.pool())
            .await
            .expect("user");
    assert!(
        nyckel::store::erasure::erase_person(&db, &gone, 1_800_000_000)
            .await
            .expect("erase")
    );
    db.close().await;
    site.run(url);

    let target = site.empty_target().await;
    let report = site.restored(&old, &target.url);
    assert_eq!(report["erased_again"], 1, "{report}");
    let restored = connect(&target.url).await;
    let emails: Vec<(String,)> = sqlx::query_as("select email from users order by email")
        .fetch_all(restored.pool())
        .await
        .expect("users");
    assert_eq!(emails, vec![("kept@example.org".to_string(),)]);
    let (m,): (i64,) = sqlx::query_as("select count(*) from memberships where user_id = $1")
        .bind(&gone)
        .fetch_one(restored.pool())
        .await
        .expect("memberships");
    assert_eq!(m, 0);
    let (a,): (i64,) =
        sqlx::query_as("select count(*) from audit_events where user_id = $1 or actor_id = $1")
            .bind(&gone)
            .fetch_one(restored.pool())
            .await
            .expect("audit");
    assert_eq!(a, 0, "audit rows about them are pseudonymised");
    let (t,): (i64,) = sqlx::query_as("select count(*) from erasure_tombstones where user_id = $1")
        .bind(&gone)
        .fetch_one(restored.pool())
        .await
        .expect("tombstones");
    assert_eq!(t, 1, "the tombstone is kept in the restored database");
    restored.close().await;
}

#[tokio::test]
async fn a_failing_destination_is_reported_and_does_not_stop_the_others() {
    let (install, site) = Site::installed().await;
    let url = install.url();
    // Site b cannot be written: its path is a file.
    std::fs::write(install.path().join("site-b"), "not a folder").expect("file");
    let (ok, out, err) = site.backup(url, &["run", "--json"]);
    assert!(!ok, "exit status reports the failed destination");
    assert!(err.contains("failed at: b"), "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(report["destinations"][0]["name"], "a");
    assert_eq!(report["destinations"][0]["ok"], true);
    assert_eq!(report["destinations"][1]["ok"], false);
    let id = report["id"].as_str().expect("id");
    let (ok, out, err) = site.verify_at(url, id, "a");
    assert!(ok, "site a holds a good copy: {out}\n{err}");
}
