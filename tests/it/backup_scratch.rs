//! No plaintext copy of the database at rest (issue 15, defect 3): a `nyckel backup run`
//! killed with SIGKILL during the snapshot leaves nothing that the next run or the next server
//! start does not remove, and a run never writes the database's content unencrypted to its
//! scratch folder at all.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::backup::{Site, connect};
use crate::helpers::ops::Install;
use crate::helpers::process::chosen_address;

/// Organisation names that show up in any plaintext copy of the database.
const MARKER: &str = "plaintext-marker-";
/// Enough rows that a run's snapshot takes a while (the kill lands inside it).
const ROWS: i64 = 40_000;

/// A site ([`Site::installed`]) whose database holds [`ROWS`] marked organisations, and its
/// backup run's scratch folder.
async fn filled_site() -> (Install, Site, PathBuf) {
    let (install, site) = Site::installed().await;
    fill(install.url()).await;
    let scratch = install.path().join("data").join("backup-scratch");
    (install, site, scratch)
}

async fn fill(url: &str) {
    let db = connect(url).await;
    sqlx::query(&format!(
        "with recursive n(i) as (select 1 union all select i + 1 from n where i < {ROWS}) \
         insert into organisations (id, slug, name, created_at) \
         select 'm-' || i, 'm-' || i, '{MARKER}' || i, 1700000000 from n"
    ))
    .execute(db.writer())
    .await
    .expect("fill");
    db.close().await;
}

/// Every file under `root` but the scratch folder's lock file (empty; it only tells runs in
/// progress from leftovers).
fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path != root.join(".lock") {
                out.push(path);
            }
        }
    }
    out
}

fn spawn_run(d: &Path, url: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nyckel"))
        .current_dir(d)
        .args(["backup", "run"])
        .env("NYCKEL_DATABASE__URL", url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nyckel backup run")
}

/// Starts `nyckel backup run` and kills it (SIGKILL) as soon as its scratch folder holds a
/// file: the snapshot has started and not finished.
fn kill_during_snapshot(d: &Path, url: &str, scratch: &Path) {
    for _attempt in 0..5 {
        let mut child = spawn_run(d, url);
        let started = Instant::now();
        loop {
            if !files(scratch).is_empty() {
                let _ = child.kill();
                let status = child.wait().expect("wait");
                if std::os::unix::process::ExitStatusExt::signal(&status) == Some(9) {
                    return;
                }
                break; // it finished just before the kill: try again
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "run hangs");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    panic!("could not kill a backup run during its snapshot");
}

#[tokio::test]
async fn a_killed_backup_run_leaves_nothing_after_the_next_run_or_server_start() {
    let (install, site, scratch) = filled_site().await;
    let (d, url) = (install.path(), install.url());

    kill_during_snapshot(d, url, &scratch);
    assert!(!files(&scratch).is_empty(), "the kill left something");
    site.run(url);
    let left = files(&scratch);
    assert!(left.is_empty(), "left after the next run: {left:?}");

    kill_during_snapshot(d, url, &scratch);
    let (listen, issuer) = chosen_address();
    // The nightly schedule must not start a run of its own in the folder being looked at:
    // its time is set half a day away (a missed run is only caught up within 6 hours).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let schedule = format!("{:02}:00", (now / 3600 + 12) % 24);
    let env = [
        ("NYCKEL_BACKUP__TIMEZONE", "UTC"),
        ("NYCKEL_BACKUP__SCHEDULE", schedule.as_str()),
    ];
    let node = install.serve(&listen, &issuer, &env);
    let left = files(&scratch);
    drop(node);
    assert!(left.is_empty(), "left after the server started: {left:?}");
}

#[tokio::test]
async fn a_backup_run_writes_nothing_unencrypted_to_its_scratch_folder() {
    let (install, _site, scratch) = filled_site().await;

    // Read every file of the scratch folder, again and again, while a run lasts.
    let mut child = spawn_run(install.path(), install.url());
    let mut seen = 0;
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        for file in files(&scratch) {
            let Ok(data) = std::fs::read(&file) else {
                continue; // removed meanwhile
            };
            if data.is_empty() {
                continue;
            }
            seen += 1;
            assert!(
                data.starts_with(b"age-encryption.org/"),
                "{} is not encrypted (starts with {:?})",
                file.display(),
                String::from_utf8_lossy(&data[..data.len().min(16)])
            );
            assert!(
                !data.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
                "{} holds the database's content in plaintext",
                file.display()
            );
        }
        assert!(started.elapsed() < Duration::from_secs(120), "run hangs");
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "the run succeeds");
    assert!(
        seen > 0,
        "the scratch folder was looked at while it held files"
    );
    assert!(files(&scratch).is_empty(), "the run removes its files");
}
