//! Query parameters shared by every list and read (RFC 7644 sections 3.4.2 and 3.9):
//! `filter`, `startIndex`/`count` paging, and `attributes`/`excludedAttributes`, plus the
//! `ListResponse` they produce.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ScimError, ScimErrorKind};
use super::filter::{Filter, is_core_schema};
use super::key_of;
use super::schema::{LIST_RESPONSE, MAX_RESULTS};

/// The query string of a list or read.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    #[serde(rename = "sortBy")]
    pub sort_by: Option<String>,
}

impl Query {
    /// The parsed filter.
    pub fn filter(&self) -> Result<Option<Filter>, ScimError> {
        match self.filter.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(f) => Ok(Some(Filter::parse(f)?)),
        }
    }

    /// `(offset from 0, how many)`: `startIndex` below 1 counts as 1 and `count` is held
    /// within 0..=[`MAX_RESULTS`] (RFC 7644 section 3.4.2.4).
    pub fn window(&self) -> Result<(usize, usize), ScimError> {
        let number = |name: &str, v: &Option<String>, default: i64| match v.as_deref() {
            None | Some("") => Ok(default),
            Some(s) => s.trim().parse::<i64>().map_err(|_| {
                ScimError::new(
                    ScimErrorKind::InvalidValue,
                    format!("{name} must be an integer"),
                )
            }),
        };
        let start = number("startIndex", &self.start_index, 1)?.max(1);
        let count = number("count", &self.count, MAX_RESULTS as i64)?.clamp(0, MAX_RESULTS as i64);
        Ok(((start - 1) as usize, count as usize))
    }

    /// The query of a `POST .search` body (RFC 7644 section 3.4.3): the same parameters as
    /// JSON, `attributes` as lists.
    pub fn from_search(body: &Value) -> Result<Query, ScimError> {
        let invalid = |m: &str| ScimError::new(ScimErrorKind::InvalidValue, m.to_string());
        let obj = super::object(body)?;
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match super::field(obj, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .map(str::to_string)
                                .ok_or_else(|| invalid("attribute names are strings"))
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .join(","),
                )),
                Some(_) => Err(invalid(&format!("{name} has the wrong type"))),
            }
        };
        Ok(Query {
            filter: text("filter")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
            sort_by: text("sortBy")?,
        })
    }

    /// Refuses what this provider does not do.
    pub fn check_supported(&self) -> Result<(), ScimError> {
        if self
            .sort_by
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty())
        {
            return Err(ScimError::new(
                ScimErrorKind::InvalidValue,
                "sorting is not supported (ServiceProviderConfig sort.supported is false)",
            ));
        }
        Ok(())
    }

    /// Applies `attributes` / `excludedAttributes` to a rendered resource.
    pub fn project(&self, resource: Value) -> Value {
        project(
            resource,
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }
}

/// The `ListResponse` of `total` matches, starting at `offset`, holding `resources`.
pub fn response(total: usize, offset: usize, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": offset + 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Always returned, whatever `attributes` says (RFC 7643 section 7, `returned: always`).
const ALWAYS: &[&str] = &["id", "schemas"];

fn names(list: Option<&str>) -> Vec<(Option<String>, String, Option<String>)> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|a| {
            // `urn:...:User:name.givenName`, `name.givenName`, `emails`.
            let (urn, rest) = match a.rfind(':') {
                Some(i) if a.starts_with("urn:") => (Some(&a[..i]), &a[i + 1..]),
                _ => (None, a),
            };
            let urn = urn.filter(|u| !is_core_schema(u)).map(str::to_string);
            match rest.split_once('.') {
                Some((n, sub)) => (urn, n.to_string(), Some(sub.to_string())),
                None => (urn, rest.to_string(), None),
            }
        })
        .collect()
}

fn project(resource: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let Value::Object(mut obj) = resource else {
        return resource;
    };
    let wanted = names(attributes);
    if !wanted.is_empty() {
        let mut out = Map::new();
        for keep in ALWAYS {
            if let Some(v) = obj.get(*keep) {
                out.insert(keep.to_string(), v.clone());
            }
        }
        for (urn, name, sub) in &wanted {
            let source = match urn {
                None => Some(&obj),
                Some(u) => key_of(&obj, u)
                    .and_then(|k| obj.get(&k))
                    .and_then(Value::as_object),
            };
            let Some(source) = source else { continue };
            let Some(key) = key_of(source, name) else {
                continue;
            };
            let value = match (sub, &source[&key]) {
                (None, v) => v.clone(),
                (Some(sub), Value::Object(inner)) => match key_of(inner, sub) {
                    Some(k) => {
                        let mut part = out
                            .get(&key)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        part.insert(k.clone(), inner[&k].clone());
                        Value::Object(part)
                    }
                    None => continue,
                },
                (Some(sub), Value::Array(items)) => Value::Array(
                    items
                        .iter()
                        .filter_map(Value::as_object)
                        .filter_map(|i| key_of(i, sub).map(|k| json!({ k.clone(): i[&k].clone() })))
                        .collect(),
                ),
                (Some(_), _) => continue,
            };
            match urn {
                None => {
                    out.insert(key, value);
                }
                Some(u) => {
                    let uk = key_of(&obj, u).unwrap_or_else(|| u.clone());
                    let ext = out.entry(uk).or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(ext) = ext {
                        ext.insert(key, value);
                    }
                }
            }
        }
        return Value::Object(out);
    }
    for (urn, name, sub) in names(excluded) {
        if ALWAYS.iter().any(|a| a.eq_ignore_ascii_case(&name)) && urn.is_none() {
            continue;
        }
        let target = match &urn {
            None => Some(&mut obj),
            Some(u) => match key_of(&obj, u) {
                Some(k) => obj.get_mut(&k).and_then(Value::as_object_mut),
                None => None,
            },
        };
        let Some(target) = target else { continue };
        let Some(key) = key_of(target, &name) else {
            continue;
        };
        match sub {
            None => {
                target.remove(&key);
            }
            Some(sub) => match target.get_mut(&key) {
                Some(Value::Object(inner)) => {
                    if let Some(k) = key_of(inner, &sub) {
                        inner.remove(&k);
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(k) = key_of(i, &sub) {
                            i.remove(&k);
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_id_and_schemas_and_the_named_ones() {
        let r = json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}], "meta": {"version": "v"}});
        let q = Query {
            attributes: Some("userName, name.givenName, emails.value".into()),
            ..Default::default()
        };
        assert_eq!(
            q.project(r.clone()),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "name": {"givenName": "A"}, "emails": [{"value": "a@x"}]})
        );
        let q = Query {
            excluded_attributes: Some("name,emails.type,id,meta".into()),
            ..Default::default()
        };
        assert_eq!(
            q.project(r),
            json!({"schemas": ["s"], "id": "1", "userName": "a", "emails": [{"value": "a@x"}]})
        );
    }

    #[test]
    fn the_window_is_held_within_the_limits() {
        let q = |s: &str, c: &str| Query {
            start_index: Some(s.into()),
            count: Some(c.into()),
            ..Default::default()
        };
        assert_eq!(q("0", "-5").window().unwrap(), (0, 0));
        assert_eq!(q("3", "100000").window().unwrap(), (2, MAX_RESULTS));
        assert_eq!(Query::default().window().unwrap(), (0, MAX_RESULTS));
        assert_eq!(
            q("x", "1").window().unwrap_err().scim_type(),
            Some("invalidValue")
        );
    }
}
