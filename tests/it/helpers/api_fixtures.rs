//! Fixtures the admin-API tests share: fresh members, people and sessions made without the
//! cost of a password, and the search of an answer for secret-shaped values. The caller of
//! the API and its answers are `helpers::api` (re-exported here for the files that import
//! them from this module).

use serde_json::Value;

use crate::helpers::TestApp;
pub use crate::helpers::api::{Api, Reply};

/// Creates a person without a password (no hashing: fast) and makes them a member of `org`
/// with `roles`; returns their id.
pub async fn fresh_member(app: &TestApp, org: &str, email: &str, roles: &[&str]) -> String {
    let id = fresh_person(app, email).await;
    app.add_member(org, email, roles).await;
    id
}

/// Creates a person without a password; returns their id.
pub async fn fresh_person(app: &TestApp, email: &str) -> String {
    nyckel::admin::users::create(
        &app.state.db,
        &app.state.hasher,
        &nyckel::auth::policy::PasswordPolicy::from_config(&app.state.config.password),
        nyckel::admin::users::CreateUser {
            email: email.into(),
            name: Some("Fresh Person".into()),
            phone: None,
            password: None,
        },
        app.state.now(),
    )
    .await
    .expect("person created")
}

/// Records a login session of `user_id` (as the login page would); returns its `sid`.
pub async fn fresh_session(app: &TestApp, user_id: &str) -> String {
    let now = app.state.now();
    let row = nyckel::store::sessions::SessionRow {
        id_hash: nyckel::crypto::sha256_b64(&nyckel::crypto::secret_token()),
        sid: nyckel::crypto::random_id(),
        user_id: user_id.into(),
        csrf: nyckel::crypto::secret_token(),
        auth_time: now,
        amr: r#"["pwd"]"#.into(),
        acr: "urn:nyckel:acr:1fa".into(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + 3600,
    };
    nyckel::store::sessions::insert(&app.state.db, &row, Default::default())
        .await
        .expect("session");
    row.sid
}

/// String values in `v` that look like a secret (a token, key, code or hash: 32 or more
/// characters, all base64url). With `allow_client_secret`, the value of a `client_secret`
/// field is allowed (the answers that create or rotate one).
pub fn secret_shaped(v: &Value, allow_client_secret: bool) -> Vec<String> {
    let mut out = Vec::new();
    walk_strings(v, None, &mut |key, s| {
        let shaped = (s.len() >= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            || s.starts_with("whsec_");
        let allowed = match key {
            Some("client_secret") => allow_client_secret,
            // A webhook endpoint's signing secret, where it is shown once.
            Some("secret") => allow_client_secret && s.starts_with("whsec_"),
            // An error code is a fixed snake_case word (`insufficient_user_authentication`),
            // in an answer or in the OpenAPI document's list of codes; so is a field name in
            // the document's lists of required fields (`backchannel_logout_session_required`).
            Some("code" | "enum" | "required") => {
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            }
            // A cursor is base64url too, of a JSON list of sort keys: check it is one.
            Some("next_cursor") => nyckel::crypto::b64_decode(s)
                .and_then(|b| serde_json::from_slice::<Vec<String>>(&b).ok())
                .is_some(),
            _ => false,
        };
        if shaped && !allowed {
            out.push(s.to_string());
        }
    });
    out
}

fn walk_strings(v: &Value, key: Option<&str>, f: &mut impl FnMut(Option<&str>, &str)) {
    match v {
        Value::String(s) => f(key, s),
        Value::Array(a) => a.iter().for_each(|x| walk_strings(x, key, f)),
        Value::Object(m) => m.iter().for_each(|(k, x)| walk_strings(x, Some(k), f)),
        _ => {}
    }
}
