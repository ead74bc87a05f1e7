//! The requests Microsoft Entra ID and Okta send, in the shapes and order their provisioning
//! documentation gives (`scim/entra.json`, `scim/okta.json`, each naming its source), replayed
//! against an organisation's endpoint: every step's status and the answer's values at the
//! given JSON pointers (`null`: absent). `{user}` and `{group}` stand for ids saved by earlier
//! steps.

use reqwest::Method;
use serde_json::Value;

use super::scim_of;
use crate::helpers::admin::World;

fn fill(text: &str, saved: &[(String, String)]) -> String {
    saved.iter().fold(text.to_string(), |t, (k, v)| {
        t.replace(&format!("{{{k}}}"), v)
    })
}

fn fill_value(v: &Value, saved: &[(String, String)]) -> Value {
    match v {
        Value::String(s) => Value::String(fill(s, saved)),
        Value::Array(items) => Value::Array(items.iter().map(|i| fill_value(i, saved)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill_value(v, saved)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn replay(file: &str) {
    let path = format!("{}/tests/it/scim/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let fixture: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let steps = fixture["steps"].as_array().expect("steps");
    assert!(steps.len() >= 10, "{file} has its steps");
    let world = World::new().await;
    let scim = scim_of(&world, "club-a").await;
    let mut saved: Vec<(String, String)> = Vec::new();
    for step in steps {
        let name = step["name"].as_str().unwrap_or("?");
        let method = Method::from_bytes(step["method"].as_str().unwrap_or("GET").as_bytes())
            .expect("method");
        let url = fill(step["path"].as_str().expect("path"), &saved);
        let body = step.get("body").map(|b| fill_value(b, &saved));
        let reply = scim.send(method, &url, body.as_ref(), None).await;
        let want = step["status"].as_u64().expect("status");
        assert_eq!(
            u64::from(reply.status.as_u16()),
            want,
            "{file}: {name}: {:?}",
            reply.body
        );
        if let Some(expect) = step.get("expect").and_then(Value::as_object) {
            for (pointer, value) in expect {
                let value = fill_value(value, &saved);
                let got = reply.body.pointer(pointer).cloned().unwrap_or(Value::Null);
                assert_eq!(got, value, "{file}: {name}: {pointer} in {}", reply.body);
            }
        }
        if let Some(save) = step.get("save").and_then(Value::as_object) {
            for (key, pointer) in save {
                let id = reply
                    .body
                    .pointer(pointer.as_str().unwrap_or_default())
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{file}: {name}: nothing at {pointer}"));
                saved.push((key.clone(), id.to_string()));
            }
        }
    }
}

#[tokio::test]
async fn microsoft_entra_id_requests_pass() {
    replay("entra.json").await;
}

#[tokio::test]
async fn okta_requests_pass() {
    replay("okta.json").await;
}
