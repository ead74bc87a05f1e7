//! The admin UI's member import (issue 18): an organisation's admin uploads a CSV file,
//! checks it (what each row would do; nothing changes) and imports it; the import runs in
//! the background and its page shows the progress and the result. The upload's CSRF token is
//! checked, and the import follows the permission matrix: another organisation's admin gets
//! 404, a member 403; neither changes anything.

use std::time::Duration;

use crate::helpers::admin::World;
use crate::helpers::admin_ui::{Admin, Org};
use crate::helpers::browser::Page;

const FILE: &str = "namn;e-post;roller;medlemsnummer\n\
    Ny Person;ny.person@example.org;member;7001\n\
    Medlem A;member.a@example.org;coach;7002\n\
    Fel;inte-en-adress;member;7003\n";

/// Posts the upload form (`multipart/form-data`) as `admin`.
async fn upload(admin: &Admin, org: &Org, csrf: &str, action: &str, file: &str) -> Page {
    let boundary = "----nyckel-test-boundary";
    let mut body = String::new();
    for (name, value) in [("csrf", csrf), ("action", action)] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"medlemmar.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    ));
    let res = admin
        .browser
        .client
        .post(format!("{}{}", admin.browser.issuer, org.path("/import")))
        .header("accept-language", "en")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("POST");
    Page::read(res).await
}

#[tokio::test]
async fn an_admin_checks_and_imports_a_file_and_follows_its_progress() {
    let w = World::new().await;
    let [a, b] = Org::both(&w);
    let admin = Admin::sign_in(&w, &w.admin_a).await;
    admin
        .get(&a.path("/import"))
        .await
        .assert_says(200, "Import members");
    admin
        .get(&a.path("/invite"))
        .await
        .assert_shows("Import members from a file");

    let before = w.snapshot().await;
    let checked = upload(&admin, &a, &admin.csrf, "check", FILE).await;
    checked.assert_says(200, "What the import would do");
    checked.assert_shows("ny.person@example.org");
    checked.assert_shows("Already a member: roles added");
    checked.assert_shows("not an email address");
    assert_eq!(w.snapshot().await, before, "a check changes nothing");

    let started = upload(&admin, &a, &admin.csrf, "import", FILE).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let job = started.location.clone().expect("the import's page");
    assert!(job.starts_with(&a.path("/import/")), "{job}");
    let mut page = admin.get(&job).await;
    for _ in 0..100 {
        if page.body.contains(">Done<") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = admin.get(&job).await;
    }
    page.assert_says(200, ">Done<");
    page.assert_shows("Refused rows");
    let roles = nyckel::store::orgs::memberships_of(&w.app.state.db, &w.member_a.id)
        .await
        .expect("db");
    assert_eq!(
        roles[0].roles,
        ["coach", "member"],
        "a present member gets the roles at once"
    );
    let invited = w.app.mails_to("ny.person@example.org").await;
    assert_eq!(invited.len(), 1);
    // In the organisation's language (Club A's is Swedish), not the admin's page language.
    assert_eq!(invited[0].subject, "Inbjudan till Club A");
    admin
        .get(&a.path("/import"))
        .await
        .assert_shows("medlemmar.csv");

    // Refusals change nothing: a forged token, another organisation's admin, a member.
    let admin_b = Admin::sign_in(&w, &w.admin_b).await;
    let member = Admin::sign_in(&w, &w.member_a).await;
    let before = w.snapshot().await;
    let audit = w.audit_count().await;
    let forged = upload(&admin, &a, "forged", "import", FILE).await;
    assert_eq!(forged.status, 403);
    let foreign = upload(&admin_b, &a, &admin_b.csrf, "import", FILE).await;
    assert_eq!(foreign.status, 404);
    assert_eq!(
        admin_b
            .get(&job.replace(&a.path(""), &b.path("")))
            .await
            .status,
        404
    );
    assert_eq!(admin_b.get(&job).await.status, 404);
    let refused = upload(&member, &a, &member.csrf, "import", FILE).await;
    assert_eq!(refused.status, 403);
    w.assert_unchanged(&before, audit).await;
    // A file that cannot be read says why, on the page.
    let bad = upload(&admin, &a, &admin.csrf, "check", "namn,skostorlek\nA,44\n").await;
    bad.assert_says(400, "skostorlek");
}
