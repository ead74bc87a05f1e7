//! A short, readable name for the browser and system of a session ("Firefox on Windows"),
//! guessed from the `User-Agent` it signed in with. Only for people to recognise their own
//! devices: the header is the browser's say-so, never used for any decision.

use crate::i18n::Texts;

/// The longest header looked at (longer ones are cut; they are not real browsers).
const MAX_AGENT: usize = 512;

/// "Browser on System", one of them alone, or "Unknown browser".
pub fn describe(user_agent: Option<&str>, t: Texts) -> String {
    let ua = user_agent.unwrap_or_default();
    let ua = match ua.char_indices().nth(MAX_AGENT) {
        Some((cut, _)) => &ua[..cut],
        None => ua,
    };
    match (browser(ua), system(ua)) {
        (Some(b), Some(s)) => t
            .t("account.sessions.device")
            .replace("{browser}", b)
            .replace("{system}", s),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) => t.t("account.sessions.unknown_device").to_string(),
    }
}

/// The browser family. Order matters: Edge and Opera also say "Chrome", Chrome also says
/// "Safari".
fn browser(ua: &str) -> Option<&'static str> {
    let has = |s: &str| ua.contains(s);
    Some(if has("Edg/") || has("EdgA/") || has("EdgiOS/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("SamsungBrowser/") {
        "Samsung Internet"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("CriOS/") || has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") && has("Version/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        return None;
    })
}

/// The operating system. iOS and Android before macOS and Linux (they mention those too).
fn system(ua: &str) -> Option<&'static str> {
    let has = |s: &str| ua.contains(s);
    Some(if has("iPhone") || has("iPod") {
        "iOS"
    } else if has("iPad") {
        "iPadOS"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Macintosh") || has("Mac OS X") {
        "macOS"
    } else if has("Linux") || has("X11") {
        "Linux"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    #[test]
    fn common_browsers_are_recognised() {
        let en = Texts::new(Locale::En);
        let sv = Texts::new(Locale::Sv);
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            ("curl/8.5.0", "curl"),
        ];
        for (ua, want) in cases {
            assert_eq!(describe(Some(ua), en), want, "{ua}");
        }
        assert_eq!(describe(Some(cases[0].0), sv), "Firefox på Windows");
        assert_eq!(describe(None, en), "Unknown browser");
        assert_eq!(
            describe(Some("\u{e9}".repeat(2000).as_str()), en),
            "Unknown browser"
        );
    }
}
