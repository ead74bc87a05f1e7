//! The layers ARCHITECTURE.md draws, enforced on the source tree: SQL only in `src/store/`,
//! axum only in `src/http/`, and HTTP handlers that call use-cases rather than `store::`.
//! The checks read `src/` as text (comments and doc comments are skipped), so a new file
//! cannot escape them.

use std::path::{Path, PathBuf};

/// Files under `src/http/` that still name `store::` directly. The list only shrinks: a file
/// that no longer needs its entry fails the test until the entry is removed, and a file not
/// listed may not name `store::` at all.
const HTTP_STILL_CALLING_STORE: &[&str] = &[
    "http/account.rs",
    "http/account/events.rs",
    "http/account/view.rs",
    "http/account_channels.rs",
    "http/admin_ui/audit.rs",
    "http/admin_ui/context.rs",
    "http/admin_ui/roles.rs",
    "http/api/audit.rs",
    "http/api/clients.rs",
    "http/api/doc.rs",
    "http/api/invitations.rs",
    "http/api/members.rs",
    "http/api/orgs.rs",
    "http/api/paging.rs",
    "http/authorize.rs",
    "http/consent.rs",
    "http/error.rs",
    "http/home.rs",
    "http/logout.rs",
    "http/passkeys.rs",
    "http/password_change.rs",
    "http/second_factor.rs",
    "http/signed_in.rs",
];

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

#[test]
fn http_handlers_call_use_cases_not_the_store() {
    let files = sources(&src().join("http"));
    let calling: Vec<&str> = files
        .iter()
        .filter(|(_, lines)| lines.iter().any(|(_, l)| l.contains("store::")))
        .map(|(file, _)| file.as_str())
        .collect();
    let new: Vec<&&str> = calling
        .iter()
        .filter(|f| !HTTP_STILL_CALLING_STORE.contains(f))
        .collect();
    assert!(
        new.is_empty(),
        "src/http files that call store:: directly (call a use-case instead): {new:?}"
    );
    let done: Vec<&&str> = HTTP_STILL_CALLING_STORE
        .iter()
        .filter(|f| !calling.contains(f))
        .collect();
    assert!(
        done.is_empty(),
        "no longer call store:: (remove them from HTTP_STILL_CALLING_STORE): {done:?}"
    );
}
