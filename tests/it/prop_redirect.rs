//! Properties of redirect-URI registration and matching (`oidc::redirect`; SECURITY.md
//! 10.4.1, RFC 9700 2.1, RFC 8252 7.3): requested URIs are built from spellings that URL
//! parsers treat as equal (`127.1`, `0x7f000001`, `2130706433`, `/cb/../cb`, `HTTP:`, a
//! default port) and from plain mutations, and must match a registration only as the
//! specification says.

use nyckel::oidc::redirect::{matches, validate_registered};
use proptest::prelude::*;

use crate::helpers::prop::{config, hostile, hostile_or};

/// Registrations: loopback ones a native app would use, and web ones.
const REGISTERED: &[&str] = &[
    "http://127.0.0.1/cb",
    "http://127.0.0.1:8080/cb",
    "http://127.0.0.1:5555/cb",
    "http://[::1]/cb",
    "http://[::1]:8080/cb",
    "http://localhost/cb",
    "http://localhost:3000/cb",
    "http://127.0.0.1/cb?app=1",
    "https://app.example/cb",
    "https://app.example:8443/cb",
];

/// Loopback registrations by IP literal, for which RFC 8252 7.3 allows any port.
const LOOPBACK_IP: &[&str] = &[
    "http://127.0.0.1/cb",
    "http://127.0.0.1:8080/cb",
    "http://[::1]/cb",
    "http://[::1]:8080/cb",
    "http://127.0.0.1/cb?app=1",
];

const SCHEMES: &[&str] = &[
    "http://",
    "https://",
    "HTTP://",
    "Http://",
    "http:/",
    "http:\\\\",
];
const USERINFO: &[&str] = &["", "", "", "u@", "u:p@", "127.0.0.1@", ":@"];
const HOSTS: &[&str] = &[
    "127.0.0.1",
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "0x7f000001",
    "0x7f.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "127.0.0.01",
    "127.000.000.001",
    "127.0.0.1.",
    "%31%32%37.0.0.1",
    "127.0.0.2",
    "[::1]",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::0001]",
    "[::ffff:127.0.0.1]",
    "localhost",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "app.example",
    "app.example",
    "APP.example",
    "app.example.",
    "evil.example",
];
const PORTS: &[&str] = &[
    "", "", "", ":", ":0", ":80", ":443", ":080", ":8080", ":8443", ":5555", ":3000", ":65535",
    ":65536", ":99999", ":-1", ":0x50",
];
const PATHS: &[&str] = &[
    "/cb",
    "/cb",
    "/cb",
    "/cb/",
    "/CB",
    "/Cb",
    "/cb/../cb",
    "/x/../cb",
    "/./cb",
    "/cb/.",
    "//cb",
    "/%63b",
    "/c%62",
    "/cb%2F",
    "/cb%00",
    "\\cb",
    "",
    "/",
    "/cb;x",
    "/cb/.%2e/cb",
];
const QUERIES: &[&str] = &["", "", "", "?", "?app=1", "?app=1&x=2", "?APP=1", "?x"];
const FRAGMENTS: &[&str] = &["", "", "", "#", "#x"];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(list)
}

/// A requested URI assembled from the parts above, or a registered URI with a random port, or
/// a registered URI with one character changed, inserted or removed.
fn requested() -> impl Strategy<Value = String> {
    let assembled = (
        (pick(SCHEMES), pick(USERINFO), pick(HOSTS), pick(PORTS)),
        (pick(PATHS), pick(QUERIES), pick(FRAGMENTS)),
    )
        .prop_map(|((s, u, h, p), (path, q, f))| format!("{s}{u}{h}{p}{path}{q}{f}"));
    let reported = pick(REGISTERED)
        .prop_flat_map(|r| (Just(r), any::<u16>()))
        .prop_map(|(r, port)| with_port(r, &port.to_string()));
    let mutated = (
        pick(REGISTERED),
        any::<prop::sample::Index>(),
        any::<char>(),
        0..3u8,
    )
        .prop_map(|(r, at, c, how)| {
            let mut chars: Vec<char> = r.chars().collect();
            let i = at.index(chars.len());
            match how {
                0 => chars[i] = c,
                1 => chars.insert(i, c),
                _ => {
                    chars.remove(i);
                }
            }
            chars.into_iter().collect()
        });
    prop_oneof![
        3 => assembled,
        1 => reported,
        1 => mutated,
        1 => pick(REGISTERED).prop_map(str::to_string),
    ]
}

fn registrations() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(pick(REGISTERED).prop_map(str::to_string), 1..4)
}

/// `uri` split around its port: (`scheme://host`, port digits, rest). The host is taken
/// literally, as written; only `http://` and `https://` URIs have parts.
fn split_port(uri: &str) -> Option<(&str, &str, &str)> {
    let after_scheme = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))?;
    let authority_len = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let scheme_len = uri.len() - after_scheme.len();
    let authority = &after_scheme[..authority_len];
    let rest = &after_scheme[authority_len..];
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !port.contains(']') => (host, port),
        _ => (authority, ""),
    };
    Some((&uri[..scheme_len + host.len()], port, rest))
}

/// `uri` with its port digits replaced by `port` (`""` for none).
fn with_port(uri: &str, port: &str) -> String {
    let (base, _, rest) = split_port(uri).expect("an http(s) URI");
    if port.is_empty() {
        format!("{base}{rest}")
    } else {
        format!("{base}:{port}{rest}")
    }
}

/// RFC 8252 7.3 as this project reads it: `requested` is `registered` (an `http` URI) with
/// at most its port digits changed; the host literal and everything after the port are the
/// same characters.
fn same_but_port(registered: &str, requested: &str) -> bool {
    match (split_port(registered), split_port(requested)) {
        (Some((reg_base, _, reg_rest)), Some((req_base, port, req_rest))) => {
            registered.starts_with("http://")
                && reg_base == req_base
                && reg_rest == req_rest
                && port.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_matching_and_registration_never_panic(
        requested in prop_oneof![requested(), hostile_or(&["http://", "127.0.0.1", ":", "/", "@", "[", "]", "%", "#", "?", "\\", "."])],
        registered in prop_oneof![registrations(), proptest::collection::vec(hostile(), 0..3)],
        public in any::<bool>(),
    ) {
        let _ = matches(&registered, &requested, public);
        let _ = validate_registered(&requested);
    }

    #[test]
    fn prop_a_registered_uri_matches_itself(registered in registrations(), public in any::<bool>()) {
        for r in &registered {
            prop_assert!(matches(&registered, r, public), "{r}");
        }
    }

    #[test]
    fn prop_confidential_clients_match_exact_strings_only(
        registered in registrations(),
        requested in requested(),
    ) {
        prop_assert_eq!(
            matches(&registered, &requested, false),
            registered.contains(&requested),
            "{}", requested
        );
    }

    #[test]
    fn prop_public_clients_may_use_any_port_on_an_ip_loopback_registration(
        registered in pick(LOOPBACK_IP),
        port in any::<u16>(),
    ) {
        let requested = with_port(registered, &port.to_string());
        prop_assert!(matches(&[registered.to_string()], &requested, true), "{requested}");
    }

    #[test]
    fn prop_a_non_exact_match_is_a_public_clients_plain_http_uri(
        registered in registrations(),
        requested in requested(),
        public in any::<bool>(),
    ) {
        if matches(&registered, &requested, public) && !registered.contains(&requested) {
            prop_assert!(public);
            let url = url::Url::parse(&requested).expect("a match parses");
            prop_assert_eq!(url.scheme(), "http");
            prop_assert!(url.username().is_empty() && url.password().is_none());
            prop_assert!(url.fragment().is_none());
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// The specification, RFC 8252 7.3 for loopback and exact string comparison otherwise:
    /// a match is the registered string itself, or, for a public client and an `http`
    /// registration, the registered string with other port digits. So `http://127.1:5555/cb`,
    /// `http://0x7f000001:5555/cb`, `http://2130706433:5555/cb` and `.../cb/../cb` do not
    /// match `http://127.0.0.1:PORT/cb`.
    ///
    /// Failed on the code before the loopback fix of issue 14 (its parser-based comparison
    /// equated those spellings).
    #[test]
    fn prop_a_match_is_the_registered_string_or_it_with_another_port(
        registered in registrations(),
        requested in requested(),
        public in any::<bool>(),
    ) {
        if matches(&registered, &requested, public) {
            prop_assert!(
                registered.contains(&requested)
                    || (public && registered.iter().any(|r| same_but_port(r, &requested))),
                "{} matched {:?}", requested, registered
            );
        }
    }
}

#[test]
fn the_port_splitter_reads_what_the_specification_property_needs() {
    // The oracle of the property above, checked on its own.
    assert!(same_but_port(
        "http://127.0.0.1/cb",
        "http://127.0.0.1:5555/cb"
    ));
    assert!(same_but_port(
        "http://127.0.0.1:8080/cb",
        "http://127.0.0.1/cb"
    ));
    assert!(same_but_port("http://[::1]/cb", "http://[::1]:1/cb"));
    assert!(same_but_port(
        "http://127.0.0.1/cb?app=1",
        "http://127.0.0.1:2/cb?app=1"
    ));
    for other in [
        "http://127.1:5555/cb",
        "http://0x7f000001:5555/cb",
        "http://2130706433:5555/cb",
        "http://127.0.0.1:5555/cb/../cb",
        "HTTP://127.0.0.1:5555/cb",
        "http://127.0.0.1:5555/cb/",
        "http://u@127.0.0.1:5555/cb",
        "http://127.0.0.1:0x50/cb",
    ] {
        assert!(!same_but_port("http://127.0.0.1:8080/cb", other), "{other}");
    }
    assert!(!same_but_port(
        "https://app.example/cb",
        "https://app.example:1/cb"
    ));
    assert_eq!(with_port("http://[::1]:8080/cb", ""), "http://[::1]/cb");
    assert_eq!(
        with_port("http://127.0.0.1/cb", "7"),
        "http://127.0.0.1:7/cb"
    );
}
