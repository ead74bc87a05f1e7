//! Bulk import of members (issue 18): `nyckel org import` with a Swedish spreadsheet's CSV.
//! The dry run says what each row would do and changes nothing; the import invites the
//! people who are not members (an account elsewhere or none: the same answer), links the
//! present member, refuses bad rows with their reason; importing the same file again
//! creates nothing and invites nobody twice.

use serde_json::Value;

use crate::helpers::ops::Install;

async fn count(cli: &Install, sql: &str) -> i64 {
    let db = cli.db().await;
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(db.pool())
        .await
        .expect("count");
    n
}

fn file(rows: usize) -> String {
    let mut csv = String::from("\u{feff}Namn;E-post;Telefon;Roller;Medlemsnummer\r\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Medlem {i};medlem{i}@example.org;+4670{i:07};member;{}\r\n",
            1000 + i
        ));
    }
    csv.push_str("Anna Berg;anna@example.org;;member coach;5001\r\n");
    csv.push_str("Bo Ek;bo@example.org;;coach;5002\r\n");
    csv.push_str("Fel;not-an-address;;member;5003\r\n");
    csv.push_str("Okänd;okand@example.org;;captain;5004\r\n");
    csv.push_str("Dubbel;ANNA@example.org;;member;5005\r\n");
    csv
}

#[tokio::test]
async fn a_file_imported_twice_creates_each_membership_once() {
    let cli = Install::new().await;
    cli.ok(&["org", "create", "--name", "Klubben", "--slug", "klubben"]);
    cli.person("anna@example.org");
    cli.person("bo@example.org");
    cli.ok(&[
        "org",
        "add-member",
        "--org",
        "klubben",
        "--email",
        "bo@example.org",
        "--role",
        "member",
        "--role",
        "coach",
    ]);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("medlemmar.csv");
    std::fs::write(&path, file(200)).expect("file");
    let path = path.to_str().expect("path");

    let plan = cli.json(&["org", "import", "--org", "klubben", path, "--dry-run"]);
    let summary = |v: &Value| {
        let s = &v["summary"];
        [
            "rows",
            "invited",
            "linked",
            "updated",
            "unchanged",
            "refused",
        ]
        .map(|k| s[k].as_u64().unwrap_or(u64::MAX))
    };
    assert_eq!(
        summary(&plan),
        [205, 201, 1, 0, 0, 3],
        "{}",
        plan["summary"]
    );
    let rows = plan["rows"].as_array().expect("rows");
    let reason = |line: u64| {
        rows.iter()
            .find(|r| r["line"] == line)
            .map(|r| (r["outcome"].clone(), r["reason"].clone()))
            .expect("line")
    };
    assert_eq!(reason(2).0, "invite");
    assert_eq!(
        reason(202).0,
        "invite",
        "an account elsewhere is invited like anyone"
    );
    assert_eq!(reason(203).0, "link");
    assert!(
        reason(204)
            .1
            .as_str()
            .unwrap_or_default()
            .contains("not an email address")
    );
    assert!(
        reason(205)
            .1
            .as_str()
            .unwrap_or_default()
            .contains("\"captain\" is not a role")
    );
    assert_eq!(reason(206).1, "repeats line 202");
    assert_eq!(
        count(&cli, "select count(*) from scim_users").await,
        0,
        "a dry run changes nothing"
    );
    assert_eq!(count(&cli, "select count(*) from invitations").await, 0);

    let fast = cli.with_env(&[("NYCKEL_ADMIN__IMPORT_ROWS_PER_SECOND", "10000")]);
    let (ok, out, err) = fast.run(&["--json", "org", "import", "--org", "klubben", path]);
    assert!(ok, "{err}");
    assert!(err.contains("imported 205 of 205 rows"), "progress: {err}");
    let first: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(summary(&first), [205, 201, 1, 0, 0, 3]);
    assert_eq!(count(&cli, "select count(*) from invitations").await, 201);
    assert_eq!(count(&cli, "select count(*) from scim_users").await, 202);

    let (ok, out, err) = fast.run(&["--json", "org", "import", "--org", "klubben", path]);
    assert!(ok, "{err}");
    let second: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        summary(&second),
        [205, 0, 0, 0, 202, 3],
        "{}",
        second["summary"]
    );
    assert_eq!(
        count(&cli, "select count(*) from invitations").await,
        201,
        "nobody invited twice"
    );
    assert_eq!(count(&cli, "select count(*) from scim_users").await, 202);
    assert_eq!(count(&cli, "select count(*) from memberships where user_id in (select id from users where email = 'bo@example.org')").await, 1);
    assert_eq!(
        count(
            &cli,
            "select count(*) from audit_events where kind = 'admin.members_imported'"
        )
        .await,
        2
    );

    // A file that cannot be read says why and changes nothing.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "namn,skostorlek\nA,44\n").expect("file");
    let err = cli.fails(&[
        "org",
        "import",
        "--org",
        "klubben",
        bad.to_str().expect("path"),
    ]);
    assert!(err.contains("unknown column \"skostorlek\""), "{err}");
    let err = cli.fails(&["org", "import", "--org", "no-such-club", path]);
    assert!(err.contains("no organisation"), "{err}");
}

/// The example file of docs/provisioning.md reads and plans as the text says.
#[tokio::test]
async fn the_documented_example_file_imports() {
    let cli = Install::new().await;
    cli.ok(&["org", "create", "--name", "IFK", "--slug", "ifk"]);
    cli.ok(&["org", "role-set", "ifk", "member"]);
    cli.ok(&["org", "role-set", "ifk", "coach"]);
    cli.ok(&["org", "role-set", "ifk", "board"]);
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/provisioning/members.csv");
    let plan = cli.json(&["org", "import", "--org", "ifk", file, "--dry-run"]);
    assert_eq!(plan["summary"]["rows"], 3);
    assert_eq!(plan["summary"]["invited"], 3, "{plan}");
    let done = cli
        .with_env(&[("NYCKEL_ADMIN__IMPORT_ROWS_PER_SECOND", "10000")])
        .json(&["org", "import", "--org", "ifk", file]);
    assert_eq!(done["summary"]["invited"], 3, "{done}");
    assert_eq!(count(&cli, "select count(*) from invitations").await, 3);
}
