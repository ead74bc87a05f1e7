//! Tests of the environment layer: a value is typed by the field it lands in, so a string
//! field gets exactly what was written (an E.164 number, all-digit ids and tokens, `true`),
//! while number, boolean and list fields still parse.

use proptest::prelude::*;

use super::*;

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load_from(
        None,
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn strings_that_look_like_numbers_stay_strings() {
    let c = load(&[
        ("NYCKEL_SMS__FROM", "+46701234567"),
        ("NYCKEL_SMS__ACCOUNT", "0012345"),
        ("NYCKEL_BACKUP__NODE", "007"),
        ("NYCKEL_MAIL__SMTP_USERNAME", "12345678"),
        ("NYCKEL_LOG__FILTER", "true"),
    ])
    .expect("the documented forms load");
    assert_eq!(c.sms.from, "+46701234567");
    assert_eq!(c.sms.account.as_deref(), Some("0012345"));
    assert_eq!(c.backup.node.as_deref(), Some("007"));
    assert_eq!(c.mail.smtp_username.as_deref(), Some("12345678"));
    assert_eq!(c.log.filter, "true");
}

#[test]
fn all_digit_secrets_from_files_stay_strings() {
    let dir = tempfile::tempdir().expect("dir");
    let token = dir.path().join("token");
    std::fs::write(&token, "000123456789\n").expect("write");
    let c = load(&[
        ("NYCKEL_SMS__GATEWAY", "46elks"),
        ("NYCKEL_SMS__ACCOUNT", "4600000000"),
        ("NYCKEL_SMS__TOKEN_FILE", token.to_str().expect("utf8")),
    ])
    .expect("loads");
    assert_eq!(c.sms.token.as_deref(), Some("000123456789"));
    assert_eq!(c.sms.account.as_deref(), Some("4600000000"));
}

#[test]
fn numbers_booleans_and_lists_still_parse() {
    let c = load(&[
        ("NYCKEL_SMS__TIMEOUT", "20"),
        ("NYCKEL_MAIL__SMTP_PORT", "465"),
        ("NYCKEL_LOGIN__EMAIL_LINKS", "false"),
        ("NYCKEL_TRUSTED_PROXIES", "[\"10.0.0.1\", \"10.0.0.2\"]"),
        ("NYCKEL_SMS__ALLOWED_COUNTRIES", "[46, \"47\"]"),
        ("NYCKEL_SMS__DEFAULT_COUNTRY", "47"),
        ("NYCKEL_TLS__MODE", "off"),
    ])
    .expect("loads");
    assert_eq!(c.sms.timeout, 20);
    assert_eq!(c.mail.smtp_port, 465);
    assert!(!c.login.email_links);
    assert_eq!(c.trusted_proxies, vec!["10.0.0.1", "10.0.0.2"]);
    assert_eq!(c.sms.allowed_countries, vec!["46", "47"]);
    assert_eq!(c.sms.default_country, "47");
    assert_eq!(c.tls.mode, TlsMode::Off);
}

/// String fields no validation looks into, so any value must come back as written.
const FREE_STRING_FIELDS: &[&str] = &[
    "NYCKEL_SMS__ACCOUNT",
    "NYCKEL_BACKUP__NODE",
    "NYCKEL_MAIL__SMTP_USERNAME",
    "NYCKEL_LOG__FILTER",
];

fn field<'c>(c: &'c Config, var: &str) -> Option<&'c str> {
    match var {
        "NYCKEL_SMS__ACCOUNT" => c.sms.account.as_deref(),
        "NYCKEL_BACKUP__NODE" => c.backup.node.as_deref(),
        "NYCKEL_MAIL__SMTP_USERNAME" => c.mail.smtp_username.as_deref(),
        "NYCKEL_LOG__FILTER" => Some(c.log.filter.as_str()),
        _ => None,
    }
}

/// Any string (an environment value never holds NUL), weighted towards the forms a guess
/// would take for something else: numbers, signed numbers, booleans, lists, floats, dates.
fn env_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| s.replace('\0', "")),
        "[+-]?[0-9]{1,24}",
        "(true|false|TRUE|yes|0x1F|1e3|inf|nan)",
        "\\[[ -~]{0,12}\\]",
        "[0-9]{1,4}\\.[0-9]{0,4}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?",
        "[ \t]{0,2}[0-9a-z\"']{0,8}[ \t]{0,2}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_string_for_a_string_field_round_trips(
        var in proptest::sample::select(FREE_STRING_FIELDS),
        value in env_string(),
    ) {
        let c = load(&[(var, value.as_str())]);
        prop_assert!(c.is_ok(), "{var}={value:?}: {:?}", c.err());
        let c = c.expect("checked");
        prop_assert_eq!(field(&c, var), Some(value.as_str()));
    }
}
