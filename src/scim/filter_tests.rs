//! Tests of `scim::filter` (parsing, evaluation, limits) and of the Entra ID and Okta filter
//! shapes; a file of their own so that the module stays readable.

use super::*;
use crate::scim::error::ScimError;
use serde_json::json;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn parse(input: &str) -> Filter {
    Filter::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"))
}

fn matches(input: &str, resource: &Value) -> bool {
    parse(input).matches(resource, COMMON_CASE_EXACT)
}

fn path(text: &str) -> AttrPath {
    parse_attr_path(text, 0).unwrap()
}

fn eq(attr: &str, value: &str) -> Filter {
    Filter::Compare {
        path: path(attr),
        op: CompareOp::Eq,
        value: CompValue::Str(value.into()),
    }
}

fn pr(attr: &str) -> Filter {
    Filter::Present(path(attr))
}

fn bjensen() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen-ext",
        "userName": "bjensen",
        "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "loginCount": 42,
        "score": 2.5,
        "nickName": "",
        "profileUrl": null,
        "x509Certificates": [],
        "addresses": [{"type": null, "formatted": ""}],
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
        "meta": {
            "resourceType": "User",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"a330bc54f0671c9\""
        },
        ENTERPRISE: {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

/// RFC 7644 section 3.4.2.2, Figure 2, each with its result for `bjensen()`.
const RFC_EXAMPLES: [(&str, bool); 17] = [
    (r#"userName eq "bjensen""#, true),
    (r#"name.familyName co "O'Malley""#, true),
    (r#"userName sw "J""#, false),
    (
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        false,
    ),
    ("title pr", true),
    (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
    (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
    (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
    (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
    (r#"title pr and userType eq "Employee""#, true),
    (r#"title pr or userType eq "Intern""#, true),
    (
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        true,
    ),
    (
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        true,
    ),
    (
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        false,
    ),
    (
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        true,
    ),
    (
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        true,
    ),
    (
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        true,
    ),
];

#[test]
fn rfc_examples_parse_and_evaluate() {
    let user = bjensen();
    for (input, expected) in RFC_EXAMPLES {
        assert_eq!(matches(input, &user), expected, "{input}");
    }
    // The same filters on a different user flip where they should.
    let jsmith = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Jsmith",
        "userType": "Intern",
        "emails": [{"value": "j@example.net", "type": "home"}],
        "meta": {"lastModified": "2012-01-01T00:00:00Z"}
    });
    let flipped: Vec<bool> = RFC_EXAMPLES
        .iter()
        .map(|(f, _)| matches(f, &jsmith))
        .collect();
    assert_eq!(
        flipped,
        [
            false, false, true, true, false, true, true, false, false, false, true, false, false,
            true, false, false, false
        ]
    );
}

#[test]
fn rfc_example_shapes() {
    assert_eq!(
        parse(r#"title pr and userType eq "Employee""#),
        Filter::And(vec![pr("title"), eq("userType", "Employee")])
    );
    assert_eq!(
        parse(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#),
        Filter::And(vec![
            eq("userType", "Employee"),
            Filter::ValuePath {
                path: path("emails"),
                filter: Box::new(Filter::And(vec![
                    eq("type", "work"),
                    Filter::Compare {
                        path: path("value"),
                        op: CompareOp::Co,
                        value: CompValue::Str("@example.com".into()),
                    },
                ])),
            },
        ])
    );
    let urn = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#);
    let Filter::Compare { path, op, .. } = &urn else {
        panic!("{urn:?}")
    };
    assert_eq!(
        path.urn(),
        Some("urn:ietf:params:scim:schemas:core:2.0:User")
    );
    assert_eq!((path.path(), *op), ("userName", CompareOp::Sw));
}

#[test]
fn precedence_not_over_and_over_or() {
    assert_eq!(
        parse("a pr or b pr and c pr"),
        Filter::Or(vec![pr("a"), Filter::And(vec![pr("b"), pr("c")])])
    );
    assert_eq!(
        parse("a pr and b pr or c pr"),
        Filter::Or(vec![Filter::And(vec![pr("a"), pr("b")]), pr("c")])
    );
    assert_eq!(
        parse("not (a pr) and b pr"),
        Filter::And(vec![Filter::Not(Box::new(pr("a"))), pr("b")])
    );
    assert_eq!(
        parse("a pr or b pr or c pr"),
        Filter::Or(vec![pr("a"), pr("b"), pr("c")])
    );
    // The same by evaluation: title pr is true, nickName pr false, userName pr true.
    let user = bjensen();
    assert!(matches("title pr or nickName pr and nickName pr", &user));
    assert!(!matches("(title pr or nickName pr) and nickName pr", &user));
    assert!(!matches("not (title pr) and userName pr", &user));
    assert!(matches("not (nickName pr) and userName pr", &user));
}

#[test]
fn grouping() {
    assert_eq!(
        parse("a pr and (b pr or c pr)"),
        Filter::And(vec![pr("a"), Filter::Or(vec![pr("b"), pr("c")])])
    );
    assert_eq!(parse("((a pr))"), pr("a"));
    assert_eq!(
        parse("not(not (a pr))"),
        Filter::Not(Box::new(Filter::Not(Box::new(pr("a")))))
    );
}

#[test]
fn keywords_and_attribute_names_are_case_insensitive() {
    assert_eq!(
        parse(r#"userName Eq "john""#),
        parse(r#"Username eq "john""#)
    );
    assert_eq!(
        parse(r#"USERNAME EQ "x" AND TITLE PR OR NOT (A PR)"#),
        parse(r#"userName eq "x" and title pr or not (a pr)"#)
    );
    let user = bjensen();
    assert!(matches(r#"USERNAME eq "bjensen""#, &user));
    assert!(matches(r#"Name.FamilyName Co "o'malley""#, &user));
    assert!(matches(r#"EMAILS[TYPE eq "work"]"#, &user));
    assert!(!matches(r#"EMAILS[TYPE eq "other"]"#, &user));
    // Literals are JSON: lower case only.
    assert!(Filter::parse("active eq True").is_err());
}

#[test]
fn strings_compare_case_insensitively_unless_case_exact() {
    let user = bjensen();
    assert!(matches(r#"userName eq "BJensen""#, &user));
    assert!(matches(r#"userName sw "BJ""#, &user));
    assert!(matches(r#"userName ew "SEN""#, &user));
    assert!(matches(r#"title co "GUIDE""#, &user));
    assert!(!matches(r#"title co "guides""#, &user));
    // id and externalId are caseExact (RFC 7643 section 3.1).
    assert!(matches(
        r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
        &user
    ));
    assert!(!matches(
        r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
        &user
    ));
    assert!(!matches(r#"externalId eq "BJENSEN-EXT""#, &user));
    assert!(!matches(r#"meta.resourceType eq "user""#, &user));
    // ...because the caller said so: with no case-exact set they fold.
    let upper = parse(r#"id eq "2819C223-7F76-453A-919D-413861904646""#);
    assert!(upper.matches(&user, &[]));
    // Sub-attributes inside a value filter use the full path.
    let member = parse(r#"emails[value eq "BJENSEN@example.com"]"#);
    assert!(member.matches(&user, &[]));
    assert!(!member.matches(&user, &["emails.value"]));
    assert!(!parse(r#"emails.value eq "BJENSEN@example.com""#).matches(&user, &["EMAILS.VALUE"]));
}

#[test]
fn present_semantics() {
    let user = bjensen();
    assert!(matches("title pr", &user));
    assert!(matches("active pr", &user));
    assert!(matches("loginCount pr", &user));
    assert!(matches("emails pr", &user));
    assert!(matches("name pr", &user));
    assert!(matches("emails.type pr", &user));
    assert!(!matches("nickName pr", &user), "empty string");
    assert!(!matches("profileUrl pr", &user), "null");
    assert!(!matches("x509Certificates pr", &user), "empty array");
    assert!(
        !matches("addresses pr", &user),
        "complex value with only empty members"
    );
    assert!(!matches("phoneNumbers pr", &user), "absent");
    assert!(
        !matches("name.middleName pr", &user),
        "absent sub-attribute"
    );
    assert!(matches("not (nickName pr)", &user));
}

#[test]
fn multi_valued_any_match() {
    let user = bjensen();
    assert!(
        matches(r#"emails.value eq "babs@jensen.org""#, &user),
        "second value"
    );
    assert!(
        matches(r#"emails co "jensen.org""#, &user),
        "complex: via value"
    );
    assert!(!matches(r#"emails co "nowhere.org""#, &user));
    assert!(matches(r#"emails.type eq "home""#, &user));
    assert!(
        matches(r#"emails.type ne "work""#, &user),
        "home differs from work"
    );
    let one_email = json!({"emails": [{"value": "a@b.c", "type": "work"}]});
    assert!(!matches(r#"emails.type ne "work""#, &one_email));
    // A value filter needs one value meeting all of its conditions...
    let split = json!({"emails": [
        {"type": "work", "value": "a@other.org"},
        {"type": "home", "value": "b@example.com"}
    ]});
    assert!(!matches(
        r#"emails[type eq "work" and value co "@example"]"#,
        &split
    ));
    assert!(matches(
        r#"emails[type eq "home" and value co "@example"]"#,
        &split
    ));
    // ...where separate paths may be met by different values.
    assert!(matches(
        r#"emails.type eq "work" and emails.value co "@example""#,
        &split
    ));
    // Group members by id.
    let group = json!({"members": [{"value": "id-1"}, {"value": "id-2"}]});
    assert!(matches(r#"members eq "id-2""#, &group));
    assert!(matches(r#"members.value eq "id-1""#, &group));
    assert!(!matches(r#"members eq "id-3""#, &group));
}

#[test]
fn absent_attributes_match_no_comparison() {
    let user = bjensen();
    for op in ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
        assert!(!matches(&format!(r#"nickname2 {op} "x""#), &user), "{op}");
    }
    assert!(matches(r#"not (nickname2 eq "x")"#, &user));
}

#[test]
fn numbers_booleans_and_null() {
    let user = bjensen();
    assert!(matches("loginCount eq 42", &user));
    assert!(matches("loginCount eq 42.0", &user));
    assert!(matches("loginCount ne 41", &user));
    assert!(matches("loginCount gt 41", &user));
    assert!(!matches("loginCount gt 42", &user));
    assert!(matches("loginCount ge 42", &user));
    assert!(matches("loginCount lt 1e2", &user));
    assert!(!matches("loginCount lt -1", &user));
    assert!(matches("loginCount le 42", &user));
    assert!(matches("score gt 2.4", &user));
    assert!(!matches("score gt 2.5", &user));
    assert!(matches("score lt 3", &user));
    assert!(!matches(r#"loginCount eq "42""#, &user), "string vs number");
    assert!(!matches(r#"userName eq 5"#, &user), "number vs string");

    assert!(matches("active eq true", &user));
    assert!(!matches("active eq false", &user));
    assert!(matches("active ne false", &user));
    assert!(!matches(r#"active eq "true""#, &user), "string vs boolean");

    assert!(matches("profileUrl eq null", &user), "null");
    assert!(matches("phoneNumbers eq null", &user), "absent");
    assert!(matches("x509Certificates eq null", &user), "empty array");
    assert!(!matches("title eq null", &user));
    assert!(matches("title ne null", &user));
    assert!(!matches("profileUrl ne null", &user));
}

#[test]
fn json_string_escapes() {
    let filter = parse(r#"displayName eq "a\"b\\c\u00e9\/d\n""#);
    assert_eq!(filter, eq("displayName", "a\"b\\cé/d\n"));
    assert!(filter.matches(&json!({"displayName": "A\"B\\CÉ/D\n"}), &[]));
    assert!(!filter.matches(&json!({"displayName": "a\"b\\ce/d\n"}), &[]));
    assert_eq!(parse(r#"x eq "😀 \ud83d\ude00""#), eq("x", "😀 😀"));
}

#[test]
fn urn_paths() {
    let user = bjensen();
    assert!(matches(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#,
        &user
    ));
    assert!(matches(
        r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME eq "bjensen""#,
        &user
    ));
    assert!(matches(
        &format!(r#"{ENTERPRISE}:employeeNumber eq "701984""#),
        &user
    ));
    assert!(!matches(
        &format!(r#"{ENTERPRISE}:employeeNumber eq "701985""#),
        &user
    ));
    assert!(matches(
        &format!(r#"{ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#),
        &user
    ));
    // Not the top level for an extension, and not for a schema the resource lacks.
    assert!(!matches(
        &format!(r#"{ENTERPRISE}:userName eq "bjensen""#),
        &user
    ));
    assert!(!matches(
        r#"urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "bjensen""#,
        &user
    ));
}

#[test]
fn long_or_chains_cost_no_depth() {
    let ids: Vec<String> = (0..150).map(|i| format!(r#"id eq "id-{i}""#)).collect();
    let filter = parse(&ids.join(" or "));
    assert!(matches!(&filter, Filter::Or(items) if items.len() == 150));
    assert!(filter.matches(&json!({"id": "id-149"}), COMMON_CASE_EXACT));
    assert!(!filter.matches(&json!({"id": "id-150"}), COMMON_CASE_EXACT));
}

fn refused(input: &str) -> FilterError {
    let err = Filter::parse(input).expect_err(input);
    let scim = ScimError::from(err.clone());
    assert_eq!(
        (scim.status(), scim.scim_type()),
        (400, Some("invalidFilter"))
    );
    err
}

#[test]
fn malformed_filters_are_refused() {
    use FilterError as E;
    assert_eq!(refused(""), E::Empty);
    assert_eq!(refused(" \t "), E::Empty);
    assert_eq!(
        refused(r#"userName eq "bjensen"#),
        E::UnterminatedString { at: 12 }
    );
    assert_eq!(
        refused("userName eq \"a\\\""),
        E::UnterminatedString { at: 12 }
    );
    assert_eq!(refused(r#"userName eq "\q""#), E::InvalidString { at: 12 });
    assert_eq!(
        refused("userName eq \"a\u{1}\""),
        E::InvalidString { at: 12 }
    );
    assert_eq!(refused("loginCount eq 01"), E::InvalidNumber { at: 14 });
    assert_eq!(refused("loginCount eq 1."), E::InvalidNumber { at: 14 });
    assert_eq!(
        refused(r#"userName regex "x""#),
        E::UnknownOperator {
            op: "regex".into(),
            at: 9
        }
    );
    assert!(
        refused(r#"userName regex "x""#)
            .to_string()
            .contains("'regex'")
    );
    assert!(matches!(refused("userName eq"), E::Expected { at: 11, .. }));
    assert!(matches!(
        refused("userName"),
        E::Expected {
            expected: "an operator",
            ..
        }
    ));
    assert!(matches!(
        refused("meta.resourceType eq User"),
        E::Expected { at: 21, .. }
    ));
    assert!(matches!(refused("userName eq 'x'"), E::Expected { .. }));
    assert!(matches!(
        refused(r#"userName eq "x" foo"#),
        E::Expected { at: 16, .. }
    ));
    assert!(matches!(
        refused(r#"userName eq "x" and"#),
        E::Expected { at: 19, .. }
    ));
    assert!(matches!(
        refused(r#"(userName eq "x""#),
        E::Expected {
            expected: "')'",
            ..
        }
    ));
    assert!(matches!(
        refused(r#"userName eq "x")"#),
        E::Expected { at: 15, .. }
    ));
    assert!(matches!(refused("()"), E::Expected { .. }));
    assert!(matches!(
        refused(r#"emails[type eq "work""#),
        E::Expected {
            expected: "']'",
            ..
        }
    ));
    assert!(matches!(
        refused(r#"emails[type eq "work")"#),
        E::Expected { .. }
    ));
    assert!(matches!(
        refused(r#"emails[type eq "work"].value eq "x""#),
        E::Expected { .. }
    ));
    assert!(matches!(
        refused(r#"emails[type eq "work"] pr"#),
        E::Expected { .. }
    ));
    assert!(matches!(
        refused(r#"not userName eq "x""#),
        E::Expected { .. }
    ));
    assert!(matches!(
        refused(r#"and userName eq "x""#),
        E::Expected { .. }
    ));
    assert!(matches!(
        refused(r#""userName" eq "x""#),
        E::Expected { .. }
    ));
    assert!(matches!(refused(r#"1userName eq "x""#), E::Expected { .. }));
    assert!(matches!(
        refused(r#"user$name eq "x""#),
        E::InvalidAttrPath { .. }
    ));
    assert!(matches!(
        refused(r#"name.given.more eq "x""#),
        E::InvalidAttrPath { .. }
    ));
    assert!(matches!(
        refused(r#"foo:userName eq "x""#),
        E::InvalidAttrPath { .. }
    ));
    assert!(matches!(
        refused(r#"urn:userName eq "x""#),
        E::InvalidAttrPath { .. }
    ));
    assert!(matches!(
        refused("active gt true"),
        E::UnsupportedComparison { .. }
    ));
    assert!(matches!(
        refused("title lt null"),
        E::UnsupportedComparison { .. }
    ));
    assert!(matches!(
        refused("title co null"),
        E::UnsupportedComparison { .. }
    ));
    assert!(matches!(
        refused("loginCount co 4"),
        E::UnsupportedComparison { .. }
    ));
    assert!(matches!(
        refused("active sw false"),
        E::UnsupportedComparison { .. }
    ));
}

#[test]
fn non_ascii_input() {
    let user = json!({"displayName": "ZOË Ærø", "userName": "zoë"});
    assert!(matches(r#"displayName eq "zoë ærø""#, &user));
    assert!(matches(r#"displayName sw "Zoë""#, &user));
    assert!(!matches(r#"displayName eq "zoe aero""#, &user));
    assert!(matches!(
        refused(r#"userNäme eq "x""#),
        FilterError::InvalidAttrPath { .. }
    ));
    assert!(matches!(
        refused("x eq 1é"),
        FilterError::Expected { at: 6, .. }
    ));
    assert!(matches!(refused("é"), FilterError::InvalidAttrPath { .. }));
    assert!(matches!(
        refused("x eq \"é"),
        FilterError::UnterminatedString { at: 5 }
    ));
}

#[test]
fn length_limit() {
    let value = "x".repeat(MAX_FILTER_LEN - r#"userName eq """#.len());
    let at_limit = format!(r#"userName eq "{value}""#);
    assert_eq!(at_limit.len(), MAX_FILTER_LEN);
    assert!(Filter::parse(&at_limit).is_ok());
    let over = format!(r#"userName eq "{value}x""#);
    assert_eq!(
        refused(&over),
        FilterError::TooLong {
            max: MAX_FILTER_LEN
        }
    );
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}userName pr{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(parse(&nested(MAX_DEPTH)), pr("userName"));
    assert_eq!(
        refused(&nested(MAX_DEPTH + 1)),
        FilterError::TooDeep { max: MAX_DEPTH }
    );
    let nots = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    assert!(Filter::parse(&nots(MAX_DEPTH)).is_ok());
    assert_eq!(
        refused(&nots(MAX_DEPTH + 1)),
        FilterError::TooDeep { max: MAX_DEPTH }
    );
    let brackets = |n: usize| format!("{}a pr{}", "x[".repeat(n), "]".repeat(n));
    assert!(Filter::parse(&brackets(MAX_DEPTH)).is_ok());
    assert_eq!(
        refused(&brackets(MAX_DEPTH + 1)),
        FilterError::TooDeep { max: MAX_DEPTH }
    );
    // Far past the limit fails the same way, before recursing further.
    assert_eq!(
        refused(&"(".repeat(2000)),
        FilterError::TooDeep { max: MAX_DEPTH }
    );
}

#[test]
fn simple_equality_extraction() {
    let extension = format!(r#"{ENTERPRISE}:employeeNumber eq "x""#);
    let cases: [(&str, Option<(&str, &str)>); 12] = [
        (r#"userName eq "x""#, Some(("username", "x"))),
        (
            r#"UserName EQ "Mixed Case""#,
            Some(("username", "Mixed Case")),
        ),
        (r#"(userName eq "x")"#, Some(("username", "x"))),
        (r#"name.familyName eq "x""#, Some(("name.familyname", "x"))),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#,
            Some(("username", "x")),
        ),
        (&extension, None),
        (r#"userName ne "x""#, None),
        (r#"userName co "x""#, None),
        ("loginCount eq 5", None),
        (r#"userName eq "x" and title pr"#, None),
        (r#"emails[value eq "x"]"#, None),
        (r#"not (userName eq "x")"#, None),
    ];
    for (input, expected) in cases {
        assert_eq!(simple_equality(&parse(input)), expected, "{input}");
    }
}

#[test]
fn entra_id_and_okta_shapes() {
    let entra_user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "5d48a0a8e9f04aa38008",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User@contoso.com",
        "active": true
    });
    let other_user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "externalId": "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF",
        "userName": "other@contoso.com"
    });
    let by_name = parse(r#"userName eq "test_user@contoso.com""#);
    assert_eq!(
        simple_equality(&by_name),
        Some(("username", "test_user@contoso.com"))
    );
    assert!(by_name.matches(&entra_user, COMMON_CASE_EXACT));
    assert!(!by_name.matches(&other_user, COMMON_CASE_EXACT));

    let by_external = parse(r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#);
    assert_eq!(
        simple_equality(&by_external),
        Some(("externalid", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"))
    );
    assert!(by_external.matches(&entra_user, COMMON_CASE_EXACT));
    assert!(
        !by_external.matches(&other_user, COMMON_CASE_EXACT),
        "caseExact"
    );

    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Group",
        "members": [{"value": "5d48a0a8e9f04aa38008"}]
    });
    let by_display = parse(r#"displayName eq "Group""#);
    assert_eq!(simple_equality(&by_display), Some(("displayname", "Group")));
    assert!(by_display.matches(&group, COMMON_CASE_EXACT));
    assert!(!by_display.matches(&json!({"displayName": "Group 2"}), COMMON_CASE_EXACT));

    let okta = parse(r#"userName eq "jane@example.org""#);
    assert_eq!(
        simple_equality(&okta),
        Some(("username", "jane@example.org"))
    );
    assert!(okta.matches(&json!({"userName": "Jane@Example.org"}), COMMON_CASE_EXACT));
    assert!(!okta.matches(&json!({"userName": "jane@example.com"}), COMMON_CASE_EXACT));
}
