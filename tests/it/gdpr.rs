//! GDPR (issue 5, done-when 4): "download my data" holds every row that refers to the person
//! and no secret; "delete my account" leaves no row that identifies them except the
//! tombstone. Both are checked against the LIVE schema: every table and column is discovered,
//! so tables added later are covered without changing this file.

use std::collections::{BTreeMap, BTreeSet};

use nyckel::store::dump::{self, Kind};
use nyckel::store::{self, Db};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::helpers::admin::{client_credentials, service_client};
use crate::helpers::browser::{Browser, Page, query};
use crate::helpers::flows::{Pkce, authorize_url};
use crate::helpers::ops::Install;
use crate::helpers::token::{Auth, redeem, refresh, userinfo};
use crate::helpers::{PASSWORD, REDIRECT_URI, TestApp};

const EBBA: &str = "ebba.gdpr@example.org";
const EBBA_NAME: &str = "Ebba Raderasson";
const EBBA_PHONE: &str = "+46701112233";
const EBBA_NEW: &str = "ebba.ny.adress@example.org";
const OLLE: &str = "olle.kvar@example.org";
const OLLE_NAME: &str = "Olle Stannarsson";
const OLLE_PHONE: &str = "+46702223344";

/// One test person and what the test holds of theirs.
struct Person {
    sub: String,
    email: &'static str,
    name: &'static str,
    phone: &'static str,
    browser: Browser,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    /// Tokens, codes and keys the test saw (none may appear in an export).
    secrets: Vec<String>,
    refresh_token: String,
    access_token: String,
}

impl Person {
    /// The values that identify them.
    fn values(&self) -> Vec<String> {
        vec![
            self.sub.clone(),
            self.email.to_lowercase(),
            self.phone.to_string(),
            self.name.to_lowercase(),
        ]
    }

    fn session_cookie(&self, app: &TestApp) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&app.issuer).expect("url");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == "__Host-nyckel_session")
            .map(|(_, v)| v.to_string())
    }
}

struct World {
    app: TestApp,
    orgs: Vec<String>,
    client_id: String,
    client_secret: String,
}

/// A person with sessions, memberships, a consent, an authorization code and refresh token
/// from a real flow, a login key, email and phone changes in progress, audit events and
/// messages.
async fn person(
    w: &World,
    email: &'static str,
    name: &'static str,
    phone: &'static str,
    orgs: &[(&str, &[&str])],
) -> Person {
    let app = &w.app;
    let sub = app.create_user_with(email, Some(name), PASSWORD).await;
    store::users::set_phone(&app.state.db, &sub, Some(phone), true, app.state.now())
        .await
        .expect("phone");
    for (org, roles) in orgs {
        app.add_member(org, email, roles).await;
    }
    let b = Browser::new(app);
    let jar = b.jar.clone();
    let mut secrets = Vec::new();
    // A second session, from another browser, and a wrong password (audit events).
    let other = app.browser();
    other.log_in(email).await;
    other.login_at("/login", email, "fel fel fel").await;
    // The authorization code flow with consent and a refresh token.
    let pkce = Pkce::new();
    let start = authorize_url(
        &app.issuer,
        &w.client_id,
        "openid email profile offline_access",
        "st",
        Some(&pkce),
        &[("nonce", "n-gdpr")],
    );
    let page = b.authorize_and_login(&start, email, PASSWORD).await;
    let loc = page.location.clone().expect("redirect to the client");
    assert!(loc.starts_with(REDIRECT_URI), "{loc}\n{}", page.body);
    let code = query(&loc)["code"].clone();
    let client = Auth::Basic(&w.client_id, &w.client_secret);
    let tokens = redeem(app, client, &code, Some(&pkce.verifier)).await;
    let refresh_token = tokens.str("refresh_token").to_string();
    for field in ["access_token", "id_token", "refresh_token"] {
        secrets.push(tokens.str(field).to_string());
    }
    secrets.push(code);
    secrets.push(pkce.verifier.clone());
    secrets.push(pkce.challenge.clone());
    // A login key by email.
    let asked = app.browser().ask_key(email).await;
    assert!(asked.status.is_success() || asked.status.is_redirection());
    for m in app.mails_to(email).await {
        for word in m.text.split_whitespace() {
            if let Some((_, key)) = word.split_once("/l/") {
                secrets.push(key.trim_end_matches(['.', ',']).to_string());
            }
        }
    }
    // Email and phone changes in progress (fresh login in `b`).
    let new_email = if email == EBBA {
        EBBA_NEW.to_string()
    } else {
        format!("ny.{email}")
    };
    let sent = b.fill("/account/email", &[("email", &new_email)]).await;
    sent.expect_status(200);
    let new_phone = if email == EBBA {
        "+46709990001"
    } else {
        "+46709990002"
    };
    let sent = b.fill("/account/phone", &[("phone", new_phone)]).await;
    sent.expect_status(200);
    for m in app.mails_to(&new_email).await {
        for word in m.text.split_whitespace() {
            if let Some((_, key)) = word.split_once("/verify/email/") {
                secrets.push(key.to_string());
            }
        }
    }
    let p = Person {
        sub,
        email,
        name,
        phone,
        browser: b,
        jar,
        access_token: secrets[0].clone(),
        secrets,
        refresh_token,
    };
    let cookie = p.session_cookie(app).expect("a session cookie");
    let mut p = p;
    p.secrets.push(cookie);
    p.secrets.push(p.browser.csrf_on("/account/data").await);
    p.secrets.push(PASSWORD.to_string());
    p
}

async fn world() -> (World, Person, Person) {
    let app = TestApp::spawn_password_only_admins("the people log in through a relying party with a password; what is stored about them is under test").await;
    let klubben = app.create_org("Klubben", "klubben").await;
    let laget = app.create_org("Laget", "laget").await;
    let (client_id, client_secret) = app
        .create_client(nyckel::admin::clients::CreateClient {
            name: "Föreningsappen".into(),
            redirect_uris: vec![REDIRECT_URI.into()],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            ..Default::default()
        })
        .await;
    let w = World {
        app,
        orgs: vec![klubben, laget],
        client_id,
        client_secret: client_secret.expect("a secret"),
    };
    let ebba = person(
        &w,
        EBBA,
        EBBA_NAME,
        EBBA_PHONE,
        &[("klubben", &["coach"]), ("laget", &["admin", "board"])],
    )
    .await;
    let olle = person(&w, OLLE, OLLE_NAME, OLLE_PHONE, &[("klubben", &["member"])]).await;
    provision(&w, EBBA).await;
    synthesize_rows(&w.app, &ebba).await;
    synthesize_rows(&w.app, &olle).await;
    (w, ebba, olle)
}

/// Klubben's membership platform provisions the person over SCIM (a member already, so the
/// record is linked to the account at once): the export holds the record, erasure ends it.
async fn provision(w: &World, email: &str) {
    let (id, secret) = service_client(&w.app, "klubben", "Medlemsregistret").await;
    let token = client_credentials(&w.app, &id, &secret, "scim").await;
    let res = w
        .app
        .http()
        .post(w.app.url("/scim/v2/orgs/klubben/Users"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "userName": email, "externalId": "K-1001" }))
        .send()
        .await
        .expect("SCIM");
    assert_eq!(res.status(), 201);
}

/// For every table whose only foreign key refers to the account and that holds no row of
/// the person yet (a table this test does not know how to fill through the product, such as
/// one added by a later migration), inserts one row with made-up values, so the export and
/// erasure checks cover it too.
async fn synthesize_rows(app: &TestApp, p: &Person) {
    let db = &app.state.db;
    let tables = dump::schema(db).await.expect("schema");
    let keys = store::export::foreign_keys(db, &tables)
        .await
        .expect("foreign keys");
    for t in &tables {
        let fks: Vec<_> = keys.iter().filter(|k| k.table == t.name).collect();
        let [fk] = fks.as_slice() else { continue };
        if fk.ref_table != "users" || fk.ref_column != "id" {
            continue;
        }
        let sql = format!(
            "select count(*) from \"{}\" where \"{}\" = $1",
            t.name, fk.column
        );
        let (n,): (i64,) = sqlx::query_as(&sql)
            .bind(&p.sub)
            .fetch_one(db.pool())
            .await
            .expect("count");
        if n > 0 {
            continue;
        }
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "insert into \"{}\" ({}) values ({})",
            t.name,
            cols.join(", "),
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for c in &t.columns {
            let text = format!(
                "synthetic-{}-{}-{}",
                t.name,
                c.name,
                nyckel::crypto::random_id()
            );
            q = if c.name == fk.column {
                q.bind(p.sub.clone())
            } else {
                match c.kind {
                    // Instants get the time; anything else 1 (fits a SMALLINT flag).
                    Kind::Int if c.name.ends_with("_at") => q.bind(app.state.now()),
                    Kind::Int => q.bind(1_i64),
                    Kind::Bool => q.bind(true),
                    Kind::Real => q.bind(1.5_f64),
                    Kind::Text => q.bind(text),
                    Kind::Blob => q.bind(text.into_bytes()),
                }
            };
        }
        q.execute(db.writer()).await.expect("synthetic row");
    }
}

// ---- reading the live database, independently of the export code ----

pub(crate) type Rows = BTreeMap<String, Vec<Map<String, Value>>>;

/// Every row of every table (but the migration table), by table, columns by name.
pub(crate) async fn all_rows(db: &Db) -> Rows {
    let mut out = Rows::new();
    for t in dump::schema(db).await.expect("schema") {
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        let sql = format!("select {} from \"{}\"", cols.join(", "), t.name);
        let rows = sqlx::query(&sql).fetch_all(db.pool()).await.expect("rows");
        let mut list = Vec::new();
        for row in rows {
            let mut map = Map::new();
            for (i, c) in t.columns.iter().enumerate() {
                let v = match c.kind {
                    Kind::Int => cell::<i64>(&row, i),
                    Kind::Bool => cell::<bool>(&row, i),
                    Kind::Real => cell::<f64>(&row, i),
                    Kind::Text => cell::<String>(&row, i),
                    Kind::Blob => {
                        let bytes = row.try_get::<Option<Vec<u8>>, _>(i).expect("blob");
                        bytes.map_or(Value::Null, |b| Value::from(nyckel::crypto::b64(&b)))
                    }
                };
                map.insert(c.name.clone(), v);
            }
            list.push(map);
        }
        out.insert(t.name, list);
    }
    out
}

/// Column `i` of `row` as JSON (`null` for NULL).
fn cell<'r, T>(row: &'r AnyRow, i: usize) -> Value
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any> + Into<Value>,
{
    let value = row
        .try_get::<Option<T>, _>(i)
        .expect("a value of the column's kind");
    value.map_or(Value::Null, Into::into)
}

fn text_mentions(row: &Map<String, Value>, values: &[String]) -> bool {
    row.values().any(|v| {
        v.as_str().is_some_and(|s| {
            let s = s.to_lowercase();
            values.iter().any(|x| s.contains(&x.to_lowercase()))
        })
    })
}

/// The rows that name the person (any text column holds their id, email, phone) or refer to
/// such a row by a foreign key, transitively: `(table, row index)`.
async fn rows_about(db: &Db, rows: &Rows, p: &Person) -> BTreeSet<(String, usize)> {
    let values = vec![p.sub.clone(), p.email.to_lowercase(), p.phone.to_string()];
    let tables = dump::schema(db).await.expect("schema");
    let keys = store::export::foreign_keys(db, &tables)
        .await
        .expect("foreign keys");
    let mut found = BTreeSet::new();
    for (t, list) in rows {
        for (i, r) in list.iter().enumerate() {
            if text_mentions(r, &values) {
                found.insert((t.clone(), i));
            }
        }
    }
    loop {
        let mut added = false;
        for k in &keys {
            let parents: Vec<Value> = found
                .iter()
                .filter(|(t, _)| *t == k.ref_table)
                .map(|(t, i)| rows[t][*i][&k.ref_column].clone())
                .collect();
            for (i, r) in rows[&k.table].iter().enumerate() {
                if !r[&k.column].is_null()
                    && parents.contains(&r[&k.column])
                    && found.insert((k.table.clone(), i))
                {
                    added = true;
                }
            }
        }
        if !added {
            return found;
        }
    }
}

async fn download(p: &Person) -> (Page, Value) {
    let page = p
        .browser
        .fill("/account/data", &[])
        .await
        .expect_status(200);
    let doc: Value = serde_json::from_str(&page.body).expect("the download is JSON");
    (page, doc)
}

#[tokio::test]
async fn the_export_holds_every_row_about_the_person_and_no_secret() {
    let (w, ebba, olle) = world().await;
    let app = &w.app;
    let db = &app.state.db;
    // Every column that looks secret has a decision (denied or allowed).
    let reach = store::export::reach(db).await.expect("reach");
    assert_eq!(
        store::export::unclassified(&reach),
        Vec::<String>::new(),
        "classify these columns in store::export::DENIED or ALLOWED"
    );

    let (page, doc) = download(&ebba).await;
    let date = nyckel::auth::own_data::date(app.state.now());
    assert_eq!(
        page.headers["content-disposition"],
        format!("attachment; filename=\"nyckel-data-{date}.json\"").as_str()
    );
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(
        page.headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("application/json")
    );
    assert_eq!(doc["sub"], ebba.sub.as_str());
    assert!(doc["generated_at"].is_i64(), "{doc}");
    assert!(doc["schema_version"].as_i64().expect("version") >= 7);
    assert_eq!(doc["tables"]["users"][0]["email"], EBBA);
    assert_eq!(doc["tables"]["users"][0]["name"], EBBA_NAME);
    assert_eq!(
        doc["tables"]["memberships"].as_array().map(Vec::len),
        Some(2)
    );

    // The database, read independently: every row about her is in the export.
    let rows = all_rows(db).await;
    let about = rows_about(db, &rows, &ebba).await;
    let mut tables_seen = BTreeSet::new();
    for (t, i) in &about {
        tables_seen.insert(t.clone());
        if t == "audit_events" && rows[t][*i]["kind"] == "data.exported" {
            // Recorded after the document was put together.
            continue;
        }
        let withheld: Vec<&str> = doc["withheld_columns"][t]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let expected: Map<String, Value> = rows[t][*i]
            .iter()
            .filter(|(c, _)| !withheld.contains(&c.as_str()))
            .map(|(c, v)| (c.clone(), v.clone()))
            .collect();
        let exported = doc["tables"][t].as_array().cloned().unwrap_or_default();
        assert!(
            exported.iter().any(|r| r.as_object() == Some(&expected)),
            "row of {t} missing from the export: {expected:?}\nexport of {t}: {exported:?}"
        );
    }
    for t in [
        "users",
        "memberships",
        "sessions",
        "grants",
        "auth_codes",
        "refresh_tokens",
        "consents",
        "login_keys",
        "audit_events",
        "outbox",
    ] {
        assert!(
            tables_seen.contains(t),
            "the test person has rows in {t}: {:?}",
            rows.get(t)
        );
    }

    // Every table that refers to the account (today's and later ones) was exercised.
    let tables = dump::schema(db).await.expect("schema");
    for k in store::export::foreign_keys(db, &tables)
        .await
        .expect("keys")
    {
        if k.ref_table == "users" && !k.set_null {
            assert!(
                tables_seen.contains(&k.table),
                "no row of {} tested",
                k.table
            );
        }
    }

    // No secret: nothing the test holds, and no stored value of a secret-looking column.
    let text = doc.to_string();
    for s in &ebba.secrets {
        assert!(!text.contains(s.as_str()), "a secret is in the export");
    }
    for (t, list) in &rows {
        for r in list {
            for (c, v) in r {
                let secret = store::export::DENIED.contains(&format!("{t}.{c}").as_str())
                    || (store::export::looks_secret(c) && !store::export::exportable(t, c));
                if let (true, Some(s)) = (secret, v.as_str())
                    && s.len() >= 8
                {
                    assert!(!text.contains(s), "{t}.{c} is in the export");
                }
            }
        }
    }
    // Nothing about the other person.
    let lower = text.to_lowercase();
    for v in olle.values() {
        assert!(!lower.contains(&v), "the export names the other person");
    }
    // The download is in the audit log.
    assert_eq!(app.audit_count_of("data.exported", &ebba.sub).await, 1);
}

#[tokio::test]
async fn deletion_leaves_nothing_that_identifies_the_person_but_the_tombstone() {
    let (w, ebba, olle) = world().await;
    let app = &w.app;
    let db = &app.state.db;
    let before = all_rows(db).await;
    let olle_before: BTreeSet<String> = rows_about(db, &before, &olle)
        .await
        .into_iter()
        .map(|(t, i)| format!("{t}:{}", Value::Object(before[&t][i].clone())))
        .collect();
    let old_cookie = ebba.session_cookie(app).expect("cookie");

    let confirm = [("confirm_email", EBBA)];
    let done = ebba.browser.fill("/account/delete", &confirm).await;
    done.assert_says(200, "Your account is deleted");
    let cleared = done.set_cookies();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("__Host-nyckel_session=;") && c.contains("Max-Age=0")),
        "{cleared:?}"
    );
    // The goodbye mail reaches her; its outbox row goes once it is sent.
    let bye = app.mails_to(EBBA).await;
    assert!(
        bye.iter().any(|m| {
            let s = m.header("Subject").unwrap_or_default();
            s.contains("Ditt konto har raderats") || s.contains("Your account has been deleted")
        }),
        "a goodbye mail"
    );

    // Every text column of every table: nothing names her, but the tombstone.
    let after = all_rows(db).await;
    let values = ebba.values();
    for (t, list) in &after {
        for r in list {
            if t == "erasure_tombstones" {
                continue;
            }
            assert!(
                !text_mentions(r, &values),
                "{t} still identifies the erased person: {r:?}"
            );
            assert!(
                !text_mentions(r, &[EBBA_NEW.to_string(), "+46709990001".to_string()]),
                "{t} still holds her pending new address or number: {r:?}"
            );
        }
    }
    assert_eq!(
        after["erasure_tombstones"]
            .iter()
            .filter(|r| r["user_id"] == ebba.sub.as_str())
            .count(),
        1
    );
    // The other person's data is untouched.
    let olle_after: BTreeSet<String> = rows_about(db, &after, &olle)
        .await
        .into_iter()
        .map(|(t, i)| format!("{t}:{}", Value::Object(after[&t][i].clone())))
        .collect();
    assert_eq!(olle_before, olle_after);
    // Each organisation's audit log says a member was erased, under a pseudonym.
    for org in &w.orgs {
        let rows: Vec<(Option<String>, String)> = sqlx::query_as(
            "select user_id, detail from audit_events where kind = 'member.erased' and organisation_id = $1",
        )
        .bind(org)
        .fetch_all(db.pool())
        .await
        .expect("audit");
        assert_eq!(rows.len(), 1, "{org}");
        let who = rows[0].0.clone().expect("a pseudonym");
        assert!(who.starts_with("erased:") && !who.contains(&ebba.sub));
    }
    // The old refresh token is refused.
    let client = Auth::Basic(&w.client_id, &w.client_secret);
    let refreshed = refresh(app, client, &ebba.refresh_token).await;
    assert_eq!(refreshed.error(), "invalid_grant", "{}", refreshed.json);
    // Its access token is refused by userinfo (its grant is gone).
    let info = userinfo(app, &ebba.access_token).await;
    assert_eq!(info.status, 401);
    // The old session cookie is a logged-out browser.
    let stale = Browser::new(app);
    stale.add_cookie("__Host-nyckel_session", &old_cookie);
    let home = stale.get("/").await;
    assert!(!home.body.contains(EBBA), "{}", home.body);
    let data = stale.get("/account/data").await;
    data.assert_redirect("/login?next=/account/data");
    // The address can make a new account: a new `sub`.
    let again = app.create_user(EBBA).await;
    assert_ne!(again, ebba.sub);
    // Restoring an older backup that still holds her: the restore applies the tombstones
    // (as `backup::restore` does after loading) and she is gone again.
    let dir = tempfile::tempdir().expect("dir");
    let old_db = crate::helpers::db::prepare(dir.path()).await;
    let old = crate::backup::connect(&old_db.url).await;
    load(&old, &before).await;
    assert!(text_mentions_any(&all_rows(&old).await, &values));
    let tombstones = store::erasure::list(db).await.expect("tombstones");
    assert_eq!(tombstones.len(), 1);
    let erased = store::erasure::apply_tombstones(&old, &tombstones)
        .await
        .expect("tombstones applied");
    assert_eq!(erased, 1);
    let restored = all_rows(&old).await;
    assert!(!text_mentions_any(&restored, &values), "erased again");
    assert_eq!(restored["erasure_tombstones"].len(), 1);
    old.close().await;
}

/// Whether any row outside the tombstones names one of `values`.
fn text_mentions_any(rows: &Rows, values: &[String]) -> bool {
    rows.iter()
        .filter(|(t, _)| *t != "erasure_tombstones")
        .any(|(_, list)| list.iter().any(|r| text_mentions(r, values)))
}

/// Replaces the contents of `db` with `rows` (an "older backup").
async fn load(db: &Db, rows: &Rows) {
    let tables = dump::schema(db).await.expect("schema");
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let order = dump::fk_order(db, &names).await.expect("order");
    let mut tx = db.begin().await.expect("tx");
    for name in order.iter().rev() {
        dump::clear(&mut tx, name).await.expect("clear");
    }
    for name in &order {
        let t = tables.iter().find(|t| &t.name == name).expect("table");
        let mut loader = dump::Loader::new(&mut tx, t, t).expect("loader");
        for r in rows.get(name).into_iter().flatten() {
            let values = t.columns.iter().map(|c| r[&c.name].clone()).collect();
            loader.push(values).await.expect("row");
        }
        loader.finish().await.expect("loaded");
    }
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn stale_logins_missing_tokens_and_confirmations_erase_nothing() {
    let app = TestApp::spawn().await;
    let sub = app.create_user_with(EBBA, Some(EBBA_NAME), PASSWORD).await;
    let b = app.browser();
    for path in ["/account/data", "/account/delete"] {
        let page = b.get(path).await;
        page.assert_redirect(&format!("/login?next={path}"));
    }
    b.log_in(EBBA).await;
    let token = b.csrf_on("/account/delete").await;
    for (path, sv) in [
        ("/account/delete", "Radera ditt konto"),
        ("/account/data", "Ladda ned dina uppgifter"),
    ] {
        b.get_in(path, "sv").await.assert_shows(sv);
    }
    let delete = |email| [("csrf", token.as_str()), ("confirm_email", email)];

    // No CSRF token: 403.
    let page = b.post("/account/delete", &[("confirm_email", EBBA)]).await;
    page.expect_status(403);
    b.post("/account/data", &[]).await.expect_status(403);
    // No confirmation, or another address: 400 with the form again.
    let page = b.post("/account/delete", &[("csrf", &token)]).await;
    page.assert_says(400, "Type your email address");
    assert!(page.has_form("/account/delete"));
    let page = b.post("/account/delete", &delete(OLLE)).await;
    page.assert_says(400, "Nothing has been deleted");

    // A stale login is sent to log in again, and comes back.
    app.advance(app.state.config.login.fresh_login + 1);
    let page = b.post("/account/delete", &delete(EBBA)).await;
    page.assert_redirect("/login?next=/account/delete");
    let page = b.post("/account/data", &[("csrf", &token)]).await;
    page.assert_redirect("/login?next=/account/data");
    let shown = b.get("/account/delete").await;
    shown.assert_says(200, "password again");

    assert!(
        store::users::find(&app.state.db, &sub)
            .await
            .expect("query")
            .is_some(),
        "nothing was erased"
    );
    assert!(
        !store::erasure::is_erased(&app.state.db, &sub)
            .await
            .expect("query")
    );
    let erased =
        "select count(*) from audit_events where kind in ('member.erased', 'account.erased')";
    assert_eq!(app.count(erased).await, 0);
}

#[tokio::test]
async fn operators_export_and_erase_from_the_command_line() {
    let scratch = Install::new().await;
    let nyckel = |args: &[&str]| scratch.run(args);
    let (ok, _, err) = nyckel(&["user", "create", "--email", EBBA]);
    assert!(ok, "{err}");
    let (ok, _, err) = nyckel(&["org", "create", "--name", "Klubben"]);
    assert!(ok, "{err}");
    let (ok, _, err) = nyckel(&[
        "org",
        "add-member",
        "--org",
        "klubben",
        "--email",
        EBBA,
        "--role",
        "coach",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = nyckel(&["user", "export", "--email", EBBA]);
    assert!(ok, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["tables"]["users"][0]["email"], EBBA);
    assert_eq!(doc["tables"]["memberships"][0]["roles"], "[\"coach\"]");
    let sub = doc["sub"].as_str().expect("sub").to_string();

    let (ok, _, err) = nyckel(&["user", "erase", "--email", EBBA]);
    assert!(!ok, "refused without --yes");
    assert!(err.contains("--yes"), "{err}");
    let (ok, out, err) = nyckel(&["--json", "user", "erase", "--email", EBBA, "--yes"]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(report["sub"], sub.as_str());
    let db = crate::backup::connect(scratch.url()).await;
    assert!(store::erasure::is_erased(&db, &sub).await.expect("query"));
    assert!(
        store::users::find(&db, &sub)
            .await
            .expect("query")
            .is_none()
    );
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from audit_events where kind = 'member.erased' and actor_id = 'cli'",
    )
    .fetch_one(db.pool())
    .await
    .expect("audit");
    assert_eq!(n, 1);
    db.close().await;
}
