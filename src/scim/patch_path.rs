//! PATCH operation paths (RFC 7644 section 3.5.2, Figure 7:
//! `PATH = attrPath / valuePath [subAttr]`), e.g. `name.givenName`,
//! `members[value eq "2819c223"]`, `emails[type eq "work"].value`, or an extension
//! attribute by URN. The bracketed value filter is parsed by the filter parser (`filter.rs`),
//! with the same length and depth limits. Applying an operation is not done here.

use serde_json::Value;

use super::filter::{AttrPath, Filter, FilterError, Parser};

/// A parsed PATCH `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    /// The attribute operated on (with its URN prefix, if written).
    pub attr: AttrPath,
    /// `attr[filter]`: which values of a multi-valued attribute are targeted.
    pub filter: Option<Filter>,
    /// `attr[filter].subAttr`: the sub-attribute of the selected values, as written.
    pub sub_attr: Option<String>,
}

/// Why a PATCH path was refused (all 400 `invalidPath`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text does not follow the grammar (includes the bracketed filter).
    #[error("{0}")]
    Syntax(#[from] FilterError),
    /// A value filter on a sub-attribute (`name.givenName[...]`): SCIM sub-attributes are
    /// never multi-valued complex attributes (RFC 7643 section 2.3.8).
    #[error("a value filter may only follow an attribute, not a sub-attribute")]
    FilterOnSubAttr,
}

impl PatchPath {
    /// Parses a `path` value.
    pub fn parse(input: &str) -> Result<PatchPath, PathError> {
        let mut parser = Parser::new(input)?;
        let attr = parser.attr_path()?;
        let filter = parser.bracketed_filter()?;
        let sub_attr = match filter {
            Some(_) if attr.sub_attr().is_some() => return Err(PathError::FilterOnSubAttr),
            Some(_) => parser.sub_attr()?,
            None => None,
        };
        parser.finish("the end of the path")?;
        Ok(PatchPath {
            attr,
            filter,
            sub_attr,
        })
    }

    /// Whether `value`, one value of the multi-valued [`PatchPath::attr`], is targeted:
    /// always without a filter, else when the filter matches it (`case_exact` as for
    /// [`Filter::matches`]).
    pub fn selects(&self, value: &Value, case_exact: &[&str]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.matches_value(value, &self.attr, case_exact))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimError;
    use crate::scim::filter::{CompValue, CompareOp};
    use serde_json::json;

    fn parse(input: &str) -> PatchPath {
        PatchPath::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn rfc_figure_8_examples() {
        let members = parse("members");
        assert_eq!(members.attr.path(), "members");
        assert_eq!((members.filter, members.sub_attr), (None, None));

        let family = parse("name.familyName");
        assert_eq!(family.attr.name(), "name");
        assert_eq!(family.attr.sub_attr(), Some("familyName"));
        assert!(family.filter.is_none());

        let work = parse(r#"addresses[type eq "work"]"#);
        assert_eq!(work.attr.path(), "addresses");
        assert!(matches!(
            &work.filter,
            Some(Filter::Compare { path, op: CompareOp::Eq, value: CompValue::Str(v) })
                if path.key() == "type" && v == "work"
        ));
        assert_eq!(work.sub_attr, None);

        let one = parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#);
        assert_eq!(one.attr.path(), "members");
        assert!(one.filter.is_some());
        assert_eq!(one.sub_attr, None);

        let display =
            parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#);
        assert_eq!(display.attr.path(), "members");
        assert!(display.filter.is_some());
        assert_eq!(display.sub_attr.as_deref(), Some("displayName"));
    }

    #[test]
    fn entra_and_okta_paths() {
        let email = parse(r#"emails[type eq "work"].value"#);
        assert_eq!(email.attr.key(), "emails");
        assert_eq!(email.sub_attr.as_deref(), Some("value"));

        let given = parse("name.givenName");
        assert_eq!(given.attr.key(), "name.givenname");

        let employee =
            parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber");
        assert_eq!(
            employee.attr.urn(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(employee.attr.path(), "employeeNumber");

        let manager =
            parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(manager.attr.name(), "manager");
        assert_eq!(manager.attr.sub_attr(), Some("value"));

        let street = parse(r#"addresses[type eq "work"].streetAddress"#);
        assert_eq!(street.sub_attr.as_deref(), Some("streetAddress"));
    }

    #[test]
    fn the_filter_selects_values() {
        let path = parse(r#"members[value eq "2819c223"]"#);
        assert!(path.selects(&json!({"value": "2819c223", "display": "Babs"}), &[]));
        assert!(path.selects(&json!({"value": "2819C223"}), &[]));
        assert!(!path.selects(&json!({"value": "2819C223"}), &["members.value"]));
        assert!(!path.selects(&json!({"value": "902c246b"}), &[]));

        let all = parse("members");
        assert!(all.selects(&json!({"value": "anything"}), &["members.value"]));

        let work = parse(r#"emails[type eq "work" and primary eq true].value"#);
        assert!(work.selects(&json!({"type": "work", "primary": true}), &[]));
        assert!(!work.selects(&json!({"type": "work", "primary": false}), &[]));
    }

    #[test]
    fn malformed_paths_are_invalid_path() {
        let cases = [
            "",
            "   ",
            "members[",
            r#"members[value eq "x""#,
            "members[value eq]",
            "members]",
            r#"members[value eq "x"]."#,
            r#"members[value eq "x"].1x"#,
            r#"members[value eq "x"].value.more"#,
            r#"members[value eq "x"] and x pr"#,
            r#"members[value eq "x"][type eq "y"]"#,
            "name.givenName.x",
            r#"name.givenName[value eq "x"]"#,
            "members value",
            r#""members""#,
            "members.",
            ".members",
            r#"members[value regex "x"]"#,
            "urn:x",
            "emails[type eq \"work]",
        ];
        for input in cases {
            let err = PatchPath::parse(input).expect_err(input);
            let scim = ScimError::from(err);
            assert_eq!(scim.scim_type(), Some("invalidPath"), "{input}");
            assert_eq!(scim.status(), 400, "{input}");
        }
    }

    #[test]
    fn limits_apply_to_the_bracketed_filter() {
        let deep = format!("members[{}value pr{}]", "(".repeat(40), ")".repeat(40));
        assert!(matches!(
            PatchPath::parse(&deep),
            Err(PathError::Syntax(FilterError::TooDeep { .. }))
        ));
        let long = format!(r#"members[value eq "{}"]"#, "x".repeat(5000));
        assert!(matches!(
            PatchPath::parse(&long),
            Err(PathError::Syntax(FilterError::TooLong { .. }))
        ));
    }
}
