//! The `dir` destination: a local or mounted directory. Writes are atomic and durable: a
//! temporary file in the target folder, fsync, rename, fsync of the folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::destination::{DestFuture, Destination, DestinationError};

/// A directory holding backups.
#[derive(Debug)]
pub struct DirDestination {
    name: String,
    root: PathBuf,
}

impl DirDestination {
    /// A destination at `root` (created when missing, mode 0700).
    pub fn new(name: &str, root: &Path) -> Result<Self, DestinationError> {
        create_private_dir(root)
            .map_err(|e| DestinationError::Io(format!("cannot create {}: {e}", root.display())))?;
        Ok(Self {
            name: name.to_string(),
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, DestinationError> {
        let ok = !key.is_empty()
            && !key.starts_with('/')
            && key
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != ".." && !s.starts_with(".tmp-"));
        if !ok {
            return Err(DestinationError::Io(format!("invalid object key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

fn io(e: std::io::Error) -> DestinationError {
    DestinationError::Io(e.to_string())
}

fn put_sync(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("object key has no folder"))?;
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("object");
    let tmp = dir.join(format!(".tmp-{}-{file_name}", crate::crypto::random_id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn list_sync(root: &Path, prefix: &str) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with(".tmp-") {
                continue;
            }
            let key = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            // Only descend where keys can still match the prefix.
            if entry.file_type()?.is_dir() {
                let as_dir = format!("{key}/");
                if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                    stack.push((entry.path(), key));
                }
            } else if key.starts_with(prefix) {
                out.push(key);
            }
        }
    }
    Ok(out)
}

impl Destination for DirDestination {
    fn name(&self) -> &str {
        &self.name
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> DestFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path(key)?;
            tokio::task::spawn_blocking(move || put_sync(&path, &data))
                .await
                .map_err(|e| DestinationError::Io(e.to_string()))?
                .map_err(io)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> DestFuture<'a, Bytes> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::read(&path).await {
                Ok(data) => Ok(Bytes::from(data)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(DestinationError::NotFound(key.to_string()))
                }
                Err(e) => Err(io(e)),
            }
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> DestFuture<'a, Vec<String>> {
        Box::pin(async move {
            let root = self.root.clone();
            let prefix = prefix.to_string();
            tokio::task::spawn_blocking(move || list_sync(&root, &prefix))
                .await
                .map_err(|e| DestinationError::Io(e.to_string()))?
                .map_err(io)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> DestFuture<'a, ()> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {
                    // Remove the backup's folder once it is empty (ignored otherwise).
                    if let Some(parent) = path.parent()
                        && parent != self.root
                    {
                        let _ = tokio::fs::remove_dir(parent).await;
                    }
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(e)),
            }
        })
    }
}
