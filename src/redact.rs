//! `Debug` for types that hold secrets, written one way: [`debug_showing!`] names the fields
//! a `Debug` print may show; every other field is left out (`..`), so a secret field added
//! later stays hidden without anyone remembering to hide it. Fields that a reader should
//! know are set, without seeing them, are listed as `redacted` and print as `"[redacted]"`
//! (an unset `Option` prints as `None`).
//!
//! Hand-written because the crates that do this (`educe`, `derivative`, `secrecy`) either
//! hide by listing the secret (the unsafe default) or change every field's type; this is
//! one small `macro_rules!` over `Formatter::debug_struct`.

/// How a redacted field prints: whether it is set, never its value.
pub trait Redactable {
    /// `true` when there is a value to hide.
    fn is_set(&self) -> bool;
}

impl<T> Redactable for Option<T> {
    fn is_set(&self) -> bool {
        self.is_some()
    }
}

impl Redactable for String {
    fn is_set(&self) -> bool {
        true
    }
}

/// A field printed as `"[redacted]"` (or `None` when an `Option` is unset).
pub struct Redacted<'a, T: Redactable + ?Sized>(pub &'a T);

impl<T: Redactable + ?Sized> std::fmt::Debug for Redacted<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_set() {
            f.write_str("\"[redacted]\"")
        } else {
            f.write_str("None")
        }
    }
}

/// Implements `Debug` for `Type` showing only the named fields:
///
/// ```ignore
/// debug_showing!(Session { sid, user_id });
/// debug_showing!(MailConfig { from, smtp_host } redacted { smtp_password });
/// debug_showing!(Signer { domain } computed { algorithm = |s| s.algorithm() });
/// ```
///
/// Every other field prints as `..` (`finish_non_exhaustive`).
macro_rules! debug_showing {
    (
        $ty:ident { $($field:ident),* $(,)? }
        $(redacted { $($secret:ident),* $(,)? })?
        $(computed { $($name:ident = |$s:ident| $value:expr),* $(,)? })?
    ) => {
        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut d = f.debug_struct(stringify!($ty));
                $(d.field(stringify!($field), &self.$field);)*
                $($(d.field(stringify!($secret), &$crate::redact::Redacted(&self.$secret));)*)?
                $($({
                    let $s = self;
                    d.field(stringify!($name), &$value);
                })*)?
                d.finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_showing;

#[cfg(test)]
mod tests {
    struct Config {
        host: String,
        password: Option<String>,
        token: String,
        key: Vec<u8>,
    }

    impl Config {
        fn key_len(&self) -> usize {
            self.key.len()
        }
    }

    debug_showing!(Config { host } redacted { password, token } computed { key_len = |c| c.key_len() });

    #[test]
    fn shows_named_fields_and_hides_the_rest() {
        let c = Config {
            host: "smtp.example.org".into(),
            password: Some("hunter2".into()),
            token: "s3cret".into(),
            key: b"private".to_vec(),
        };
        let printed = format!("{c:?}");
        assert_eq!(
            printed,
            r#"Config { host: "smtp.example.org", password: "[redacted]", token: "[redacted]", key_len: 7, .. }"#
        );
        let unset = Config {
            password: None,
            ..c
        };
        assert!(format!("{unset:?}").contains("password: None"));
    }
}
