//! Shared by the administrative subcommands: look-ups by slug or email whose errors name
//! what was not found, walking paginated admin lists to the end, printing lists (`{"items":
//! [...]}` with `--json`) and instants. Its tests also check that `docs/cli.md` documents
//! every command.

use crate::cli::Out;

/// Prints a list: `{"items": [...]}` with `--json` (the admin views' fields), else one line
/// per item (or `empty` when there is none).
pub fn print_items<T: serde::Serialize>(
    out: Out,
    items: &[T],
    empty: &str,
    line: impl Fn(&T) -> String,
) {
    if out.json {
        println!("{}", serde_json::json!({ "items": items }));
    } else if items.is_empty() {
        println!("{empty}");
    } else {
        for item in items {
            println!("{}", line(item));
        }
    }
}

/// Walks a paginated admin list to its end, or until `limit` items were read.
pub async fn all_pages<T, F, Fut>(
    limit: Option<usize>,
    mut fetch: F,
) -> Result<Vec<T>, crate::admin::AdminError>
where
    F: FnMut(Option<String>, i64) -> Fut,
    Fut: std::future::Future<Output = Result<crate::paging::Page<T>, crate::admin::AdminError>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let want = match limit {
            Some(l) if items.len() >= l => return Ok(items),
            Some(l) => ((l - items.len()) as i64).min(crate::paging::MAX_LIMIT),
            None => crate::paging::MAX_LIMIT,
        };
        let page = fetch(cursor.take(), want).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(items),
        }
    }
}

/// The organisation with this id or slug, or an error naming it.
pub async fn find_org(
    db: &crate::store::Db,
    key: &str,
) -> anyhow::Result<crate::store::orgs::Organisation> {
    crate::store::orgs::find_by_id_or_slug(db, key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no organisation with the id or slug {key:?}"))
}

/// The account with this email, or an error naming it.
pub async fn find_user(
    db: &crate::store::Db,
    email: &str,
) -> anyhow::Result<crate::store::users::User> {
    crate::store::users::find_by_email(db, email.trim())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account with the email {}", email.trim()))
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`, for text output.
pub fn utc(ts: i64) -> String {
    crate::clock::instant(ts)
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// Maps a use-case's error for the command line, with `NotFound` told as `what` names it
/// (the command line says what it looked for).
pub fn missing(
    what: impl FnOnce() -> String,
) -> impl FnOnce(crate::admin::AdminError) -> anyhow::Error {
    move |e| match e {
        crate::admin::AdminError::NotFound(_) => anyhow::anyhow!(what()),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// `docs/cli.md` has a section for every command.
    #[test]
    fn every_command_is_documented() {
        fn leaves(cmd: &clap::Command, path: String, out: &mut Vec<String>) {
            let subs: Vec<_> = cmd
                .get_subcommands()
                .filter(|s| s.get_name() != "help")
                .collect();
            if subs.is_empty() {
                out.push(path.clone());
            }
            for s in subs {
                leaves(s, format!("{path} {}", s.get_name()), out);
            }
        }
        let doc = include_str!("../../docs/cli.md");
        let mut commands = Vec::new();
        leaves(&crate::cli::Cli::command(), "nyckel".into(), &mut commands);
        assert!(commands.len() > 20);
        for c in commands {
            assert!(
                doc.contains(&format!("### `{c}")),
                "docs/cli.md has no section for `{c}`: add one with an example"
            );
        }
    }

    /// Pages of `size` over 0..total, continued by the last number seen.
    async fn numbers(
        total: u32,
        cursor: Option<String>,
        size: i64,
    ) -> Result<crate::paging::Page<u32>, crate::admin::AdminError> {
        let start = cursor.map_or(0, |c| c.parse::<u32>().expect("cursor") + 1);
        let items: Vec<u32> = (start..total).take(size.min(7) as usize).collect();
        let next_cursor = items
            .last()
            .filter(|l| **l + 1 < total)
            .map(|l| l.to_string());
        Ok(crate::paging::Page { items, next_cursor })
    }

    #[tokio::test]
    async fn all_pages_walks_to_the_end_or_the_limit() {
        let all = super::all_pages(None, |c, n| numbers(20, c, n))
            .await
            .expect("ok");
        assert_eq!(all, (0..20).collect::<Vec<_>>());
        let some = super::all_pages(Some(10), |c, n| numbers(20, c, n))
            .await
            .expect("ok");
        assert_eq!(some, (0..10).collect::<Vec<_>>());
        let none = super::all_pages(Some(5), |c, n| numbers(0, c, n))
            .await
            .expect("ok");
        assert!(none.is_empty());
    }

    #[test]
    fn utc_formats_civil_time() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_735_689_599), "2024-12-31 23:59:59 UTC");
    }
}
