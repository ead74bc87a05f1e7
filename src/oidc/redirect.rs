//! Redirect URIs: what may be registered, and how a requested URI matches a registered one.
//!
//! Matching is exact string comparison (OIDC Core 3.1.2.1, RFC 9700 2.1). The one exception
//! is RFC 8252 section 7.3: a public (native) client registered with an `http` loopback URI
//! may use any port.

/// Checks a URI offered for registration: absolute, `https` (or `http` on loopback), no
/// fragment, no user info.
pub fn validate_registered(uri: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "not an absolute URL")?;
    // Matching compares strings exactly, so what is registered must be what a browser is
    // sent to: a URI the parser has to repair (spaces, backslashes, `/a/../`, `127.1`,
    // upper-case scheme or host, a missing `/` path) is refused rather than stored.
    if url.as_str() != uri {
        return Err(
            "write the URI in its normal form (as a browser shows it): lower-case scheme and host, a path starting with /, no spaces, backslashes or dot segments",
        );
    }
    if url.fragment().is_some() {
        return Err("a redirect URI must not have a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a redirect URI must not contain user information");
    }
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(()),
        "http" if is_loopback_host(url.host_str()) => Ok(()),
        "http" => Err("http is only allowed for 127.0.0.1, [::1] and localhost; use https"),
        _ => Err("the scheme must be https (or http on loopback)"),
    }
}

fn is_loopback_host(host: Option<&str>) -> bool {
    matches!(host, Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// Whether `requested` may be used with a client that registered `registered`.
///
/// The comparison is on the strings as sent, never on parsed URLs: a URL parser normalises
/// `127.1`, `0x7f000001` or `2130706433` to `127.0.0.1` and removes `/x/../`, and none of
/// those spellings may match (issue 14, defect 8). For a public client's loopback URI only
/// the port may differ.
pub fn matches(registered: &[String], requested: &str, public_client: bool) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    if !public_client {
        return false;
    }
    let Some(req) = Loopback::split(requested) else {
        return false;
    };
    registered
        .iter()
        .filter_map(|r| Loopback::split(r))
        .any(|reg| reg.host == req.host && reg.rest == req.rest)
}

/// An `http` loopback URI split as written: host literal, port, and everything after the
/// authority.
struct Loopback<'a> {
    host: &'a str,
    rest: &'a str,
}

impl<'a> Loopback<'a> {
    /// Splits `uri` when it is `http://` + a loopback host literal (`127.0.0.1`, `[::1]`,
    /// `localhost`) + an optional decimal port + a path (and query) without a fragment or dot
    /// segments.
    fn split(uri: &'a str) -> Option<Self> {
        let after = uri.strip_prefix("http://")?;
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (authority, rest) = after.split_at(end);
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                (&authority[..i], Some(&authority[i + 1..]))
            }
            _ => (authority, None),
        };
        if !is_loopback_host(Some(host)) {
            return None;
        }
        if let Some(p) = port {
            let digits = !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
            if !digits || p.parse::<u32>().map_or(true, |n| n > 65535) {
                return None;
            }
        }
        let path = rest.split('?').next().unwrap_or_default();
        let dot_segment = path.split('/').any(|seg| seg == "." || seg == "..");
        if rest.contains('#') || dot_segment || !rest.starts_with('/') {
            return None;
        }
        Some(Loopback { host, rest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        assert!(validate_registered("https://app.example/cb").is_ok());
        assert!(validate_registered("http://127.0.0.1:8080/cb").is_ok());
        assert!(validate_registered("http://localhost/cb").is_ok());
        assert!(validate_registered("http://app.example/cb").is_err());
        assert!(validate_registered("https://app.example/cb#x").is_err());
        assert!(validate_registered("https://u:p@app.example/cb").is_err());
        assert!(validate_registered("javascript:alert(1)").is_err());
        assert!(validate_registered("/cb").is_err());
        // Only the form a browser is sent to (matching compares strings).
        for repaired in [
            " https://app.example/cb",
            "https://app.example/cb\n",
            "https:\\\\app.example\\cb",
            "HTTPS://app.example/cb",
            "http://127.1/cb",
            "http://2130706433/cb",
            "https://app.example/a/../cb",
            "https://app.example/c b",
            "https://app.example",
        ] {
            assert!(validate_registered(repaired).is_err(), "{repaired:?}");
        }
    }

    #[test]
    fn exact_match_only() {
        let reg = vec!["https://app.example/cb".to_string()];
        assert!(matches(&reg, "https://app.example/cb", false));
        for bad in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example/CB",
            "https://app.example/cb/../cb",
            "https://evil@app.example/cb",
            "https://app.example.evil/cb",
            "https://app.example:443/cb",
        ] {
            assert!(!matches(&reg, bad, false), "{bad}");
            assert!(!matches(&reg, bad, true), "{bad}");
        }
    }

    #[test]
    fn loopback_port_varies_for_public_clients_only() {
        let reg = vec!["http://127.0.0.1/cb".to_string()];
        assert!(matches(&reg, "http://127.0.0.1:53123/cb", true));
        assert!(!matches(&reg, "http://127.0.0.1:53123/cb", false));
        assert!(!matches(&reg, "http://127.0.0.1:53123/other", true));
        assert!(!matches(&reg, "http://localhost:53123/cb", true));
    }

    /// RFC 8252 section 7.3: any port, but the host literal and the path exactly as
    /// registered (issue 14, defect 8): other spellings of 127.0.0.1 and dot segments that
    /// a URL parser normalises away must not match.
    #[test]
    fn loopback_host_literal_and_path_match_exactly() {
        let reg = vec!["http://127.0.0.1:5555/cb".to_string()];
        assert!(matches(&reg, "http://127.0.0.1:5555/cb", true));
        assert!(matches(&reg, "http://127.0.0.1:61000/cb", true));
        assert!(matches(&reg, "http://127.0.0.1/cb", true));
        for bad in [
            "http://127.1:5555/cb",
            "http://0x7f000001:5555/cb",
            "http://2130706433:5555/cb",
            "http://0177.0.0.1:5555/cb",
            "http://127.0.0.1:5555/cb/../cb",
            "http://127.0.0.1:5555/x/../cb",
            "http://127.0.0.1:5555/%63b",
            "http://127.0.0.1:5555/cb?",
            "http://127.0.0.1:5555/cb#",
            "http://127.0.0.1:05555x/cb",
            "http://127.0.0.1:99999/cb",
            "http://u@127.0.0.1:5555/cb",
            "HTTP://127.0.0.1:5555/cb",
            "http://127.0.0.1.:5555/cb",
            "http://localhost:5555/cb",
        ] {
            assert!(!matches(&reg, bad, true), "{bad}");
        }
        let v6 = vec!["http://[::1]:5555/cb".to_string()];
        assert!(matches(&v6, "http://[::1]:4444/cb", true));
        assert!(!matches(&v6, "http://[0:0:0:0:0:0:0:1]:4444/cb", true));
        assert!(!matches(&v6, "http://[::1]:4444/cb/./", true));
    }
}
