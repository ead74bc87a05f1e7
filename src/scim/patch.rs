//! Applying a PATCH request (RFC 7644 section 3.5.2) to a resource's writable document (a
//! JSON object). The result is then checked and stored exactly as a PUT of it would be
//! (`users.rs`, `groups.rs`), so a PATCH can never store what a PUT could not. Written here
//! because no maintained crate applies SCIM PATCH operations (JSON Patch, RFC 6902, has other
//! paths and semantics). Attribute names match case-insensitively, as SCIM's do; the shapes
//! Entra ID and Okta send are accepted: capitalised `op`s, `"True"`/`"False"` strings for
//! booleans (handled by the caller's checks), path-less operations whose value keys are
//! paths (`"name.givenName"`), and `remove` of `members` with a value list.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimErrorKind};
use super::filter::{AttrPath, is_core_schema};
use super::patch_path::PatchPath;
use super::schema::PATCH_OP;
use super::{field, key_of};

/// Most operations in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

/// Attributes that hold lists whatever the document says (RFC 7643 section 4).
const MULTI_VALUED: &[&str] = &[
    "emails",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509certificates",
    "members",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// Applies the PATCH request `body` to `doc`. `case_exact` names the attributes compared
/// case-sensitively in value filters.
pub fn apply(
    doc: &mut Map<String, Value>,
    body: &Value,
    case_exact: &[&str],
) -> Result<(), ScimError> {
    let invalid = |m: &str| ScimError::new(ScimErrorKind::InvalidSyntax, m);
    let Some(body) = body.as_object() else {
        return Err(invalid("a PATCH body is a JSON object"));
    };
    let schemas_ok = body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s.as_str() == Some(PATCH_OP)));
    if !schemas_ok {
        return Err(invalid(&format!("schemas must list {PATCH_OP}")));
    }
    let Some(ops) = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
    else {
        return Err(invalid("Operations must be a list"));
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            ScimErrorKind::InvalidValue,
            format!("at most {MAX_OPERATIONS} operations per request"),
        ));
    }
    for op in ops {
        one(doc, op, case_exact)?;
    }
    Ok(())
}

fn one(doc: &mut Map<String, Value>, op: &Value, case_exact: &[&str]) -> Result<(), ScimError> {
    let invalid = |m: &str| ScimError::new(ScimErrorKind::InvalidSyntax, m);
    let Some(op) = op.as_object() else {
        return Err(invalid("each operation is a JSON object"));
    };
    let kind = match field(op, "op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
    {
        Some(k) if k == "add" => Op::Add,
        Some(k) if k == "remove" => Op::Remove,
        Some(k) if k == "replace" => Op::Replace,
        _ => return Err(invalid("op must be add, remove or replace")),
    };
    let value = field(op, "value");
    // A path naming a whole extension (`urn:...:enterprise:2.0:User`).
    if let Some(Value::String(path)) = field(op, "path") {
        let path = path.trim();
        if path.starts_with("urn:") {
            let known = key_of(doc, path);
            if known.is_some() || super::schema::ENTERPRISE_USER.eq_ignore_ascii_case(path) {
                let key = known.unwrap_or_else(|| path.to_string());
                match (kind, value) {
                    (Op::Remove, _) => {
                        doc.remove(&key);
                    }
                    (_, Some(v @ Value::Object(_))) => merge_into(doc, &key, v, kind),
                    _ => {
                        return Err(ScimError::new(
                            ScimErrorKind::InvalidValue,
                            "an extension's value is an object",
                        ));
                    }
                }
                return Ok(());
            }
        }
    }
    match field(op, "path") {
        Some(Value::String(path)) if !path.trim().is_empty() => {
            let path = PatchPath::parse(path.trim())?;
            at_path(doc, kind, &path, value, case_exact)
        }
        Some(Value::String(_)) | None => match kind {
            Op::Remove => Err(ScimError::new(
                ScimErrorKind::NoTarget,
                "remove needs a path",
            )),
            Op::Add | Op::Replace => {
                let Some(Value::Object(values)) = value else {
                    return Err(invalid("an operation without a path needs an object value"));
                };
                for (key, v) in values {
                    if let Ok(path) = PatchPath::parse(key)
                        && path.filter.is_none()
                    {
                        at_path(doc, kind, &path, Some(v), case_exact)?;
                        continue;
                    }
                    if is_core_schema(key) || key.starts_with("urn:") {
                        // An extension's attributes given as an object under its URN.
                        merge_into(doc, key, v, kind);
                        continue;
                    }
                    return Err(ScimError::new(
                        ScimErrorKind::InvalidPath,
                        format!("{key:?} is not an attribute path"),
                    ));
                }
                Ok(())
            }
        },
        Some(_) => Err(invalid("path must be a string")),
    }
}

/// The object an attribute path lives in: the document, or the extension's object.
fn container<'a>(
    doc: &'a mut Map<String, Value>,
    attr: &AttrPath,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    match attr.urn() {
        None => Some(doc),
        Some(urn) if is_core_schema(urn) => Some(doc),
        Some(urn) => {
            let key = key_of(doc, urn).unwrap_or_else(|| urn.to_string());
            if create && !doc.contains_key(&key) {
                doc.insert(key.clone(), Value::Object(Map::new()));
            }
            doc.get_mut(&key).and_then(Value::as_object_mut)
        }
    }
}

fn is_multi(name: &str, current: Option<&Value>) -> bool {
    MULTI_VALUED.contains(&name.to_ascii_lowercase().as_str())
        || matches!(current, Some(Value::Array(_)))
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn merge_into(doc: &mut Map<String, Value>, key: &str, v: &Value, kind: Op) {
    let key = key_of(doc, key).unwrap_or_else(|| key.to_string());
    match (doc.get_mut(&key), v) {
        (Some(Value::Object(have)), Value::Object(new))
            if kind == Op::Add || kind == Op::Replace =>
        {
            for (k, v) in new {
                let k2 = key_of(have, k).unwrap_or_else(|| k.clone());
                have.insert(k2, v.clone());
            }
        }
        _ => {
            doc.insert(key, v.clone());
        }
    }
}

fn at_path(
    doc: &mut Map<String, Value>,
    kind: Op,
    path: &PatchPath,
    value: Option<&Value>,
    case_exact: &[&str],
) -> Result<(), ScimError> {
    let needs_value =
        || ScimError::new(ScimErrorKind::InvalidValue, "this operation needs a value");
    let no_target = || {
        ScimError::new(
            ScimErrorKind::NoTarget,
            "no value matches the path's filter",
        )
    };
    let Some(obj) = container(doc, &path.attr, kind != Op::Remove) else {
        return match kind {
            Op::Remove => Ok(()),
            _ => Err(no_target()),
        };
    };
    let name = path.attr.name().to_string();
    let key = key_of(obj, &name).unwrap_or(name.clone());
    // `attr.sub` without a filter: a sub-attribute of a single complex attribute (or of
    // every value of a multi-valued one).
    if let (Some(sub), None) = (path.attr.sub_attr(), &path.filter) {
        match kind {
            Op::Remove => {
                match obj.get_mut(&key) {
                    Some(Value::Object(inner)) => {
                        if let Some(k) = key_of(inner, sub) {
                            inner.remove(&k);
                        }
                    }
                    Some(Value::Array(items)) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            if let Some(k) = key_of(item, sub) {
                                item.remove(&k);
                            }
                        }
                    }
                    _ => {}
                }
                return Ok(());
            }
            Op::Add | Op::Replace => {
                let v = value.ok_or_else(needs_value)?;
                let entry = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
                match entry {
                    Value::Object(inner) => {
                        let k = key_of(inner, sub).unwrap_or_else(|| sub.to_string());
                        inner.insert(k, v.clone());
                    }
                    Value::Array(items) => {
                        for item in items.iter_mut().filter_map(Value::as_object_mut) {
                            let k = key_of(item, sub).unwrap_or_else(|| sub.to_string());
                            item.insert(k, v.clone());
                        }
                    }
                    other => *other = serde_json::json!({ sub: v }),
                }
                return Ok(());
            }
        }
    }
    // `attr[filter]` and `attr[filter].sub`: the selected values of a multi-valued attribute.
    if path.filter.is_some() {
        let Some(Value::Array(items)) = obj.get_mut(&key) else {
            return match kind {
                Op::Remove => Ok(()),
                _ => Err(no_target()),
            };
        };
        let selected: Vec<usize> = (0..items.len())
            .filter(|&i| path.selects(&items[i], case_exact))
            .collect();
        if selected.is_empty() && kind == Op::Replace {
            return Err(no_target());
        }
        match (kind, &path.sub_attr) {
            (Op::Remove, None) => {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !selected.contains(&i);
                    i += 1;
                    keep
                });
            }
            (Op::Remove, Some(sub)) => {
                for &i in &selected {
                    if let Some(item) = items[i].as_object_mut()
                        && let Some(k) = key_of(item, sub)
                    {
                        item.remove(&k);
                    }
                }
            }
            (_, Some(sub)) => {
                let v = value.ok_or_else(needs_value)?;
                if selected.is_empty() {
                    return Err(no_target());
                }
                for &i in &selected {
                    if let Some(item) = items[i].as_object_mut() {
                        let k = key_of(item, sub).unwrap_or_else(|| sub.clone());
                        item.insert(k, v.clone());
                    }
                }
            }
            (_, None) => {
                let v = value.ok_or_else(needs_value)?;
                if selected.is_empty() {
                    return Err(no_target());
                }
                for &i in &selected {
                    match (&mut items[i], v) {
                        (Value::Object(item), Value::Object(new)) => {
                            for (k, nv) in new {
                                let k2 = key_of(item, k).unwrap_or_else(|| k.clone());
                                item.insert(k2, nv.clone());
                            }
                        }
                        (slot, v) => *slot = v.clone(),
                    }
                }
            }
        }
        return Ok(());
    }
    // The whole attribute.
    let multi = is_multi(&name, obj.get(&key));
    match kind {
        Op::Remove => {
            // Entra ID and others remove some members with a value list.
            match (value, obj.get_mut(&key)) {
                (Some(v), Some(Value::Array(items))) if multi => {
                    let gone = as_list(v);
                    items.retain(|item| !gone.iter().any(|g| same_value(item, g)));
                }
                _ => {
                    obj.remove(&key);
                }
            }
        }
        Op::Add => {
            let v = value.ok_or_else(needs_value)?;
            if multi {
                let list = obj.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if !list.is_array() {
                    *list = Value::Array(Vec::new());
                }
                if let Value::Array(items) = list {
                    for new in as_list(v) {
                        if !items.iter().any(|have| same_value(have, &new)) {
                            items.push(new);
                        }
                    }
                }
            } else {
                merge_into(obj, &key, v, Op::Add);
            }
        }
        Op::Replace => {
            let v = value.ok_or_else(needs_value)?;
            if multi {
                obj.insert(key, Value::Array(as_list(v)));
            } else {
                merge_into(obj, &key, v, Op::Replace);
            }
        }
    }
    Ok(())
}

/// Two values of a multi-valued attribute name the same thing: equal `value`s when both have
/// one (compared as written), else equal JSON.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(doc: Value, ops: Value) -> Result<Value, ScimError> {
        let mut doc = doc.as_object().cloned().unwrap_or_default();
        apply(
            &mut doc,
            &json!({ "schemas": [PATCH_OP], "Operations": ops }),
            &["members.value"],
        )?;
        Ok(Value::Object(doc))
    }

    #[test]
    fn entra_replace_without_path_and_capitalised_ops() {
        let doc = json!({"userName": "a@x.se", "active": true, "name": {"givenName": "A"}});
        let out = patch(
            doc,
            json!([
                {"op": "Replace", "value": {"active": false, "name.familyName": "B"}},
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@x.se"},
            ]),
        );
        // `emails` does not exist: a filtered add has no target.
        assert_eq!(out.unwrap_err().scim_type(), Some("noTarget"));
        let out = patch(
            json!({"userName": "a@x.se", "name": {"givenName": "A"}}),
            json!([{"op": "Replace", "value": {"active": "False", "name.familyName": "B"}}]),
        )
        .unwrap();
        assert_eq!(out["active"], "False");
        assert_eq!(out["name"], json!({"givenName": "A", "familyName": "B"}));
    }

    #[test]
    fn members_add_and_remove_shapes() {
        let doc = json!({"displayName": "board", "members": [{"value": "u1"}, {"value": "u2"}]});
        let out = patch(
            doc.clone(),
            json!([{"op": "add", "path": "members", "value": [{"value": "u3"}, {"value": "u1"}]}]),
        )
        .unwrap();
        assert_eq!(
            out["members"],
            json!([{"value": "u1"}, {"value": "u2"}, {"value": "u3"}])
        );
        // Entra ID: remove with a value list.
        let out = patch(
            doc.clone(),
            json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "u2"}]));
        // Okta: remove with a filter.
        let out = patch(
            doc.clone(),
            json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([{"value": "u1"}]));
        // Replace the whole list.
        let out = patch(
            doc,
            json!([{"op": "replace", "path": "members", "value": []}]),
        )
        .unwrap();
        assert_eq!(out["members"], json!([]));
    }

    #[test]
    fn filtered_sub_attribute_and_extension_paths() {
        let doc = json!({"emails": [{"type": "work", "value": "a@x.se"}, {"type": "home", "value": "b@y.se"}]});
        let out = patch(
            doc,
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "c@x.se"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "42"},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "C"},
            ]),
        )
        .unwrap();
        assert_eq!(out["emails"][0]["value"], "c@x.se");
        assert_eq!(out["emails"][1]["value"], "b@y.se");
        assert_eq!(
            out["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "42"
        );
        assert_eq!(out["displayName"], "C");
    }

    #[test]
    fn refusals_have_their_scim_types() {
        let doc = json!({"userName": "a"});
        let cases = [
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "move", "path": "userName"}]), "invalidSyntax"),
            (
                json!([{"op": "replace", "path": "userName["}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq \"x\"]", "value": {}}]),
                "noTarget",
            ),
            (
                json!([{"op": "add", "path": "displayName"}]),
                "invalidValue",
            ),
            (json!("x"), "invalidSyntax"),
        ];
        for (ops, want) in cases {
            let err = patch(doc.clone(), ops.clone()).expect_err(&ops.to_string());
            assert_eq!(err.scim_type(), Some(want), "{ops}");
        }
        let mut d = Map::new();
        let err = apply(&mut d, &json!({"Operations": []}), &[]).unwrap_err();
        assert_eq!(err.scim_type(), Some("invalidSyntax"));
    }
}
