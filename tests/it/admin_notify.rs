//! Every admin action on a person is mailed to the person (and only to them), in their
//! language; reset keys sent by admins are rate-limited per person.

use serde_json::json;

use crate::helpers::admin::World;
use crate::helpers::api_fixtures::Api;

#[tokio::test]
async fn admin_actions_are_mailed_to_the_person_in_their_language() {
    let w = World::new().await;
    sqlx::query("update users set locale = 'en' where id = $1")
        .bind(&w.both.id)
        .execute(w.app.state.db.writer())
        .await
        .expect("locale");
    let a = Api::new(&w.app, Some(&w.token(&w.admin_a).await));
    let before = w.app.mails_to(&w.both.email).await.len();

    a.put(
        &format!("/orgs/club-a/members/{}/roles", w.both.id),
        &json!({ "roles": ["member", "coach"] }),
    )
    .await
    .expect(200);
    a.delete(&format!("/orgs/club-a/members/{}", w.member_a.id))
        .await
        .expect(204);

    let mails = w.app.mails_to(&w.both.email).await;
    assert_eq!(mails.len(), before + 1, "one notice for the role change");
    let notice = mails.last().expect("notice");
    assert!(notice.subject.contains("Club A"), "{}", notice.subject);
    assert!(notice.text.contains("coach"), "{}", notice.text);
    assert!(notice.html.contains("lang=\"en\""), "English");

    // The removed member is told in Swedish (no language chosen, the organisation's default).
    let removed = w.app.mails_to(&w.member_a.email).await;
    assert_eq!(removed.len(), 1);
    assert!(removed[0].text.contains("Club A"), "{}", removed[0].text);
    assert!(removed[0].html.contains("lang=\"sv\""), "Swedish");
    // Nobody else got anything about it.
    assert!(w.app.mails_to(&w.admin_a.email).await.is_empty());
}

#[tokio::test]
async fn reset_keys_sent_by_admins_are_limited_per_person() {
    let w = World::new().await;
    let a = Api::new(&w.app, Some(&w.token(&w.admin_a).await));
    let b = Api::new(&w.app, Some(&w.token(&w.admin_b).await));
    let path_a = format!("/orgs/club-a/members/{}/reset", w.both.id);
    let path_b = format!("/orgs/club-b/members/{}/reset", w.both.id);
    a.post(&path_a, &json!({})).await.expect(202);
    // Another organisation's admin within the minute: refused, nothing sent.
    let again = b.post(&path_b, &json!({})).await;
    again.expect(409);
    assert_eq!(again.code(), "conflict");
    let resets = |mails: Vec<crate::mail_outbox::Mail>| {
        mails
            .into_iter()
            .filter(|m| m.text.contains("/reset/"))
            .count()
    };
    assert_eq!(resets(w.app.mails_to(&w.both.email).await), 1);
    for _ in 0..4 {
        w.app.advance(61);
        a.post(&path_a, &json!({})).await.expect(202);
    }
    w.app.advance(61);
    a.post(&path_a, &json!({})).await.expect(409);
    assert_eq!(resets(w.app.mails_to(&w.both.email).await), 5);
    // A day later it works again.
    w.app.advance(24 * 3600);
    let b = Api::new(&w.app, Some(&w.token(&w.admin_b).await));
    b.post(&path_b, &json!({})).await.expect(202);
}
