//! The layers under [`Config`](super::Config): the `nyckel.toml` tree with the `NYCKEL_*`
//! environment variables (and their `*_FILE` secrets) laid over it, and the serde deserializer
//! that reads the result into the typed configuration. Owns how a variable's name becomes a
//! key and how its text becomes a value; not which values are valid (`Config::validate`).
//!
//! **An environment value is typed by the field it lands in.** The field asks (serde's
//! `deserialize_str`, `deserialize_u16`, `deserialize_bool`, ...) and the text answers: a
//! string or path field gets the text exactly as written (`+46701234567`, `0012`, `true`);
//! a number or boolean field parses it; a list field reads a TOML list (`["a", "b"]`); an
//! enum field takes a variant name. A field that accepts several types (untagged: a country
//! code as text or number, `backup.keep_yearly`) gets the text and decides. A value that
//! does not fit is an error naming the variable.
//!
//! Why not figment (what lldap uses): its `Env` provider parses every value with
//! `Value::from_str` before any field is known (`+46701234567` and `007` become integers,
//! `1.5` a float, the text is trimmed), and its deserializer forwards `deserialize_str` to
//! `deserialize_any`, so a string field is handed the number and serde refuses it ("invalid
//! type: found unsigned int, expected a string"). Checked in figment 0.10.19
//! (`providers/env.rs`, `value/parse.rs`, `value/de.rs`); the `figment_string` crate exists
//! to patch that field by field. Figment would also bring `uncased` and a second TOML stack.
//! Why not a guess from the text (what this layer replaced): a guess cannot know the field,
//! so an E.164 sender and all-digit account ids and tokens failed. This is one file, on serde
//! and the `toml` crate we already have.

use std::collections::BTreeMap;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use super::ConfigError;

/// The prefix of configuration variables.
pub(super) const ENV_PREFIX: &str = "NYCKEL_";

/// Keys (environment form, lower case) whose name ends in `_file` because they are paths:
/// `NYCKEL_MAIL__SMTP_CA_FILE=/etc/ca.pem` sets `mail.smtp_ca_file` to the path rather than
/// reading the file into a `mail.smtp_ca` key. (`NYCKEL_MAIL__DKIM_KEY_FILE` follows the
/// `*_FILE` rule on purpose: the key is read into `mail.dkim_key`.)
const PATH_KEYS: &[&str] = &["mail__smtp_ca_file"];

/// What a variable sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// The key, one segment per section: `NYCKEL_SMS__FROM` is `["sms", "from"]`.
    pub path: Vec<String>,
    /// Whether the variable's value is the path of a file holding the value (`*_FILE`).
    pub reads_file: bool,
}

/// The key `var` (`NYCKEL_A__B` or `NYCKEL_A__B_FILE`) sets, or why it sets none.
pub(super) fn target(var: &str) -> Result<Target, String> {
    let rest = var
        .strip_prefix(ENV_PREFIX)
        .ok_or_else(|| format!("does not start with {ENV_PREFIX}"))?;
    // Keys whose own name ends in `_file` take a path: their variable is the path itself.
    let path_key = PATH_KEYS.contains(&rest.to_ascii_lowercase().as_str());
    let (rest, reads_file) = match rest.strip_suffix("_FILE").filter(|_| !path_key) {
        Some(stem) => (stem, true),
        None => (rest, false),
    };
    let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
    if path.iter().any(String::is_empty) {
        return Err("empty key segment".into());
    }
    Ok(Target { path, reads_file })
}

/// One value of the layered tree.
#[derive(Debug)]
enum Node {
    /// A value from `nyckel.toml` (not a table), typed by TOML.
    File(toml::Value),
    /// A section: from the file, or made by the variable `made_by`.
    Section {
        entries: BTreeMap<String, Node>,
        made_by: Option<String>,
    },
    /// An environment value as written (or read from its `*_FILE`), typed when read.
    Env { var: String, text: String },
}

impl Node {
    fn from_toml(value: toml::Value) -> Node {
        match value {
            toml::Value::Table(t) => Node::Section {
                entries: t
                    .into_iter()
                    .map(|(k, v)| (k, Node::from_toml(v)))
                    .collect(),
                made_by: None,
            },
            other => Node::File(other),
        }
    }

    /// The variable that set this node, if one did.
    fn var(&self) -> Option<&str> {
        match self {
            Node::File(_) | Node::Section { made_by: None, .. } => None,
            Node::Section {
                made_by: Some(var), ..
            }
            | Node::Env { var, .. } => Some(var),
        }
    }
}

/// The file's keys with the environment laid over them.
#[derive(Debug, Default)]
pub(super) struct Layers {
    root: BTreeMap<String, Node>,
}

impl Layers {
    /// The tree of `nyckel.toml`.
    pub(super) fn from_file(table: toml::Table) -> Layers {
        Layers {
            root: table
                .into_iter()
                .map(|(k, v)| (k, Node::from_toml(v)))
                .collect(),
        }
    }

    /// Lays `var=value` over the tree; a `*_FILE` variable's file is read now (one trailing
    /// newline removed). The value stays text until a field asks for a type.
    pub(super) fn set(&mut self, var: &str, value: &str) -> Result<(), ConfigError> {
        let fail = |message: String| ConfigError::Env {
            var: var.to_string(),
            message,
        };
        let target = target(var).map_err(fail)?;
        let text = if target.reads_file {
            let text = std::fs::read_to_string(value)
                .map_err(|e| fail(format!("cannot read {value}: {e}")))?;
            text.trim_end_matches(['\n', '\r']).to_string()
        } else {
            value.to_string()
        };
        let Some((leaf, sections)) = target.path.split_last() else {
            return Err(fail("empty key segment".into()));
        };
        let mut entries = &mut self.root;
        for segment in sections {
            let node = entries
                .entry(segment.clone())
                .or_insert_with(|| Node::Section {
                    entries: BTreeMap::new(),
                    made_by: Some(var.to_string()),
                });
            entries = match node {
                Node::Section { entries, .. } => entries,
                _ => return Err(fail(format!("{segment} is not a section"))),
            };
        }
        let var = var.to_string();
        entries.insert(leaf.clone(), Node::Env { var, text });
        Ok(())
    }

    /// The typed value of the whole tree.
    pub(super) fn read<T: DeserializeOwned>(&self) -> Result<T, LayerError> {
        T::deserialize(SectionDe {
            entries: &self.root,
            key: "",
        })
    }
}

/// Why the tree did not read as the configuration: the message, the dotted key and the
/// variable that set it (none: `nyckel.toml`).
#[derive(Debug)]
pub(super) struct LayerError {
    pub message: String,
    pub key: Option<String>,
    pub var: Option<String>,
}

impl LayerError {
    /// Where it happened, unless an inner value said already.
    fn at(mut self, key: &str, var: Option<&str>) -> LayerError {
        if self.key.is_none() {
            self.key = Some(key.to_string());
            self.var = var.map(str::to_string);
        }
        self
    }

    fn from_toml(e: toml::de::Error) -> LayerError {
        de::Error::custom(e.message())
    }
}

impl std::fmt::Display for LayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) if !key.is_empty() => write!(f, "{key}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for LayerError {}

impl de::Error for LayerError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        LayerError {
            message: msg.to_string(),
            key: None,
            var: None,
        }
    }
}

fn child_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A value of the tree at `key`: each request goes to the file value's TOML deserializer,
/// the text of an environment value, or the section.
struct NodeDe<'a> {
    node: &'a Node,
    key: String,
}

macro_rules! by_node {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, LayerError> {
            let result = match self.node {
                Node::File(value) => value
                    .clone()
                    .$method($($arg,)* visitor)
                    .map_err(LayerError::from_toml),
                Node::Env { text, .. } => EnvDe { text }.$method($($arg,)* visitor),
                Node::Section { entries, .. } => SectionDe { entries, key: &self.key }
                    .$method($($arg,)* visitor),
            };
            result.map_err(|e| e.at(&self.key, self.node.var()))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = LayerError;

    by_node! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8(); deserialize_i16(); deserialize_i32(); deserialize_i64();
        deserialize_u8(); deserialize_u16(); deserialize_u32(); deserialize_u64();
        deserialize_f32(); deserialize_f64();
        deserialize_char(); deserialize_str(); deserialize_string();
        deserialize_bytes(); deserialize_byte_buf();
        deserialize_option(); deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}

/// A section: a map of keys to values.
struct SectionDe<'a> {
    entries: &'a BTreeMap<String, Node>,
    key: &'a str,
}

impl<'de> de::Deserializer<'de> for SectionDe<'_> {
    type Error = LayerError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        visitor.visit_map(SectionAccess {
            entries: self.entries.iter(),
            current: None,
            parent: self.key,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, LayerError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct SectionAccess<'a> {
    entries: std::collections::btree_map::Iter<'a, String, Node>,
    current: Option<(String, &'a Node)>,
    parent: &'a str,
}

impl<'de> MapAccess<'de> for SectionAccess<'_> {
    type Error = LayerError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, LayerError> {
        let Some((name, node)) = self.entries.next() else {
            return Ok(None);
        };
        let key = child_key(self.parent, name);
        // An unknown key (`deny_unknown_fields`) is refused here: name who set it.
        let found = seed
            .deserialize(name.as_str().into_deserializer())
            .map_err(|e: LayerError| e.at(&key, node.var()))?;
        self.current = Some((key, node));
        Ok(Some(found))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, LayerError> {
        let Some((key, node)) = self.current.take() else {
            return Err(de::Error::custom("a value without its key"));
        };
        seed.deserialize(NodeDe { node, key })
    }
}

/// What a field asked an environment value for: recorded in tests, which find the type of
/// each documented variable from the field it lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    Text,
    Bool,
    Integer,
    Float,
    List,
    Variant(&'static [&'static str]),
    /// Any type: the field decides from the text.
    Any,
}

#[cfg(test)]
thread_local! {
    /// The last [`Asked`] on this thread.
    pub(super) static ASKED: std::cell::Cell<Option<Asked>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
fn asked(what: Asked) {
    ASKED.with(|a| a.set(Some(what)));
}

#[cfg(not(test))]
fn asked(_: Asked) {}

/// An environment value's text, answering the type its field asks for.
struct EnvDe<'a> {
    text: &'a str,
}

macro_rules! integers {
    ($($method:ident => $visit:ident: $ty:ty,)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
            asked(Asked::Integer);
            match self.text.parse::<$ty>() {
                Ok(n) => visitor.$visit(n),
                Err(e) => Err(de::Error::custom(format!(
                    "expected a whole number, found {:?} ({e})",
                    self.text
                ))),
            }
        }
    )*};
}

impl EnvDe<'_> {
    /// The text as a TOML list, `[...]`.
    fn list(&self) -> Result<toml::Value, LayerError> {
        let text = self.text.trim();
        let bad = || {
            de::Error::custom(format!(
                "expected a list such as [\"a\", \"b\"] (TOML), found {:?}",
                self.text
            ))
        };
        if !(text.starts_with('[') && text.ends_with(']')) {
            return Err(bad());
        }
        let mut table = format!("v = {text}")
            .parse::<toml::Table>()
            .map_err(|_| bad())?;
        match (table.len(), table.remove("v")) {
            (1, Some(list @ toml::Value::Array(_))) => Ok(list),
            _ => Err(bad()),
        }
    }
}

impl<'de> de::Deserializer<'de> for EnvDe<'_> {
    type Error = LayerError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        asked(Asked::Any);
        visitor.visit_str(self.text)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        asked(Asked::Bool);
        match self.text {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => Err(de::Error::custom(format!(
                "expected true or false, found {other:?}"
            ))),
        }
    }

    integers! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        asked(Asked::Float);
        match self.text.parse::<f64>() {
            Ok(n) => visitor.visit_f64(n),
            Err(_) => Err(de::Error::custom(format!(
                "expected a number, found {:?}",
                self.text
            ))),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        asked(Asked::Text);
        visitor.visit_str(self.text)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        asked(Asked::Text);
        visitor.visit_bytes(self.text.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        self.deserialize_bytes(visitor)
    }

    /// A variable that is set is `Some`, even when empty.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        if self.text.is_empty() {
            visitor.visit_unit()
        } else {
            Err(de::Error::custom(format!(
                "expected nothing, found {:?}",
                self.text
            )))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, LayerError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, LayerError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        asked(Asked::List);
        self.list()?
            .deserialize_seq(visitor)
            .map_err(LayerError::from_toml)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, LayerError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, LayerError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, LayerError> {
        Err(de::Error::custom(
            "this key is a section: set one of its keys (NYCKEL_SECTION__KEY) instead",
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, LayerError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, LayerError> {
        asked(Asked::Variant(variants));
        let text: de::value::StrDeserializer<'_, LayerError> = self.text.into_deserializer();
        de::Deserializer::deserialize_enum(text, name, variants, visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, LayerError> {
        visitor.visit_unit()
    }
}
