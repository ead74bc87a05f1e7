//! The SCIM example of docs/provisioning.md, `docs/provisioning/scim_sync.py` (Python's
//! standard library only), run as written against an organisation's endpoint: the first run
//! creates every member of the register (a present member linked, the others invited), the
//! second changes nothing, and a changed register updates roles and suspends who left.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::admin::{World, service_client};

fn run(world: &World, id: &str, secret: &str, register: &Value) -> Value {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("members.json");
    std::fs::write(&file, register.to_string()).expect("register written");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/provisioning/scim_sync.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&file)
        .env("NYCKEL_URL", &world.app.issuer)
        .env("NYCKEL_ORG", "club-a")
        .env("NYCKEL_CLIENT_ID", id)
        .env("NYCKEL_CLIENT_SECRET", secret)
        .env(
            "NYCKEL_CA_FILE",
            world.app.state.config.keys_dir.join("tls.crt"),
        )
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "scim_sync.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

async fn roles_in_a(world: &World, user_id: &str) -> Option<Vec<String>> {
    nyckel::store::orgs::memberships_of(&world.app.state.db, user_id)
        .await
        .expect("db")
        .into_iter()
        .find(|m| m.slug == "club-a")
        .map(|m| m.roles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_sync_script_keeps_the_register_in_step() {
    let world = World::new().await;
    let (id, secret) = service_client(&world.app, "club-a", "Member register").await;
    let member = |number: &str, email: &str, roles: &[&str]| json!({ "number": number, "email": email, "given_name": "Given", "family_name": number, "roles": roles });
    let register = json!([
        member("1001", &world.member_a.email, &["member"]),
        member("1002", "new.one@example.org", &["member"]),
        member("1003", "new.two@example.org", &["coach"]),
    ]);
    let w = &world;
    let first = tokio::task::block_in_place(|| run(w, &id, &secret, &register));
    assert_eq!(
        first,
        json!({ "created": 3, "updated": 0, "suspended": 0, "unchanged": 0 })
    );
    assert_eq!(
        world.app.mails_to("new.one@example.org").await.len(),
        1,
        "invited"
    );
    let again = tokio::task::block_in_place(|| run(w, &id, &secret, &register));
    assert_eq!(
        again,
        json!({ "created": 0, "updated": 0, "suspended": 0, "unchanged": 3 })
    );
    assert_eq!(
        world.app.mails_to("new.one@example.org").await.len(),
        1,
        "not invited twice"
    );

    let changed = json!([
        member("1001", &world.member_a.email, &["coach", "member"]),
        member("1002", "new.one@example.org", &["member"]),
    ]);
    let third = tokio::task::block_in_place(|| run(w, &id, &secret, &changed));
    assert_eq!(
        third,
        json!({ "created": 0, "updated": 1, "suspended": 1, "unchanged": 1 })
    );
    assert_eq!(
        roles_in_a(&world, &world.member_a.id).await,
        Some(vec!["coach".to_string(), "member".to_string()])
    );
}
