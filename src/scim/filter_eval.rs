//! Evaluating a parsed [`Filter`](super::filter::Filter) against a resource in its served
//! JSON form (the semantics are listed in `scim::filter`'s documentation).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::filter::{AttrPath, CompValue, CompareOp, Filter, is_core_schema};

pub(super) fn eval(filter: &Filter, ctx: &Value, parent: &str, case_exact: &[&str]) -> bool {
    match filter {
        Filter::And(items) => items.iter().all(|f| eval(f, ctx, parent, case_exact)),
        Filter::Or(items) => items.iter().any(|f| eval(f, ctx, parent, case_exact)),
        Filter::Not(inner) => !eval(inner, ctx, parent, case_exact),
        Filter::Present(path) => values(ctx, path).into_iter().any(is_present),
        Filter::ValuePath { path, filter } => {
            let prefix = full_key(parent, path);
            values(ctx, path)
                .into_iter()
                .any(|v| v.is_object() && eval(filter, v, &prefix, case_exact))
        }
        Filter::Compare { path, op, value } => {
            let found = values(ctx, path);
            if matches!(value, CompValue::Null) {
                return match op {
                    CompareOp::Eq => found.is_empty(),
                    CompareOp::Ne => !found.is_empty(),
                    _ => false,
                };
            }
            let key = full_key(parent, path);
            let exact = case_exact.iter().any(|p| p.eq_ignore_ascii_case(&key));
            found
                .into_iter()
                .filter_map(|v| {
                    if v.is_object() {
                        get(v, "value")
                    } else {
                        Some(v)
                    }
                })
                .any(|v| compare(v, *op, value, exact))
        }
    }
}

fn full_key<'p>(parent: &str, path: &'p AttrPath) -> Cow<'p, str> {
    if parent.is_empty() {
        Cow::Borrowed(path.key())
    } else {
        Cow::Owned(format!("{parent}.{}", path.key()))
    }
}

/// The values `path` names in `ctx`, arrays flattened, nulls left out.
fn values<'v>(ctx: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let mut out = Vec::new();
    let Some(attr) = schema_base(ctx, path.urn()).and_then(|base| get(base, path.name())) else {
        return out;
    };
    match path.sub_attr() {
        None => push_flat(&mut out, attr),
        Some(sub) => {
            let items = match attr {
                Value::Array(items) => items.as_slice(),
                single => std::slice::from_ref(single),
            };
            for value in items.iter().filter_map(|item| get(item, sub)) {
                push_flat(&mut out, value);
            }
        }
    }
    out
}

fn push_flat<'v>(out: &mut Vec<&'v Value>, value: &'v Value) {
    match value {
        Value::Null => {}
        Value::Array(items) => out.extend(items.iter().filter(|v| !v.is_null())),
        single => out.push(single),
    }
}

/// Where the attributes of schema `urn` live in `ctx`.
fn schema_base<'v>(ctx: &'v Value, urn: Option<&str>) -> Option<&'v Value> {
    let Some(urn) = urn else { return Some(ctx) };
    if let Some(extension) = get(ctx, urn) {
        return Some(extension);
    }
    let declared = get(ctx, "schemas")?
        .as_array()?
        .iter()
        .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
    (declared && is_core_schema(urn)).then_some(ctx)
}

/// The member `key` of an object, ASCII case ignored.
fn get<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    let map = value.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn is_present(value: &Value) -> bool {
    let non_empty = |v: &Value| match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    };
    match value {
        Value::Object(members) => members.values().any(non_empty),
        other => non_empty(other),
    }
}

fn compare(found: &Value, op: CompareOp, literal: &CompValue, exact: bool) -> bool {
    match (found, literal) {
        (Value::String(found), CompValue::Str(literal)) => {
            let (found, literal) = if exact {
                (
                    Cow::Borrowed(found.as_str()),
                    Cow::Borrowed(literal.as_str()),
                )
            } else {
                (
                    Cow::Owned(found.to_lowercase()),
                    Cow::Owned(literal.to_lowercase()),
                )
            };
            match op {
                CompareOp::Co => found.contains(&*literal),
                CompareOp::Sw => found.starts_with(&*literal),
                CompareOp::Ew => found.ends_with(&*literal),
                _ => op.holds(found.cmp(&literal)),
            }
        }
        (Value::Number(found), CompValue::Number(literal)) => {
            compare_numbers(found, literal).is_some_and(|ordering| op.holds(ordering))
        }
        (Value::Bool(found), CompValue::Bool(literal)) => match op {
            CompareOp::Eq => found == literal,
            CompareOp::Ne => found != literal,
            _ => false,
        },
        _ => false,
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return Some(a.cmp(&b));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}
