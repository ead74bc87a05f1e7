//! Phone numbers: parsing what people type into E.164 (`+46701234567`), the country calling
//! code of a number (for the country allowlist and the per-country limit), and the masked form
//! shown on pages and stored in the outbox (`+46•••••••67`).

/// Whether `s` is E.164: `+`, then 8 to 15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

/// Parses a typed number into E.164. Spaces, dashes, dots and parentheses are ignored; `00`
/// starts an international number like `+`; a number with a single leading `0` is national,
/// in `default_country` (`070-123 45 67` -> `+46701234567`). `None` when it is not a number.
pub fn normalize(typed: &str, default_country: &str) -> Option<String> {
    let t = typed.trim();
    if t.is_empty() || t.len() > 40 {
        return None;
    }
    let t = without_trunk_prefix(t);
    let mut digits = String::new();
    for (i, c) in t.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            // Separators people type or paste: spaces (also no-break and thin ones),
            // hyphens, dots, brackets and slashes.
            ' ' | '\u{a0}' | '\u{2009}' | '\u{202f}' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return None,
        }
    }
    let e164 = if t.starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("+{default_country}{rest}")
    } else {
        return None;
    };
    is_e164(&e164).then_some(e164)
}

/// `+46 (0)70 ...` (or `0046 (0)70 ...`) writes the national trunk prefix in parentheses
/// right after the country calling code: it is not part of the international number, so
/// that `(0)` is dropped. Anywhere else a `(0)` is an ordinary digit in brackets.
pub fn without_trunk_prefix(t: &str) -> std::borrow::Cow<'_, str> {
    let Some(at) = t.find("(0)") else {
        return std::borrow::Cow::Borrowed(t);
    };
    let before = &t[..at];
    let Some(after_prefix) = before
        .strip_prefix('+')
        .or_else(|| before.strip_prefix("00"))
    else {
        return std::borrow::Cow::Borrowed(t);
    };
    let digits: String = after_prefix.chars().filter(char::is_ascii_digit).collect();
    let is_code = !digits.is_empty()
        && country_code(&format!("+{digits}0000000000")) == Some(digits.as_str());
    if is_code {
        std::borrow::Cow::Owned(format!("{before}{}", &t[at + 3..]))
    } else {
        std::borrow::Cow::Borrowed(t)
    }
}

/// Two-digit country calling codes (ITU-T E.164 assignments); `1` and `7` are the one-digit
/// codes and every other code has three digits.
const TWO_DIGIT: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// The country calling code of an E.164 number (`+46701234567` -> `46`).
pub fn country_code(e164: &str) -> Option<&str> {
    let d = e164.strip_prefix('+')?;
    if !is_e164(e164) {
        return None;
    }
    if d.starts_with('1') || d.starts_with('7') {
        return Some(&d[..1]);
    }
    if TWO_DIGIT.contains(&&d[..2]) {
        return Some(&d[..2]);
    }
    Some(&d[..3])
}

/// The number with all but the country code and the last two digits hidden.
pub fn masked(e164: &str) -> String {
    let Some(code) = country_code(e164) else {
        return "•••".into();
    };
    let digits = &e164[1..];
    let hidden = digits.len().saturating_sub(code.len() + 2);
    format!(
        "+{code}{}{}",
        "•".repeat(hidden),
        &digits[digits.len().saturating_sub(2)..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_become_e164() {
        for (typed, want) in [
            ("070-123 45 67", Some("+46701234567")),
            ("+46 70 123 45 67", Some("+46701234567")),
            ("0046701234567", Some("+46701234567")),
            ("(070) 123.45.67", Some("+46701234567")),
            ("+1 415 555 0100", Some("+14155550100")),
            // The trunk prefix in parentheses, and pasted no-break spaces.
            ("+46 (0)70 123 45 67", Some("+46701234567")),
            ("+44 (0)20 7946 0958", Some("+442079460958")),
            ("0046 (0)70 123 45 67", Some("+46701234567")),
            ("070\u{a0}123\u{a0}45\u{a0}67", Some("+46701234567")),
            ("701234567", None),
            ("+46 70 12a", None),
            ("070\n1234567", None),
            ("", None),
            ("+0123456789", None),
        ] {
            assert_eq!(normalize(typed, "46").as_deref(), want, "{typed:?}");
        }
    }

    #[test]
    fn country_codes() {
        assert_eq!(country_code("+46701234567"), Some("46"));
        assert_eq!(country_code("+14155550100"), Some("1"));
        assert_eq!(country_code("+79161234567"), Some("7"));
        assert_eq!(country_code("+358401234567"), Some("358"));
        assert_eq!(country_code("+882123456789"), Some("882"));
        assert_eq!(country_code("46701234567"), None);
    }

    #[test]
    fn masking_keeps_country_and_last_two() {
        assert_eq!(masked("+46701234567"), "+46•••••••67");
        assert!(!masked("+46701234567").contains("12345"));
    }
}
