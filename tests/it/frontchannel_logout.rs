//! OpenID Connect Front-Channel Logout 1.0 (issue 17): a logout in the browser loads, in
//! hidden iframes on the logged-out page, the front-channel logout page of every client that
//! had tokens in the session, with `iss` and `sid`; the page's CSP allows exactly those
//! origins as `frame-src`; with a registered redirect the page goes on to it after a pause
//! (and offers a link at once). Registration rules through the admin API, and discovery.

use nyckel::admin::clients::CreateClient;
use serde_json::json;

use crate::helpers::admin::World;
use crate::helpers::authorize::{auth_url, client_redirect, id_token};
use crate::helpers::browser::Browser;
use crate::helpers::{POST_LOGOUT_URI, REDIRECT_URI, TestApp};

/// A first-party client with the front-channel logout page `uri` (if any).
async fn client_with(app: &TestApp, name: &str, uri: Option<&str>) -> String {
    app.create_client(CreateClient {
        name: name.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        post_logout_redirect_uris: vec![POST_LOGOUT_URI.into()],
        first_party: true,
        frontchannel_logout_uri: uri.map(str::to_string),
        ..Default::default()
    })
    .await
    .0
}

/// The `src` of every iframe on a page, HTML entities of `&` undone.
fn frames(body: &str) -> Vec<String> {
    body.split("<iframe")
        .skip(1)
        .filter_map(|tag| {
            let start = tag.find("src=\"")? + 5;
            let end = start + tag[start..].find('"')?;
            Some(tag[start..end].replace("&#38;", "&").replace("&amp;", "&"))
        })
        .collect()
}

#[tokio::test]
async fn logging_out_loads_the_front_channel_page_of_each_app_of_the_session() {
    let app = TestApp::spawn().await;
    let club = client_with(&app, "Club", Some("https://club.example/fc?from=nyckel")).await;
    let shop = client_with(&app, "Shop", Some("http://127.0.0.1:8089/logout")).await;
    // An app the person never used in this session: not loaded.
    client_with(&app, "Unused", Some("https://unused.example/fc")).await;
    let plain = client_with(&app, "Plain", None).await;
    let user = app.create_user("fc-anna@example.org").await;
    let (b, session) = Browser::signed_in(&app, &user).await;
    for client in [&club, &shop, &shop, &plain] {
        let q = client_redirect(&b.get(&auth_url(&app, client, &[])).await);
        assert!(q.contains_key("code"), "{q:?}");
    }

    let home = b.get("/").await;
    let out = b.submit(&home, "/logout", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    let iss = url::form_urlencoded::byte_serialize(app.issuer.as_bytes()).collect::<String>();
    let mut got = frames(&out.body);
    got.sort();
    assert_eq!(
        got,
        [
            format!("http://127.0.0.1:8089/logout?iss={iss}&sid={}", session.sid),
            format!(
                "https://club.example/fc?from=nyckel&iss={iss}&sid={}",
                session.sid
            ),
        ],
        "one frame per app of the session, none for an app the person never used"
    );
    let csp = out.header("content-security-policy").expect("csp");
    assert!(
        csp.ends_with("; frame-src http://127.0.0.1:8089 https://club.example"),
        "exactly the frames' origins: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        !out.body.contains("http-equiv=\"refresh\""),
        "nowhere to go on to"
    );
    assert!(out.body.contains("You are signed out"), "{}", out.body);
}

#[tokio::test]
async fn an_app_that_logs_out_gets_its_redirect_after_the_frames_have_loaded() {
    let app = TestApp::spawn().await;
    let club = client_with(&app, "Club", Some("https://club.example/fc")).await;
    let user = app.create_user("fc-bo@example.org").await;
    let (b, session) = Browser::signed_in(&app, &user).await;
    let q = client_redirect(&b.get(&auth_url(&app, &club, &[])).await);
    assert!(q.contains_key("code"), "{q:?}");
    let hint = id_token(&app, &club, &user, &session.sid, 3600);
    let mut url = url::Url::parse(&app.url("/logout")).expect("url");
    url.query_pairs_mut()
        .append_pair("id_token_hint", &hint)
        .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI)
        .append_pair("state", "st-9");
    let out = b.get(url.as_str()).await;
    assert_eq!(out.status, 200, "a page, not a redirect: {}", out.body);
    assert_eq!(frames(&out.body).len(), 1);
    let next = format!("{POST_LOGOUT_URI}?state=st-9");
    assert!(
        out.body.contains(&format!(
            r#"<meta http-equiv="refresh" content="2; url={next}">"#
        )),
        "{}",
        out.body
    );
    assert!(
        out.body
            .contains(&format!(r#"href="{next}" id="continue""#)),
        "{}",
        out.body
    );
    // The session ended.
    let again = b.get(&auth_url(&app, &club, &[("prompt", "none")])).await;
    let q = client_redirect(&again);
    assert_eq!(q.get("error").map(String::as_str), Some("login_required"));
}

#[tokio::test]
async fn front_channel_pages_are_registered_like_redirect_uris_and_advertised() {
    let w = World::new().await;
    let api = w.api(&w.admin_a).await;
    let body = json!({
        "name": "Club app",
        "redirect_uris": [REDIRECT_URI],
        "frontchannel_logout_uri": "http://localhost:8080/fc",
        "frontchannel_logout_session_required": true,
    });
    let created = api.post("/orgs/club-a/clients", &body).await;
    created.expect(201);
    assert_eq!(
        created.json["frontchannel_logout_uri"],
        "http://localhost:8080/fc"
    );
    assert_eq!(created.json["frontchannel_logout_session_required"], true);
    let path = format!("/clients/{}", created.str("client_id"));
    for uri in [
        "http://club.example/fc",
        "https://club.example/fc#x",
        "javascript:alert(1)",
    ] {
        let res = api
            .patch(&path, &json!({ "frontchannel_logout_uri": uri }))
            .await;
        assert_eq!(res.status, 400, "{uri}: {}", res.text);
    }
    let res = api
        .patch(&path, &json!({ "frontchannel_logout_uri": null }))
        .await;
    res.expect(200);
    assert_eq!(res.json["frontchannel_logout_uri"], serde_json::Value::Null);
    let discovery = w.app.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["frontchannel_logout_supported"], true);
    assert_eq!(discovery["frontchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn the_operator_sets_and_removes_a_front_channel_page_from_the_command_line() {
    let cli = crate::helpers::ops::Install::new().await;
    let created = cli.json(&[
        "client",
        "create",
        "--name",
        "Club site",
        "--redirect-uri",
        REDIRECT_URI,
        "--frontchannel-logout-uri",
        "https://club.example/fc",
    ]);
    let id = created["client_id"].as_str().expect("id").to_string();
    assert_eq!(
        created["frontchannel_logout_uri"],
        "https://club.example/fc"
    );
    let refused = cli.fails(&[
        "client",
        "update",
        &id,
        "--frontchannel-logout-uri",
        "https://club.example/fc#frag",
    ]);
    assert!(refused.contains("frontchannel_logout_uri"), "{refused}");
    let updated = cli.json(&["client", "update", &id, "--no-frontchannel-logout"]);
    assert_eq!(updated["frontchannel_logout_uri"], serde_json::Value::Null);
}
