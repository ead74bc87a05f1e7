//! The scratch folder (`backup.scratch_dir`, default `<data_dir>/backup-scratch`, mode 0700):
//! the one place where backup runs and verifies keep temporary files, and how leftovers of a
//! killed process are removed.
//!
//! A run writes only encrypted parts there (the snapshot is streamed from the database into
//! the encryptor). A verify restores into a scratch SQLite database there, which is plaintext
//! while it lasts. Each run or verify works in its own subfolder and removes it when it ends,
//! however it ends short of the process being killed. For that case the folder has a lock file
//! (`.lock`): every run and verify holds a shared `flock` on it while it works; a sweep takes
//! it exclusively without waiting, and only when it gets it (no run or verify alive, as the
//! kernel drops the locks of a killed process) removes everything but the lock file. Every
//! run and verify sweeps before it starts, and `nyckel serve` sweeps at start.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The lock file's name inside the scratch folder.
pub const LOCK: &str = ".lock";

/// A subfolder of the scratch folder for one run or verify: removed when dropped; the shared
/// lock it holds keeps sweeps of other processes away meanwhile.
#[derive(Debug)]
pub struct WorkDir {
    path: PathBuf,
    /// Holds the shared lock until the folder is gone.
    _lock: File,
}

impl WorkDir {
    /// Sweeps leftovers in `root` when no other run or verify is alive, then creates
    /// `root/name` (mode 0700; it must not exist) under a shared lock.
    pub fn create(root: &Path, name: &str) -> std::io::Result<WorkDir> {
        let lock = open_lock(root)?;
        if try_lock_exclusive(&lock)? {
            let removed = remove_all_but_lock(root)?;
            if removed > 0 {
                tracing::warn!(
                    folder = %root.display(),
                    removed,
                    "removed leftovers of a backup run or verify that did not finish"
                );
            }
        }
        // From exclusive (or none) to shared; waits while another process sweeps.
        lock_shared(&lock)?;
        let path = root.join(name);
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        }
        Ok(WorkDir { path, _lock: lock })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes leftovers in `root` unless a run or verify is working there; returns how many
/// entries were removed. A missing folder is nothing to sweep.
pub fn sweep(root: &Path) -> std::io::Result<usize> {
    if !root.exists() {
        return Ok(0);
    }
    let lock = open_lock(root)?;
    if !try_lock_exclusive(&lock)? {
        return Ok(0);
    }
    remove_all_but_lock(root)
}

fn open_lock(root: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)?;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(root.join(LOCK))
}

fn remove_all_but_lock(root: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry.file_name() == LOCK {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        removed += 1;
    }
    Ok(removed)
}

/// Takes the exclusive lock without waiting; false when another process holds a lock.
fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Takes (or turns an exclusive lock into) the shared lock, waiting for a sweep to end.
fn lock_shared(file: &File) -> std::io::Result<()> {
    file.lock_shared()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_are_swept_only_when_no_one_works() {
        let root =
            std::env::temp_dir().join(format!("nyckel-scratch-{}", crate::crypto::random_id()));
        std::fs::create_dir_all(root.join("old-run")).expect("dir");
        std::fs::write(root.join("old-run").join("snapshot.db"), b"plain").expect("file");
        std::fs::write(root.join("stray"), b"x").expect("file");

        let work = WorkDir::create(&root, "run-1").expect("work dir");
        assert!(!root.join("old-run").exists() && !root.join("stray").exists());
        std::fs::write(work.path().join("part.age"), b"age").expect("file");
        // Another process's sweep: the lock is held, nothing is removed. (flock locks belong
        // to the open file description, so a second open in this process stands in for it.)
        assert_eq!(sweep(&root).expect("sweep"), 0);
        assert!(work.path().join("part.age").exists());
        let path = work.path().to_path_buf();
        drop(work);
        assert!(!path.exists(), "removed on drop");
        std::fs::create_dir_all(root.join("killed")).expect("dir");
        assert_eq!(sweep(&root).expect("sweep"), 1);
        assert!(root.join(LOCK).exists());
        let _ = std::fs::remove_dir_all(root);
    }
}
