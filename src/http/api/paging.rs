//! Pagination parameters of list endpoints (`?limit=&cursor=`) and paging of the short
//! lists the use-cases return whole (an organisation's roles, a member's sessions), so that
//! every list of the API answers `{"items": [...], "next_cursor": ...}` alike.

use serde::Deserialize;

use crate::http::api::error::ApiError;
use crate::paging::{self as page, Page};

/// `?limit=&cursor=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The checked limit (1 to [`page::MAX_LIMIT`]).
    pub fn limit(&self) -> Result<Option<i64>, ApiError> {
        check_limit(self.limit)
    }

    /// The cursor, as given.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

/// Refuses a limit outside 1 to [`page::MAX_LIMIT`].
pub fn check_limit(limit: Option<i64>) -> Result<Option<i64>, ApiError> {
    match limit {
        Some(n) if !(1..=page::MAX_LIMIT).contains(&n) => Err(ApiError::invalid(format!(
            "limit must be between 1 and {}",
            page::MAX_LIMIT
        ))),
        other => Ok(other),
    }
}

/// Pages a list already in its stable order. `key` gives an item's sort key; `after`
/// says whether an item comes after a decoded key (so a cursor stays valid when the item it
/// names disappears between two pages).
pub fn in_memory<T>(
    items: Vec<T>,
    q: &PageQuery,
    key: impl Fn(&T) -> Vec<String>,
    after: impl Fn(&T, &[String]) -> bool,
    key_len: usize,
) -> Result<Page<T>, ApiError> {
    let limit = page::limit(q.limit()?);
    let rest: Vec<T> = match q.cursor() {
        Some(c) => {
            let k = page::decode_cursor(c, key_len)
                .ok_or_else(|| ApiError::invalid("the cursor is not valid"))?;
            items.into_iter().filter(|i| after(i, &k)).collect()
        }
        None => items,
    };
    let rows: Vec<T> = rest.into_iter().take(limit as usize + 1).collect();
    Ok(page::finish(rows, limit, |i| {
        let k = key(i);
        page::encode_cursor(&k.iter().map(String::as_str).collect::<Vec<_>>())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_a_list_once() {
        let items: Vec<String> = (0..7).map(|i| format!("r{i}")).collect();
        let mut q = PageQuery {
            limit: Some(3),
            cursor: None,
        };
        let mut seen = Vec::new();
        loop {
            let p = in_memory(
                items.clone(),
                &q,
                |s| vec![s.clone()],
                |s, k| s.as_str() > k[0].as_str(),
                1,
            )
            .expect("page");
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, items);
        q.cursor = Some("junk".into());
        assert!(in_memory(items, &q, |s| vec![s.clone()], |_, _| true, 1).is_err());
        assert!(check_limit(Some(0)).is_err());
        assert!(check_limit(Some(page::MAX_LIMIT + 1)).is_err());
    }
}
