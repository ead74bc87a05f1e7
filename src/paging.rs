//! Keyset pagination: lists are read in a stable order and continued after the last key
//! seen, passed to callers as an opaque cursor (base64url of a JSON array of strings). Pure
//! functions shared by the store's list queries, the use-cases and the API: no SQL here
//! (the escaping of `LIKE` patterns is the one piece of SQL text, and it only builds a value).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Most items a caller may ask for at once.
pub const MAX_LIMIT: i64 = 200;
/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: i64 = 50;

/// One page of a list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Clamps a requested page size.
pub fn limit(requested: Option<i64>) -> i64 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// Encodes the sort key of the last item.
pub fn encode_cursor(key: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor into a key of `len` parts; `None` when it is not one of ours.
pub fn decode_cursor(cursor: &str, len: usize) -> Option<Vec<String>> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let key: Vec<String> = serde_json::from_slice(&bytes).ok()?;
    (key.len() == len).then_some(key)
}

/// Turns `limit + 1` fetched rows into a page: the extra row only says that more follow.
pub fn finish<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(key) } else { None };
    Page {
        items: rows,
        next_cursor,
    }
}

/// Escapes `%`, `_` and `\` for a `like ... escape '\'` pattern and wraps it in `%...%`.
pub fn like_pattern(search: &str) -> String {
    let mut out = String::from("%");
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let c = encode_cursor(&["a@b", "id1"]);
        assert_eq!(decode_cursor(&c, 2).expect("decodes"), vec!["a@b", "id1"]);
        assert!(decode_cursor(&c, 3).is_none());
        assert!(decode_cursor("!!", 2).is_none());
        assert_eq!(like_pattern("A_b%"), "%a\\_b\\%%");
    }
}
