//! The browser-less login: authorization request with PKCE, the login page's hidden `req`
//! and `csrf` inputs, the password form (cookies carried), the redirects back to the client,
//! and the code exchange at the token endpoint.

use std::collections::HashMap;

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::header;
use ring::rand::SecureRandom;

use crate::client::{Conn, Jar, Resp, Template, basic_auth, form};

/// The confidential web client the flows log in to.
#[derive(Debug, Clone)]
pub struct WebClient {
    pub id: String,
    pub secret: String,
    pub redirect_uri: String,
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

impl Tokens {
    /// Reads a successful token response.
    pub fn parse(res: &Resp) -> anyhow::Result<Tokens> {
        if res.status != 200 {
            bail!("token endpoint: {}", res.describe());
        }
        let v: serde_json::Value =
            serde_json::from_slice(&res.body).context("token response is not JSON")?;
        let access_token = v["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("token response without access_token"))?
            .to_string();
        Ok(Tokens {
            access_token,
            refresh_token: v["refresh_token"].as_str().map(str::to_string),
        })
    }
}

/// Why a flow could not run at all (the endpoint does not exist yet).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    // The system random source does not fail on Linux once the kernel pool is ready.
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("system random source available");
    URL_SAFE_NO_PAD.encode(b)
}

/// One complete login of `email` with `password`, on a fresh cookie jar, ending with the
/// code exchange (`None` without it, when `exchange` is false). An endpoint that answers
/// 404 gives an [`Unavailable`] error.
pub async fn login(
    conn: &mut Conn,
    host: &str,
    issuer: &str,
    client: &WebClient,
    (email, password): (&str, &str),
    exchange: bool,
) -> anyhow::Result<Option<Tokens>> {
    let mut jar = Jar::default();
    let verifier = random_token();
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    let state = random_token();
    let nonce = random_token();
    let query = form(&[
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", &client.redirect_uri),
        ("scope", "openid email profile offline_access"),
        ("state", &state),
        ("nonce", &nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let mut res = get(conn, host, &mut jar, &format!("/authorize?{query}")).await?;
    if res.status == 404 {
        return Err(Unavailable("GET /authorize: 404".into()).into());
    }
    let mut logged_in = false;
    for _hop in 0..8 {
        match res.status {
            302 | 303 => {
                let location = res
                    .location()
                    .ok_or_else(|| anyhow!("redirect without Location"))?
                    .to_string();
                if location.starts_with(&client.redirect_uri) {
                    let code = code_from(&location, &state, issuer)?;
                    if !exchange {
                        return Ok(None);
                    }
                    return exchange_code(conn, host, client, &code, &verifier)
                        .await
                        .map(Some);
                }
                let path = location
                    .strip_prefix(issuer)
                    .unwrap_or(&location)
                    .to_string();
                if !path.starts_with('/') {
                    bail!("redirect to an unexpected place: {location}");
                }
                res = get(conn, host, &mut jar, &path).await?;
            }
            200 if !logged_in => {
                let body = res.text();
                let mut fields = hidden_inputs(&body, "/login")
                    .ok_or_else(|| anyhow!("no login form on the page: {}", res.describe()))?;
                fields.insert("email".into(), email.into());
                fields.insert("password".into(), password.into());
                let pairs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let tpl = Template::post_form(host, "/login", &pairs)?;
                res = send(conn, &tpl, &mut jar).await?;
                if res.status == 404 {
                    return Err(Unavailable("POST /login: 404".into()).into());
                }
                logged_in = true;
            }
            _ => bail!("login flow stopped: {}", res.describe()),
        }
    }
    bail!("too many redirects in the login flow")
}

async fn get(conn: &mut Conn, host: &str, jar: &mut Jar, path: &str) -> anyhow::Result<Resp> {
    let tpl = Template::get(host, path)?;
    send(conn, &tpl, jar).await
}

async fn send(conn: &mut Conn, tpl: &Template, jar: &mut Jar) -> anyhow::Result<Resp> {
    let tpl = match jar.header() {
        Some(cookies) => tpl.clone().with_header(header::COOKIE, &cookies)?,
        None => tpl.clone(),
    };
    let res = conn.send(tpl.build()).await?;
    jar.store(&res.headers);
    Ok(res)
}

/// The code from the redirect back to the client, after checking `state` and `iss`.
fn code_from(location: &str, state: &str, issuer: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(location).with_context(|| format!("redirect {location}"))?;
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if let Some(err) = q.get("error") {
        bail!(
            "authorization error: {err} {}",
            q.get("error_description").map_or("", |s| s.as_str())
        );
    }
    if q.get("state").map(String::as_str) != Some(state) {
        bail!("state does not match in the authorization response");
    }
    if q.get("iss").is_some_and(|i| i != issuer) {
        bail!("iss does not match in the authorization response");
    }
    q.get("code")
        .cloned()
        .ok_or_else(|| anyhow!("no code in the authorization response"))
}

async fn exchange_code(
    conn: &mut Conn,
    host: &str,
    client: &WebClient,
    code: &str,
    verifier: &str,
) -> anyhow::Result<Tokens> {
    let tpl = Template::post_form(
        host,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", verifier),
        ],
    )?
    .with_header(
        header::AUTHORIZATION,
        &basic_auth(&client.id, &client.secret),
    )?;
    let res = conn.send(tpl.build()).await?;
    if res.status == 404 {
        return Err(Unavailable("POST /token: 404".into()).into());
    }
    Tokens::parse(&res)
}

/// The hidden inputs of the first form whose action starts with `action`, written as
/// `type="hidden" name="..." value="..."` (the house style of the templates).
pub fn hidden_inputs(html: &str, action: &str) -> Option<HashMap<String, String>> {
    let start = html.find(&format!("action=\"{action}"))?;
    let form = &html[start..];
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    let mut fields = HashMap::new();
    let mut rest = form;
    while let Some(i) = rest.find("type=\"hidden\" name=\"") {
        rest = &rest[i + "type=\"hidden\" name=\"".len()..];
        let Some(end) = rest.find('"') else { break };
        let name = rest[..end].to_string();
        rest = &rest[end..];
        let Some(v) = rest.find("value=\"") else {
            break;
        };
        let after = &rest[v + "value=\"".len()..];
        let Some(end) = after.find('"') else { break };
        fields.insert(name, unescape(&after[..end]));
        rest = &after[end..];
    }
    Some(fields)
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
