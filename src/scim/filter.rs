//! SCIM filter expressions (RFC 7644 section 3.4.2.2): parsing the `filter` parameter into
//! a [`Filter`] tree, and evaluating that tree against a resource in its served JSON form.
//! PATCH paths (`patch_path.rs`) reuse the lexer and the parser's pieces. No SQL and no HTTP
//! here: [`simple_equality`] only tells the store which index could narrow the candidates
//! before [`Filter::matches`] decides.
//!
//! Semantics chosen where the RFC leaves room (tested below):
//! - Attribute names, operators and the `and`/`or`/`not` keywords are ASCII
//!   case-insensitive; JSON keys are matched the same way. Literals (`true`, `false`, `null`)
//!   are JSON and so lower case only.
//! - Strings compare case-insensitively (Unicode lower case) unless the attribute's path is
//!   in the caller's case-exact set (RFC 7643 section 2.2 `caseExact`; see
//!   [`COMMON_CASE_EXACT`]). `gt`/`ge`/`lt`/`le` on strings compare code points, which orders
//!   RFC 3339 UTC date-times (`meta.lastModified`) chronologically.
//! - A multi-valued attribute matches if any value does, for every operator including `ne`;
//!   an absent attribute matches no comparison (as SQL's NULL), except `eq null` (true when
//!   the attribute has no value) and `ne null` (true when it has one). A complex value
//!   (`emails co "x"`, `members eq "id"`) is compared through its `value` sub-attribute.
//! - `pr` is false for absent, `null`, `""`, `[]` and a complex value whose members are all
//!   of those.
//! - A value of the wrong type for the attribute (`userName eq 5`) is no match; ordering
//!   operators with `true`/`false`/`null` and `co`/`sw`/`ew` with a non-string are refused
//!   when parsing (400 `invalidFilter`).
//! - `urn:...:Attr` paths: an extension URN names the resource's object under that key; a
//!   core schema URN (User, Group) names the top level when the resource's `schemas` lists it.
//!
//! Against abuse: at most [`MAX_FILTER_LEN`] bytes and [`MAX_DEPTH`] nested groups (`(`,
//! `not (`, `[`). `and`/`or` chains are n-ary and cost no depth, so a long `id eq ... or id eq
//! ...` batch lookup parses; recursion (parse, evaluation, drop) is bounded by the depth.
//!
//! Why hand-written: `scim_v2` 1.0 (MIT) has a well-tested parser (lalrpop-generated, plus
//! `fluent-uri`) and PATCH paths but no evaluator, so we would still write the evaluation,
//! case-exact handling and prefilter below against its tree; `scim-filter` 0.2 (MIT) has had
//! no release since January 2024 and brings nom 7, chrono and rust_decimal; kanidm's
//! `scim_proto` is MPL-2.0. The grammar is small; JSON strings and numbers are decoded by
//! `serde_json` rather than by hand.

use std::cmp::Ordering;
use std::str::FromStr;

use serde_json::{Number, Value};

use super::filter_eval::eval;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of `(...)`, `not (...)` and `[...]` accepted.
pub const MAX_DEPTH: usize = 32;
/// The common attributes RFC 7643 (section 3.1) makes `caseExact`: a default for callers.
pub const COMMON_CASE_EXACT: &[&str] = &["id", "externalId", "meta.resourceType", "meta.version"];
/// The core schemas whose attributes sit at the top level of a resource (lower case).
const CORE_SCHEMAS: [&str; 2] = [
    "urn:ietf:params:scim:schemas:core:2.0:user",
    "urn:ietf:params:scim:schemas:core:2.0:group",
];
/// Longest piece of the input echoed back in an error.
const ECHO_MAX: usize = 24;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `attrPath op value`.
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `attrPath pr`.
    Present(AttrPath),
    /// `attrPath[filter]`: the inner filter must hold for one value of the attribute.
    ValuePath { path: AttrPath, filter: Box<Filter> },
    /// `not (filter)`.
    Not(Box<Filter>),
    /// Two or more filters that must all hold.
    And(Vec<Filter>),
    /// Two or more filters of which one must hold.
    Or(Vec<Filter>),
}

/// An attribute path, `[URN ":"] name ["." subAttr]`, as written; compared ASCII
/// case-insensitively.
#[derive(Debug, Clone)]
pub struct AttrPath {
    urn: Option<String>,
    path: String,
    key: String,
}

impl AttrPath {
    /// The schema URN prefix, as written.
    pub fn urn(&self) -> Option<&str> {
        self.urn.as_deref()
    }

    /// `name` or `name.subAttr`, as written, without the URN.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// [`AttrPath::path`] in lower case.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The attribute name, as written.
    pub fn name(&self) -> &str {
        self.path
            .split_once('.')
            .map_or(&self.path, |(name, _)| name)
    }

    /// The sub-attribute name, as written.
    pub fn sub_attr(&self) -> Option<&str> {
        self.path.split_once('.').map(|(_, sub)| sub)
    }
}

impl PartialEq for AttrPath {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
            && match (&self.urn, &other.urn) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Eq for AttrPath {}

/// A comparison operator (RFC 7644 Table 3), `pr` aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// The keyword, in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ]
        .into_iter()
        .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    pub(super) fn holds(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Eq => ordering == Ordering::Equal,
            CompareOp::Ne => ordering != Ordering::Equal,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Ge => ordering != Ordering::Less,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Le => ordering != Ordering::Greater,
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
        }
    }
}

/// A comparison value: a JSON literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    Str(String),
    Number(Number),
    Bool(bool),
    Null,
}

/// Why a filter was refused. Positions are byte offsets into the filter. Messages echo at
/// most a short operator or name, never a comparison value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("the filter is empty")]
    Empty,
    #[error("the filter is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("the filter nests deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("unterminated string starting at byte {at}")]
    UnterminatedString { at: usize },
    #[error("invalid JSON string at byte {at}")]
    InvalidString { at: usize },
    #[error("invalid number at byte {at}")]
    InvalidNumber { at: usize },
    #[error("invalid attribute path '{path}' at byte {at}")]
    InvalidAttrPath { path: String, at: usize },
    #[error("the operator '{op}' is not supported (byte {at})")]
    UnknownOperator { op: String, at: usize },
    #[error("'{op}' cannot compare with {value} (byte {at})")]
    UnsupportedComparison {
        op: &'static str,
        value: &'static str,
        at: usize,
    },
    #[error("expected {expected} at byte {at}")]
    Expected { expected: &'static str, at: usize },
}

impl Filter {
    /// Parses a filter expression.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let mut parser = Parser::new(input)?;
        let filter = parser.or_expr()?;
        parser.finish("'and', 'or' or the end of the filter")?;
        Ok(filter)
    }

    /// Whether `resource` (the JSON served for it) matches. `case_exact` lists the dotted
    /// attribute paths (`id`, `emails.value`; ASCII case ignored) whose strings compare
    /// case-sensitively.
    pub fn matches(&self, resource: &Value, case_exact: &[&str]) -> bool {
        eval(self, resource, "", case_exact)
    }

    /// Whether one value of the multi-valued attribute `parent` matches, as the filter of
    /// `parent[filter]` sees it (sub-attribute paths relative to the value).
    pub fn matches_value(&self, value: &Value, parent: &AttrPath, case_exact: &[&str]) -> bool {
        eval(self, value, parent.key(), case_exact)
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Filter::parse(input)
    }
}

/// `Some((path in lower case, value))` when the whole filter is `attrPath eq "string"` on a
/// core attribute (no URN, or a core schema URN), e.g. `userName eq "x"` gives
/// `("username", "x")`: the store can look the value up by index (respecting the
/// attribute's case rule). Only a prefilter: callers still run [`Filter::matches`].
pub fn simple_equality(filter: &Filter) -> Option<(&str, &str)> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(value),
        } if path.urn().is_none_or(is_core_schema) => Some((path.key(), value)),
        _ => None,
    }
}

pub(super) fn is_core_schema(urn: &str) -> bool {
    CORE_SCHEMAS
        .iter()
        .any(|core| core.eq_ignore_ascii_case(urn))
}

// ---- lexer ----

#[derive(Debug)]
enum Tok<'a> {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Str(String),
    Num(Number),
    Word(&'a str),
}

#[derive(Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    at: usize,
}

fn lex(input: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let (tok, len) = match b {
            b if b.is_ascii_whitespace() => {
                at += 1;
                continue;
            }
            b'(' => (Tok::Open, 1),
            b')' => (Tok::Close, 1),
            b'[' => (Tok::OpenBracket, 1),
            b']' => (Tok::CloseBracket, 1),
            b'"' => {
                // '"' and '\' never occur inside a multi-byte UTF-8 sequence, so scanning
                // bytes finds the closing quote; serde_json then decodes the escapes.
                let mut end = at + 1;
                loop {
                    match bytes.get(end) {
                        None => return Err(FilterError::UnterminatedString { at }),
                        Some(b'"') => break,
                        Some(b'\\') => end += 2,
                        Some(_) => end += 1,
                    }
                }
                let invalid = || FilterError::InvalidString { at };
                let text = input.get(at..=end).ok_or_else(invalid)?;
                let decoded = serde_json::from_str(text).map_err(|_| invalid())?;
                (Tok::Str(decoded), text.len())
            }
            b'-' | b'0'..=b'9' => {
                let invalid = || FilterError::InvalidNumber { at };
                let text = run(input, at, |c| {
                    matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                })
                .ok_or_else(invalid)?;
                let number = serde_json::from_str(text).map_err(|_| invalid())?;
                (Tok::Num(number), text.len())
            }
            _ => {
                let text = run(input, at, |c| {
                    !c.is_ascii_whitespace() && !b"()[]\"".contains(&c)
                })
                .ok_or(FilterError::Expected {
                    expected: "a token",
                    at,
                })?;
                (Tok::Word(text), text.len())
            }
        };
        tokens.push(Token { tok, at });
        at += len;
    }
    Ok(tokens)
}

/// The run of bytes from `at` that `keep` accepts, if not empty. It stops only at ASCII
/// bytes or the end, so it ends on a character boundary.
fn run(input: &str, at: usize, keep: impl Fn(u8) -> bool) -> Option<&str> {
    let rest = input.get(at..)?;
    let len = rest.bytes().take_while(|&c| keep(c)).count();
    rest.get(..len).filter(|text| !text.is_empty())
}

// ---- parser ----

/// A recursive-descent parser over the tokens; `patch_path.rs` drives its pieces.
pub(super) struct Parser<'a> {
    /// Remaining tokens, last first (so `pop` takes the next one).
    rest: Vec<Token<'a>>,
    len: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    /// Checks the length and lexes.
    pub(super) fn new(input: &'a str) -> Result<Self, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError::TooLong {
                max: MAX_FILTER_LEN,
            });
        }
        let mut rest = lex(input)?;
        if rest.is_empty() {
            return Err(FilterError::Empty);
        }
        rest.reverse();
        Ok(Parser {
            rest,
            len: input.len(),
            depth: 0,
        })
    }

    fn peek(&self) -> Option<&Tok<'a>> {
        self.rest.last().map(|t| &t.tok)
    }

    fn peek_second(&self) -> Option<&Tok<'a>> {
        self.rest
            .len()
            .checked_sub(2)
            .and_then(|i| self.rest.get(i))
            .map(|t| &t.tok)
    }

    /// Where the next token starts (the end of the input when none is left).
    fn at(&self) -> usize {
        self.rest.last().map_or(self.len, |t| t.at)
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(keyword));
        if found {
            self.rest.pop();
        }
        found
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::TooDeep { max: MAX_DEPTH });
        }
        Ok(())
    }

    /// Fails unless every token was consumed.
    pub(super) fn finish(&self, expected: &'static str) -> Result<(), FilterError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(FilterError::Expected {
                expected,
                at: self.at(),
            }),
        }
    }

    /// `or_expr := and_expr ("or" and_expr)*`
    fn or_expr(&mut self) -> Result<Filter, FilterError> {
        let mut items = vec![self.and_expr()?];
        while self.eat_keyword("or") {
            items.push(self.and_expr()?);
        }
        Ok(join(items, Filter::Or))
    }

    /// `and_expr := unary ("and" unary)*`
    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut items = vec![self.unary()?];
        while self.eat_keyword("and") {
            items.push(self.unary()?);
        }
        Ok(join(items, Filter::And))
    }

    /// `unary := "not" "(" or_expr ")" / "(" or_expr ")" / attr_expr`
    fn unary(&mut self) -> Result<Filter, FilterError> {
        let is_not = matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not"));
        if is_not {
            match self.peek_second() {
                Some(Tok::Open) => {
                    self.rest.pop();
                    return Ok(Filter::Not(Box::new(self.group()?)));
                }
                // `not pr`, `not eq "x"`: an attribute named "not".
                Some(Tok::Word(w))
                    if w.eq_ignore_ascii_case("pr") || CompareOp::from_keyword(w).is_some() => {}
                _ => {
                    self.rest.pop();
                    return Err(FilterError::Expected {
                        expected: "'(' after 'not'",
                        at: self.at(),
                    });
                }
            }
        }
        match self.peek() {
            Some(Tok::Open) => self.group(),
            _ => self.attr_expr(),
        }
    }

    /// `"(" or_expr ")"`, one level deeper.
    fn group(&mut self) -> Result<Filter, FilterError> {
        self.rest.pop();
        self.enter()?;
        let inner = self.or_expr()?;
        self.expect_close(false)?;
        self.depth -= 1;
        Ok(inner)
    }

    /// Consumes `)` (or `]` when `bracket`).
    fn expect_close(&mut self, bracket: bool) -> Result<(), FilterError> {
        let found = match self.peek() {
            Some(Tok::Close) => !bracket,
            Some(Tok::CloseBracket) => bracket,
            _ => false,
        };
        if !found {
            return Err(FilterError::Expected {
                expected: if bracket { "']'" } else { "')'" },
                at: self.at(),
            });
        }
        self.rest.pop();
        Ok(())
    }

    /// `attr_expr := attrPath ("pr" / compareOp compValue / "[" or_expr "]")`
    fn attr_expr(&mut self) -> Result<Filter, FilterError> {
        let path = self.attr_path()?;
        if let Some(filter) = self.bracketed_filter()? {
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(filter),
            });
        }
        let at = self.at();
        let word = match self.rest.pop() {
            Some(Token {
                tok: Tok::Word(w), ..
            }) => w,
            _ => {
                return Err(FilterError::Expected {
                    expected: "an operator",
                    at,
                });
            }
        };
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::from_keyword(word)
            .ok_or_else(|| FilterError::UnknownOperator { op: echo(word), at })?;
        let value = self.comp_value()?;
        let refused = match (&value, op) {
            (CompValue::Bool(_), CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le) => {
                Some("a boolean")
            }
            (CompValue::Null, CompareOp::Eq | CompareOp::Ne) => None,
            (CompValue::Null, _) => Some("null"),
            (CompValue::Bool(_), CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => {
                Some("a boolean")
            }
            (CompValue::Number(_), CompareOp::Co | CompareOp::Sw | CompareOp::Ew) => {
                Some("a number")
            }
            _ => None,
        };
        if let Some(kind) = refused {
            return Err(FilterError::UnsupportedComparison {
                op: op.as_str(),
                value: kind,
                at,
            });
        }
        Ok(Filter::Compare { path, op, value })
    }

    /// The next token as an attribute path.
    pub(super) fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        let at = self.at();
        match self.rest.pop() {
            Some(Token {
                tok: Tok::Word(w), ..
            }) if !w.eq_ignore_ascii_case("and") && !w.eq_ignore_ascii_case("or") => {
                parse_attr_path(w, at)
            }
            _ => Err(FilterError::Expected {
                expected: "an attribute path, 'not' or '('",
                at,
            }),
        }
    }

    /// `"[" or_expr "]"` if the next token is `[`.
    pub(super) fn bracketed_filter(&mut self) -> Result<Option<Filter>, FilterError> {
        if !matches!(self.peek(), Some(Tok::OpenBracket)) {
            return Ok(None);
        }
        self.rest.pop();
        self.enter()?;
        let inner = self.or_expr()?;
        self.expect_close(true)?;
        self.depth -= 1;
        Ok(Some(inner))
    }

    /// `"." ATTRNAME` if the next token starts with a dot.
    pub(super) fn sub_attr(&mut self) -> Result<Option<String>, FilterError> {
        let at = self.at();
        let word = match self.peek() {
            Some(Tok::Word(w)) if w.starts_with('.') => *w,
            _ => return Ok(None),
        };
        self.rest.pop();
        match word.strip_prefix('.') {
            Some(name) if is_attr_name(name) => Ok(Some(name.to_owned())),
            _ => Err(FilterError::InvalidAttrPath {
                path: echo(word),
                at,
            }),
        }
    }

    fn comp_value(&mut self) -> Result<CompValue, FilterError> {
        let at = self.at();
        match self.rest.pop().map(|t| t.tok) {
            Some(Tok::Str(s)) => Ok(CompValue::Str(s)),
            Some(Tok::Num(n)) => Ok(CompValue::Number(n)),
            Some(Tok::Word("true")) => Ok(CompValue::Bool(true)),
            Some(Tok::Word("false")) => Ok(CompValue::Bool(false)),
            Some(Tok::Word("null")) => Ok(CompValue::Null),
            _ => Err(FilterError::Expected {
                expected: "a comparison value (a JSON string, number, true, false or null)",
                at,
            }),
        }
    }
}

/// One item as itself, more as `make(items)`.
fn join(mut items: Vec<Filter>, make: fn(Vec<Filter>) -> Filter) -> Filter {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    make(items)
}

/// `[URN ":"] ATTRNAME ["." ATTRNAME]`; the URN is whatever precedes the last colon.
fn parse_attr_path(word: &str, at: usize) -> Result<AttrPath, FilterError> {
    let invalid = || FilterError::InvalidAttrPath {
        path: echo(word),
        at,
    };
    let (urn, path) = match word.rsplit_once(':') {
        Some((urn, path)) => {
            let scheme_ok = urn.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("urn:"));
            if !scheme_ok || urn.len() <= 4 {
                return Err(invalid());
            }
            (Some(urn.to_owned()), path)
        }
        None => (None, word),
    };
    let valid = match path.split_once('.') {
        Some((name, sub)) => is_attr_name(name) && is_attr_name(sub),
        None => is_attr_name(path),
    };
    if !valid {
        return Err(invalid());
    }
    Ok(AttrPath {
        urn,
        path: path.to_owned(),
        key: path.to_ascii_lowercase(),
    })
}

/// `ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_")`, plus RFC 7643's `$ref`.
fn is_attr_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.eq_ignore_ascii_case("$ref")
        || (chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

fn echo(text: &str) -> String {
    text.chars().take(ECHO_MAX).collect()
}

// ---- evaluator ----

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
