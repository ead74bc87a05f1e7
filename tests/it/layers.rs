//! The layers ARCHITECTURE.md draws, enforced on the source tree: SQL only in `src/store/`,
//! axum only in `src/http/`, and HTTP handlers that call use-cases rather than `store::`.
//! The checks read `src/` as text (comments and doc comments are skipped), so a new file
//! cannot escape them.

use std::path::{Path, PathBuf};

/// Files under `src/http/` that still call the store directly (see [`calls_the_store`]).
/// The list only shrinks: a file that no longer needs its entry fails the test until the
/// entry is removed, and a file not listed may not call the store at all.
const HTTP_STILL_CALLING_STORE: &[&str] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as (path relative to `src/`, code lines without comments).
fn sources(dir: &Path) -> Vec<(String, Vec<(usize, String)>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let code = text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim_start().starts_with("//"))
                    .map(|(i, l)| (i + 1, l.to_string()))
                    .collect();
                let rel = path
                    .strip_prefix(src())
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, code));
            }
        }
    }
    assert!(out.len() > 50, "read only {} files under src/", out.len());
    out.sort();
    out
}

/// The places (file:line: text) where `pattern` occurs outside the files `allowed` accepts.
fn offenders(pattern: &[&str], allowed: impl Fn(&str) -> bool) -> Vec<String> {
    sources(&src())
        .into_iter()
        .filter(|(file, _)| !allowed(file))
        .flat_map(|(file, lines)| {
            lines
                .into_iter()
                .filter(|(_, l)| pattern.iter().any(|p| l.contains(p)))
                .map(move |(n, l)| format!("src/{file}:{n}: {}", l.trim()))
        })
        .collect()
}

#[test]
fn sql_is_written_only_in_store() {
    let found = offenders(
        &[
            "sqlx::query",
            "sqlx::raw_sql",
            "query_as::<",
            "query_scalar(",
        ],
        |file| file.starts_with("store/"),
    );
    assert!(
        found.is_empty(),
        "SQL outside src/store/:\n{}",
        found.join("\n")
    );
}

#[test]
fn axum_is_used_only_in_http() {
    let found = offenders(&["axum::", "axum_server::"], |file| {
        file.starts_with("http/")
    });
    assert!(
        found.is_empty(),
        "axum outside src/http/:\n{}",
        found.join("\n")
    );
}

/// Whether a line calls a store function (`store::users::find(`, `store::is_unavailable(`) or
/// imports a store module to call through (`use crate::store::{self`, `use
/// crate::store::page::{self, Page}`, `use crate::store::audit;`). Naming a store type
/// (`store::users::User`, `use crate::store::page::Page;`) is not a call.
fn calls_the_store(line: &str) -> bool {
    let line = line.trim();
    if line.starts_with("use ") || line.starts_with("pub use ") {
        let Some(at) = line.find("store") else {
            return false;
        };
        let path = &line[at..];
        let module_import = path.contains("{self")
            || path
                .trim_end_matches(';')
                .rsplit("::")
                .next()
                .is_some_and(|last| last.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        return path.starts_with("store") && module_import;
    }
    let mut rest = line;
    while let Some(at) = rest.find("store::") {
        let after = &rest[at + "store::".len()..];
        let own_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let path: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let last = path.rsplit("::").next().unwrap_or("");
        let called = after[path.len()..].trim_start().starts_with('(');
        if own_word && called && last.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            return true;
        }
        rest = &after[path.len()..];
    }
    false
}

#[test]
fn the_store_call_check_tells_calls_from_types() {
    for call in [
        "let u = store::users::find(&state.db, id).await?;",
        "crate::store::is_unavailable(e)",
        "use crate::store::{self, clients::Client};",
        "use crate::store::page::{self, Page};",
        "use crate::store::audit;",
    ] {
        assert!(calls_the_store(call), "{call}");
    }
    for not_a_call in [
        "user: &store::users::User,",
        "use crate::store::page::Page;",
        "use crate::store::orgs::Role;",
        "use crate::paging::{self as page, Page};",
        "let x = restore::run();",
    ] {
        assert!(!calls_the_store(not_a_call), "{not_a_call}");
    }
}

#[test]
fn http_handlers_call_use_cases_not_the_store() {
    let files = sources(&src().join("http"));
    let calling: Vec<&str> = files
        .iter()
        .filter(|(_, lines)| lines.iter().any(|(_, l)| calls_the_store(l)))
        .map(|(file, _)| file.as_str())
        .collect();
    let new = missing_from(&calling, HTTP_STILL_CALLING_STORE);
    assert!(
        new.is_empty(),
        "src/http files that call the store directly (call a use-case instead): {new:?}"
    );
    let done = missing_from(HTTP_STILL_CALLING_STORE, &calling);
    assert!(
        done.is_empty(),
        "no longer call the store (remove them from HTTP_STILL_CALLING_STORE): {done:?}"
    );
}

/// The entries of `these` that `list` does not have.
fn missing_from<'a>(these: &[&'a str], list: &[&str]) -> Vec<&'a str> {
    these
        .iter()
        .copied()
        .filter(|f| !list.contains(f))
        .collect()
}
