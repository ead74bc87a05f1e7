//! The use-cases' reading of a paging cursor (`crate::paging` encodes and decodes it): a
//! cursor that does not decode to the list's key is the caller's error, the same for every
//! list.

use crate::admin::AdminError;
use crate::paging as page;

fn invalid() -> AdminError {
    AdminError::Invalid("the cursor is not valid".into())
}

/// The `len` parts of the sort key in `cursor`; `None` for the first page.
pub fn key(cursor: Option<&str>, len: usize) -> Result<Option<Vec<String>>, AdminError> {
    cursor
        .map(|c| page::decode_cursor(c, len).ok_or_else(invalid))
        .transpose()
}

/// A `(time, id)` sort key (lists newest first); `None` for the first page.
pub fn timed(cursor: Option<&str>) -> Result<Option<(i64, String)>, AdminError> {
    let Some(mut k) = key(cursor, 2)? else {
        return Ok(None);
    };
    let at = k[0].parse::<i64>().map_err(|_| invalid())?;
    Ok(Some((at, k.swap_remove(1))))
}
