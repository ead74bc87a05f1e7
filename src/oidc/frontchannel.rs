//! OpenID Connect Front-Channel Logout 1.0: when the person logs out at Nyckel in their
//! browser, the logged-out page loads, in hidden iframes, the front-channel logout page of
//! every client that had tokens in the ended session, with `iss` and `sid` added (always, so
//! `frontchannel_logout_session_required` is always met), so that each app can clear its own
//! cookies in the browser. The page (`http::logout`) goes on to the `post_logout_redirect_uri`
//! after [`PAUSE`], and its CSP allows exactly those pages' origins as `frame-src`.
//!
//! Only a logout in the browser can do this: a session ended by an admin, a password reset
//! or an erasure reaches apps by back-channel logout only (`oidc::backchannel`).

/// Seconds the logged-out page leaves the frames to load before it goes on.
pub const PAUSE: u32 = 2;

/// A client's front-channel logout page to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The registered URI with `iss` and `sid` added.
    pub src: String,
    /// Its origin, for the page's `frame-src`.
    pub origin: String,
}

/// The frames for the session `sid` from the registered URIs (`store::grants::front_channels`).
/// A URI that no longer parses (it was checked when registered) is left out.
pub fn frames(issuer: &str, sid: &str, uris: &[String]) -> Vec<Frame> {
    uris.iter()
        .filter_map(|uri| {
            let mut url = url::Url::parse(uri).ok()?;
            url.query_pairs_mut()
                .append_pair("iss", issuer)
                .append_pair("sid", sid);
            Some(Frame {
                origin: url.origin().ascii_serialization(),
                src: url.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iss_and_sid_are_added_to_the_registered_query_and_origins_listed_once() {
        let uris = [
            "https://app.example/logout?from=nyckel".to_string(),
            "https://app.example/other".to_string(),
            "http://127.0.0.1:8080/fc".to_string(),
        ];
        let f = frames("https://id.example", "s 1", &uris);
        assert_eq!(
            f[0].src,
            "https://app.example/logout?from=nyckel&iss=https%3A%2F%2Fid.example&sid=s+1"
        );
        assert_eq!(f[1].origin, "https://app.example");
        assert_eq!(f[2].origin, "http://127.0.0.1:8080");
    }
}
