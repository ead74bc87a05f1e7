//! The command line, run as the real binary.

use serde_json::json;

use crate::helpers::db::{contains_bytes, sqlite_files};
use crate::helpers::ops::{Cli, Install, on_postgres};

/// Runs the binary in `dir` against the database at `db_url`.
pub fn nyckel(
    dir: &std::path::Path,
    db_url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    Cli::new(dir, db_url).run_with_stdin(args, stdin)
}

/// Creates a person with the test password through the CLI.
pub fn create_user(dir: &std::path::Path, db_url: &str, email: &str) {
    Cli::new(dir, db_url).person(email);
}

#[tokio::test]
async fn user_org_and_client_commands_print_json_and_refuse_bad_input() {
    let cli = Install::new().await;
    let create = [
        "user",
        "create",
        "--email",
        "anna@example.org",
        "--name",
        "Anna",
    ];
    let (ok, out, err) = cli.run_with_stdin(
        &[&create[..], &["--password-stdin", "--json"]].concat(),
        Some("blåbärssylt i skogen 42\n"),
    );
    assert!(ok, "{err}");
    let user: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(user["email"], "anna@example.org");
    assert!(
        !out.contains("blåbär") && !err.contains("blåbär"),
        "password never echoed"
    );

    let err = cli.fails(&["user", "create", "--email", "ANNA@example.org", "--json"]);
    assert!(
        err.contains("already exists"),
        "duplicate email (case-insensitive) refused: {err}"
    );

    let weak = [
        "user",
        "create",
        "--email",
        "bo@example.org",
        "--password-stdin",
    ];
    let (ok, _, err) = cli.run_with_stdin(&weak, Some("password\n"));
    assert!(!ok && err.contains("at least 15"), "{err}");

    let org = cli.json(&["org", "create", "--name", "IFK Göteborg"]);
    assert_eq!(org["slug"], "ifk-goteborg");

    let member = ["--org", "ifk-goteborg", "--email", "anna@example.org"];
    let roles = ["--role", "admin", "--role", "coach"];
    let m = cli.json(&[&["org", "add-member"][..], &member, &roles].concat());
    assert_eq!(m["roles"], json!(["admin", "coach"]));

    let c = cli.client_json("Portal", &["--redirect-uri", "https://portal.example/cb"]);
    let secret = c["client_secret"].as_str().expect("secret shown once");
    assert_eq!(secret.len(), 43, "256-bit secret");
    assert_eq!(
        c["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );

    let err = cli.fails(&[
        "client",
        "create",
        "--name",
        "Bad",
        "--redirect-uri",
        "http://portal.example/cb",
    ]);
    assert!(err.contains("https"), "{err}");

    let (_, public) = cli.client(
        "SPA",
        &["--public", "--redirect-uri", "http://127.0.0.1/cb"],
    );
    assert!(public.is_empty(), "public clients have no secret");

    // The database holds only a hash of the secret.
    let db = cli.db().await;
    let hashes: Vec<(Option<String>,)> = sqlx::query_as("select secret_hash from clients")
        .fetch_all(db.pool())
        .await
        .expect("select");
    let hash = nyckel::crypto::sha256_b64(secret);
    assert!(
        hashes
            .iter()
            .any(|(h,)| h.as_deref() == Some(hash.as_str()))
    );
    db.close().await;
    if !on_postgres() {
        let files = sqlite_files(cli.url());
        // The bytes read are the database with its rows: the hash is there.
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
