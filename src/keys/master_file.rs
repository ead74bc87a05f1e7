//! The master key file `<keys_dir>/master.key`: its text format, parsing with clear errors
//! (never echoing key material), and atomic rewrites (temp file, fsync, rename, mode 0600).
//!
//! Format, one key per line, current key first:
//!
//! ```text
//! # comment
//! current <id> <key, 32 bytes base64url>
//! staged  <id> <key>
//! retired <id> <key>
//! ```
//!
//! `current` seals and opens; `staged` (the next key, copied to every node before it is
//! promoted) and `retired` (older keys, kept until nothing is sealed under them) only open.
//! The id is a fingerprint of the key ([`key_id`]), so a damaged key is noticed on load.
//! The original format, a file holding only one base64url key, still loads (as the current key).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::crypto::{b64, b64_decode};

/// What a key in the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Seals new data; opens.
    Current,
    /// Opens only; the next current key (`rotate-master --stage`).
    Staged,
    /// Opens only; a former current key.
    Retired,
}

impl KeyState {
    /// The word in the file.
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Current => "current",
            KeyState::Staged => "staged",
            KeyState::Retired => "retired",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        match word {
            "current" => Some(KeyState::Current),
            "staged" => Some(KeyState::Staged),
            "retired" => Some(KeyState::Retired),
            _ => None,
        }
    }
}

/// One key of the file.
#[derive(Clone)]
pub struct Entry {
    pub id: String,
    pub state: KeyState,
    pub key: [u8; 32],
}

crate::redact::debug_showing!(Entry { id, state });

/// Why the file could not be read or written. Messages name the file and line, never a key.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {problem}")]
    Line {
        path: PathBuf,
        line: usize,
        problem: &'static str,
    },
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
}

/// The fingerprint that names a key: 8 bytes of HMAC-SHA256(key, "nyckel-master-key-id"),
/// base64url (11 characters). Reveals nothing usable about the key.
pub fn key_id(key: &[u8; 32]) -> String {
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        b"nyckel-master-key-id",
    );
    b64(&mac.as_ref()[..8])
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    let bytes = b64_decode(text).filter(|b| b.len() == 32)?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Some(key)
}

/// Parses the file's text; the result has exactly one current key, listed first.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Entry>, FileError> {
    let line_err = |line: usize, problem: &'static str| FileError::Line {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // The original format: one bare key.
    if let [(n, only)] = lines.as_slice()
        && !only.contains(char::is_whitespace)
    {
        let key = decode_key(only)
            .ok_or_else(|| line_err(*n, "not a master key (expected 32 bytes, base64url)"))?;
        return Ok(vec![Entry {
            id: key_id(&key),
            state: KeyState::Current,
            key,
        }]);
    }
    let mut entries = Vec::new();
    for (n, line) in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [state, id, key] = words.as_slice() else {
            return Err(line_err(n, "expected \"STATE ID KEY\""));
        };
        let state = KeyState::parse(state)
            .ok_or_else(|| line_err(n, "the state must be current, staged or retired"))?;
        let key = decode_key(key)
            .ok_or_else(|| line_err(n, "not a master key (expected 32 bytes, base64url)"))?;
        if key_id(&key) != *id {
            return Err(line_err(
                n,
                "the key does not match its id (the file is damaged)",
            ));
        }
        if entries.iter().any(|e: &Entry| e.id == *id) {
            return Err(line_err(n, "the same key is listed twice"));
        }
        entries.push(Entry {
            id: id.to_string(),
            state,
            key,
        });
    }
    let file_err = |problem: &str| FileError::File {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    };
    match entries
        .iter()
        .filter(|e| e.state == KeyState::Current)
        .count()
    {
        0 => return Err(file_err("no current master key")),
        1 => {}
        _ => return Err(file_err("more than one current master key")),
    }
    if entries
        .iter()
        .filter(|e| e.state == KeyState::Staged)
        .count()
        > 1
    {
        return Err(file_err("more than one staged master key"));
    }
    entries.sort_by_key(|e| e.state != KeyState::Current);
    Ok(entries)
}

/// The file's text for `entries`.
pub fn format(entries: &[Entry]) -> String {
    let mut out = String::from(
        "# Nyckel master keys (see docs/keys.md). Secret: mode 0600, and escrow every key.\n\
         # One key per line: STATE ID KEY. \"current\" seals and opens; \"staged\" and\n\
         # \"retired\" only open. Change with `nyckel keys rotate-master`.\n",
    );
    for e in entries {
        out.push_str(&format!("{} {} {}\n", e.state.name(), e.id, b64(&e.key)));
    }
    out
}

/// Replaces the file atomically: a temporary file (mode 0600) in the same folder, synced,
/// then renamed over the file, and the folder synced. Readers see the old or the new file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("master.key"),
        crate::crypto::random_token(6)
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            d.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(state: KeyState, byte: u8) -> Entry {
        let key = [byte; 32];
        Entry {
            id: key_id(&key),
            state,
            key,
        }
    }

    #[test]
    fn round_trip_and_current_first() {
        let p = Path::new("master.key");
        let text = format(&[entry(KeyState::Retired, 1), entry(KeyState::Current, 2)]);
        let parsed = parse(p, &text).expect("parse");
        assert_eq!(parsed[0].state, KeyState::Current);
        assert_eq!(parsed[0].key, [2; 32]);
        assert_eq!(parsed[1].state, KeyState::Retired);
    }

    #[test]
    fn the_original_single_key_format_loads() {
        let parsed = parse(Path::new("k"), &format!("{}\n", b64(&[7; 32]))).expect("parse");
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].state, KeyState::Current);
        assert_eq!(parsed[0].id, key_id(&[7; 32]));
    }

    #[test]
    fn damage_is_reported_without_key_material() {
        let p = Path::new("master.key");
        let good = format(&[entry(KeyState::Current, 3)]);
        let key = b64(&[3; 32]);
        // One changed character of the key: its id no longer matches.
        let flipped = if key.starts_with('A') { "B" } else { "A" };
        let bad = good.replace(&key, &format!("{flipped}{}", &key[1..]));
        let err = parse(p, &bad).expect_err("damaged").to_string();
        assert!(err.contains("line 4") && err.contains("damaged"), "{err}");
        assert!(!err.contains(&key[1..]), "{err}");
        for text in ["", "garbage here", "current x", "current a b c", "AAAA"] {
            assert!(parse(p, text).is_err(), "{text:?}");
        }
        let two = format(&[entry(KeyState::Current, 1), entry(KeyState::Current, 2)]);
        assert!(parse(p, &two).is_err());
    }
}
