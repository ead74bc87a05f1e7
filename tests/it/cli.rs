//! The command line, run as the real binary.

/// Runs the binary in `dir` against the database at `db_url`.
pub fn nyckel(
    dir: &std::path::Path,
    db_url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    crate::helpers::process::run_cli(
        std::path::Path::new(env!("CARGO_BIN_EXE_nyckel")),
        dir,
        db_url,
        args,
        stdin,
    )
}

/// Creates a person with the test password through the CLI.
pub fn create_user(dir: &std::path::Path, db_url: &str, email: &str) {
    let (ok, _, err) = nyckel(
        dir,
        db_url,
        &["user", "create", "--email", email, "--password-stdin"],
        Some(crate::helpers::PASSWORD),
    );
    assert!(ok, "{err}");
}

/// Creates a first-party web client through the CLI; returns its id and secret.
pub fn create_web_client(dir: &std::path::Path, db_url: &str) -> (String, String) {
    let (ok, out, err) = nyckel(
        dir,
        db_url,
        &[
            "client",
            "create",
            "--name",
            "App",
            "--redirect-uri",
            crate::helpers::REDIRECT_URI,
            "--first-party",
            "--json",
        ],
        None,
    );
    assert!(ok, "{err}");
    let client: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    (
        client["client_id"].as_str().expect("id").to_string(),
        client["client_secret"]
            .as_str()
            .expect("secret")
            .to_string(),
    )
}

#[tokio::test]
async fn user_org_and_client_commands_print_json_and_refuse_bad_input() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let url_db = crate::helpers::db::prepare(d).await;
    let url = url_db.url.clone();
    let nyckel =
        |d: &std::path::Path, args: &[&str], stdin: Option<&str>| nyckel(d, &url, args, stdin);
    let (ok, out, err) = nyckel(
        d,
        &[
            "user",
            "create",
            "--email",
            "anna@example.org",
            "--name",
            "Anna",
            "--password-stdin",
            "--json",
        ],
        Some("blåbärssylt i skogen 42\n"),
    );
    assert!(ok, "{err}");
    let user: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(user["email"], "anna@example.org");
    assert!(
        !out.contains("blåbär") && !err.contains("blåbär"),
        "password never echoed"
    );

    let (ok, _, err) = nyckel(
        d,
        &["user", "create", "--email", "ANNA@example.org", "--json"],
        None,
    );
    assert!(!ok, "duplicate email (case-insensitive) refused");
    assert!(err.contains("already exists"), "{err}");

    let (ok, _, err) = nyckel(
        d,
        &[
            "user",
            "create",
            "--email",
            "bo@example.org",
            "--password-stdin",
        ],
        Some("password\n"),
    );
    assert!(!ok && err.contains("at least 15"), "{err}");

    let (ok, out, err) = nyckel(
        d,
        &["org", "create", "--name", "IFK Göteborg", "--json"],
        None,
    );
    assert!(ok, "{err}");
    let org: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(org["slug"], "ifk-goteborg");

    let (ok, out, err) = nyckel(
        d,
        &[
            "org",
            "add-member",
            "--org",
            "ifk-goteborg",
            "--email",
            "anna@example.org",
            "--role",
            "admin",
            "--role",
            "coach",
            "--json",
        ],
        None,
    );
    assert!(ok, "{err}");
    let m: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(m["roles"], serde_json::json!(["admin", "coach"]));

    let (ok, out, err) = nyckel(
        d,
        &[
            "client",
            "create",
            "--name",
            "Portal",
            "--redirect-uri",
            "https://portal.example/cb",
            "--json",
        ],
        None,
    );
    assert!(ok, "{err}");
    let c: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let secret = c["client_secret"].as_str().expect("secret shown once");
    assert_eq!(secret.len(), 43, "256-bit secret");
    assert_eq!(
        c["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );

    let (ok, _, err) = nyckel(
        d,
        &[
            "client",
            "create",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://portal.example/cb",
        ],
        None,
    );
    assert!(!ok && err.contains("https"), "{err}");

    let (ok, out, _) = nyckel(
        d,
        &[
            "client",
            "create",
            "--name",
            "SPA",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--json",
        ],
        None,
    );
    assert!(ok);
    let c: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert!(
        c["client_secret"].is_null(),
        "public clients have no secret"
    );

    // The database holds only a hash of the secret.
    let db = nyckel::store::Db::connect_url(&url, 1, std::time::Duration::from_secs(5), "full")
        .await
        .expect("connect");
    let hashes: Vec<(Option<String>,)> = sqlx::query_as("select secret_hash from clients")
        .fetch_all(db.pool())
        .await
        .expect("select");
    assert!(
        hashes
            .iter()
            .any(|(h,)| h.as_deref() == Some(nyckel::crypto::sha256_b64(secret).as_str()))
    );
    db.close().await;
    if crate::helpers::db::postgres_url().is_none() {
        use crate::helpers::db::{contains_bytes, sqlite_files};
        let files = sqlite_files(&url);
        // The bytes read are the database with its rows: the hash is there.
        let hash = nyckel::crypto::sha256_b64(secret);
        assert!(
            files
                .iter()
                .any(|(_, bytes)| contains_bytes(bytes, hash.as_bytes())),
            "the client secret's hash is on disk"
        );
        for (file, bytes) in &files {
            assert!(
                !contains_bytes(bytes, secret.as_bytes()),
                "{} holds the secret",
                file.display()
            );
        }
    }
}
