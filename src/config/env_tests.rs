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

#[test]
fn the_time_zone_is_checked() {
    let c = load(&[("NYCKEL_TIME_ZONE", "UTC")]).expect("loads");
    assert_eq!(c.time_zone, "UTC");
    assert_eq!(c.display_time_zone(), jiff::tz::TimeZone::UTC);
    let e = load(&[("NYCKEL_TIME_ZONE", "Mars/Olympus_Mons")]).expect_err("refused");
    assert!(e.to_string().contains("time_zone"), "{e}");
    assert_eq!(Config::default().time_zone, "Europe/Stockholm");
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

/// Every `NYCKEL_*` variable in an "Environment" column of docs/configuration.md, with
/// `NAME_FILE` added where the cell says "(or `_FILE`)".
fn documented_variables(doc: &str) -> Vec<String> {
    let mut vars = std::collections::BTreeSet::new();
    let mut column = None;
    for line in doc.lines().map(str::trim) {
        if !line.starts_with('|') {
            column = None;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if let Some(i) = cells.iter().position(|c| *c == "Environment") {
            column = Some(i);
            continue;
        }
        let Some(cell) = column.and_then(|i| cells.get(i)) else {
            continue;
        };
        let names: Vec<String> = cell
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|code| {
                let name: String = code
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                name.starts_with(env::ENV_PREFIX).then_some(name)
            })
            .collect();
        if let Some(first) = names.first().filter(|_| cell.contains("`_FILE`")) {
            vars.insert(format!("{first}_FILE"));
        }
        vars.extend(names);
    }
    vars.into_iter().collect()
}

/// The loaded value at `path`, as `nyckel.toml` would spell it.
fn value_at(c: &Config, path: &[String]) -> Option<toml::Value> {
    let mut value = toml::Value::try_from(c).expect("the configuration serialises");
    for segment in path {
        value = value.as_table_mut()?.remove(segment)?;
    }
    Some(value)
}

/// Loads (without validation: the values test types, not policy) with `var` set to `text`
/// (written to a file for a `*_FILE` secret), recording what the field asked for.
fn load_one(
    var: &str,
    text: &str,
    dir: &Path,
) -> (Result<Config, ConfigError>, Option<env::Asked>) {
    let target = env::target(var).expect("a configuration variable");
    let value = if target.reads_file {
        let file = dir.join(var);
        std::fs::write(&file, format!("{text}\n")).expect("write");
        file.to_str().expect("utf8").to_string()
    } else {
        text.to_string()
    };
    env::ASKED.with(|a| a.set(None));
    let loaded = Config::layered(None, [(var.to_string(), value)]);
    (loaded, env::ASKED.with(|a| a.get()))
}

/// Values of each type to write, and what the loaded configuration must then hold. Text is
/// tried with forms a guess would take for a number, a boolean, a list or a date.
fn representatives(asked: env::Asked) -> Vec<(String, toml::Value)> {
    use toml::Value as V;
    let text = |s: &str| (s.to_string(), V::String(s.to_string()));
    match asked {
        env::Asked::Text => [
            "+46701234567",
            "0012",
            "true",
            "1.5",
            "[x]",
            "2025-01-01",
            " a b ",
        ]
        .into_iter()
        .map(text)
        .collect(),
        env::Asked::Integer => vec![("42".into(), V::Integer(42))],
        env::Asked::Float => vec![("1.5".into(), V::Float(1.5))],
        env::Asked::Bool => vec![
            ("true".into(), V::Boolean(true)),
            ("false".into(), V::Boolean(false)),
        ],
        env::Asked::List => vec![(
            "[\"0012\", \"46\"]".into(),
            V::Array(vec![V::String("0012".into()), V::String("46".into())]),
        )],
        env::Asked::Variant(names) => names.iter().map(|n| text(n)).collect(),
        // A field of several types (text or number) keeps the text or its number.
        env::Asked::Any => vec![text("3")],
    }
}

#[test]
fn every_documented_variable_loads_with_a_value_of_its_type() {
    let doc = include_str!("../../docs/configuration.md");
    let vars = documented_variables(doc);
    assert!(vars.len() >= 90, "the tables were not found: {vars:?}");
    assert!(vars.contains(&"NYCKEL_SMS__FROM".to_string()), "{vars:?}");
    let dir = tempfile::tempdir().expect("dir");
    let mut failures = Vec::new();
    for var in &vars {
        let Ok(target) = env::target(var) else {
            failures.push(format!("{var}: not a configuration variable"));
            continue;
        };
        let (probe, asked) = load_one(var, "1", dir.path());
        let Some(asked) = asked else {
            failures.push(format!("{var}: does not load: {:?}", probe.err()));
            continue;
        };
        for (text, expected) in representatives(asked) {
            match load_one(var, &text, dir.path()).0 {
                Ok(c) => {
                    let found = value_at(&c, &target.path);
                    let same = match (&found, &expected) {
                        (Some(toml::Value::Integer(n)), toml::Value::String(s)) => {
                            asked == env::Asked::Any && n.to_string() == *s
                        }
                        (found, expected) => found.as_ref() == Some(expected),
                    };
                    if !same {
                        failures.push(format!("{var}={text:?} ({asked:?}) loaded as {found:?}"));
                    }
                }
                Err(e) => failures.push(format!("{var}={text:?} ({asked:?}): {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_name_the_variable_and_the_key() {
    let err = load(&[("NYCKEL_SMS__TIMEOUT", "ten")]).expect_err("not a number");
    let text = err.to_string();
    assert!(
        text.contains("NYCKEL_SMS__TIMEOUT") && text.contains("\"ten\""),
        "{text}"
    );
    let err = load(&[("NYCKEL_LOGIN__EMAIL_LINKS", "yes")]).expect_err("not a boolean");
    assert!(
        err.to_string().contains("NYCKEL_LOGIN__EMAIL_LINKS"),
        "{err}"
    );
    let err = load(&[("NYCKEL_SMS__FORM", "x")]).expect_err("unknown key");
    assert!(err.to_string().contains("NYCKEL_SMS__FORM"), "{err}");
    assert!(err.to_string().contains("unknown field `form`"), "{err}");
    let err = load(&[("NYCKEL_SMSS__FROM", "x")]).expect_err("unknown section");
    assert!(err.to_string().contains("NYCKEL_SMSS__FROM"), "{err}");
    let err = load(&[("NYCKEL_TRUSTED_PROXIES", "10.0.0.1")]).expect_err("not a list");
    assert!(err.to_string().contains("NYCKEL_TRUSTED_PROXIES"), "{err}");
    let err = load(&[("NYCKEL_SMS", "x")]).expect_err("a section");
    assert!(err.to_string().contains("NYCKEL_SMS"), "{err}");
    let err = load(&[("NYCKEL_TLS__MODE", "on")]).expect_err("no such mode");
    assert!(err.to_string().contains("NYCKEL_TLS__MODE"), "{err}");
    assert!(
        load(&[("NYCKEL_TEST_ANYTHING", "x")]).is_ok(),
        "NYCKEL_TEST_* is ignored"
    );
}

#[test]
fn file_values_keep_their_toml_types_and_errors_name_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("nyckel.toml");
    std::fs::write(
        &file,
        "[sms]\nfrom = \"Roddklubben\"\ntimeout = 15\nallowed_countries = [46, \"47\"]\n[backup]\nkeep_yearly = 3\n",
    )
    .expect("write");
    let c = Config::load_from(
        Some(&file),
        [("NYCKEL_SMS__FROM".into(), "+46701234567".into())],
    )
    .expect("loads");
    assert_eq!(c.sms.from, "+46701234567", "the environment wins");
    assert_eq!(c.sms.timeout, 15);
    assert_eq!(c.sms.allowed_countries, vec!["46", "47"]);
    assert_eq!(c.backup.keep_yearly, Some(KeepYearly::Count(3)));
    std::fs::write(&file, "[sms]\ntimeout = \"15\"\n").expect("write");
    let err = Config::load_from(Some(&file), []).expect_err("a string in a number key");
    let text = err.to_string();
    assert!(
        text.contains("sms.timeout") && text.contains("nyckel.toml"),
        "{text}"
    );
}
