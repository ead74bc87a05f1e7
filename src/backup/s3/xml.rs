//! The little of S3's XML answers that the destination reads, without an XML crate: the keys,
//! `IsTruncated` and `NextContinuationToken` of a `ListObjectsV2` page, and the `Code` and
//! `Message` of an error. S3 escapes `<` in text, so a tag name found by plain search is a
//! tag, not text.

/// One page of `ListObjectsV2`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ListPage {
    pub keys: Vec<String>,
    /// The token for the next page, when the listing is truncated.
    pub next: Option<String>,
    pub truncated: bool,
}

/// Reads a `ListBucketResult` document; `None` when it is not one.
pub(super) fn list_page(doc: &str) -> Option<ListPage> {
    if !doc.contains("<ListBucketResult") {
        return None;
    }
    let mut keys = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("<Contents>") {
        let after = &rest[start + "<Contents>".len()..];
        let end = after.find("</Contents>")?;
        keys.push(unescape(element(&after[..end], "Key")?)?);
        rest = &after[end..];
    }
    let truncated = element(doc, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = match element(doc, "NextContinuationToken") {
        Some(token) => Some(unescape(token)?),
        None => None,
    }
    .filter(|t| !t.is_empty());
    Some(ListPage {
        keys,
        next,
        truncated,
    })
}

/// The `Code` and `Message` of an S3 `Error` document, when present.
pub(super) fn error(doc: &str) -> (Option<String>, Option<String>) {
    let field = |name| element(doc, name).and_then(unescape);
    (field("Code"), field("Message"))
}

/// The text of the first `<name>...</name>` in `doc`.
fn element<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&close)? + start;
    Some(&doc[start..end])
}

/// XML text with its entity and character references replaced; `None` for a malformed one.
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';')?;
        let entity = &after[..semi];
        let ch = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()?
                } else {
                    entity.strip_prefix('#')?.parse().ok()?
                };
                char::from_u32(code)?
            }
        };
        out.push(ch);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_page() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>p/a&amp;b</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><Size>3</Size></Contents>
<Contents><Key>p/&#x263A; &lt;x&gt;&#65;</Key><Size>1</Size></Contents>
<NextContinuationToken>1a/b+c=</NextContinuationToken></ListBucketResult>"#;
        assert_eq!(
            list_page(doc),
            Some(ListPage {
                keys: vec!["p/a&b".into(), "p/\u{263A} <x>A".into()],
                next: Some("1a/b+c=".into()),
                truncated: true,
            })
        );
    }

    #[test]
    fn an_empty_last_page() {
        let doc = "<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>";
        assert_eq!(
            list_page(doc),
            Some(ListPage {
                keys: vec![],
                next: None,
                truncated: false,
            })
        );
    }

    #[test]
    fn not_a_listing_or_malformed() {
        assert_eq!(list_page("<Error><Code>AccessDenied</Code></Error>"), None);
        assert_eq!(
            list_page(
                "<ListBucketResult><Contents><Key>a&bogus</Key></Contents></ListBucketResult>"
            ),
            None
        );
        assert_eq!(list_page("<ListBucketResult><Contents><Key>a</Key>"), None);
    }

    #[test]
    fn error_code_and_message() {
        let doc = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>x</Key></Error>";
        assert_eq!(
            error(doc),
            (
                Some("NoSuchKey".into()),
                Some("The specified key does not exist.".into())
            )
        );
        assert_eq!(error("not xml"), (None, None));
    }
}
