//! AWS Signature Version 4 for S3 requests (header-based, signed payload), with `ring` for
//! SHA-256 and HMAC: canonical request, string to sign, signing key, `Authorization` header.
//! Pure functions; the time is a parameter.
//!
//! Why hand-written: the AWS SDK (or the `aws-sigv4` crate with its smithy runtime) would
//! bring its own HTTP stack and about a hundred crates for four request kinds (PUT, GET,
//! LIST, DELETE) signed one way. This module is small, takes the time as a parameter, is
//! tested against the example signatures AWS publishes, and every S3 test runs it against a
//! real S3 server (moto) that checks the signatures independently.

use ring::{digest, hmac};

/// The SHA-256 of the empty payload, hex.
pub(super) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The parts of a request that are signed.
pub(super) struct Request<'a> {
    pub method: &'a str,
    /// The path as sent: already URI-encoded (see [`encode_path`]).
    pub path: &'a str,
    /// The query as sent: already the canonical query string (see [`canonical_query`]).
    pub query: &'a str,
    /// Headers to sign besides `host`, `x-amz-content-sha256` and `x-amz-date`: lowercase
    /// names.
    pub extra_headers: &'a [(&'a str, &'a str)],
    /// `host[:port]` as the request's `Host` header carries it.
    pub host: &'a str,
    /// Hex SHA-256 of the body.
    pub payload_sha256: &'a str,
}

/// Who signs, and where.
pub(super) struct Signer<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Hex SHA-256 of `data`.
pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// S3's URI encoding: every byte but the unreserved `A-Z a-z 0-9 - . _ ~` as `%XX`
/// (uppercase); `/` kept when `keep_slash`.
pub(super) fn uri_encode(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The encoded path for `/`-separated `raw` (which starts with `/`).
pub(super) fn encode_path(raw: &str) -> String {
    uri_encode(raw, true)
}

/// The canonical query string for `params` (unencoded names and values): each encoded,
/// sorted by name then value, joined with `&`.
pub(super) fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `YYYYMMDDTHHMMSSZ` for `unix` seconds (UTC).
pub(super) fn amz_date(unix: i64) -> String {
    crate::clock::instant(unix)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

impl Signer<'_> {
    /// The `Authorization` header value for `request` made at `amz_date`
    /// (`YYYYMMDDTHHMMSSZ`, also sent as `x-amz-date`).
    pub(super) fn authorization(&self, request: &Request<'_>, amz_date: &str) -> String {
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), request.host.trim().to_string()),
            (
                "x-amz-content-sha256".into(),
                request.payload_sha256.to_string(),
            ),
            ("x-amz-date".into(), amz_date.to_string()),
        ];
        headers.extend(
            request
                .extra_headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), collapse_spaces(v))),
        );
        headers.sort();
        let signed_headers = headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let canonical_request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
            request.method, request.path, request.query, request.payload_sha256
        );
        let date = amz_date.get(..8).unwrap_or(amz_date);
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        let key = [date, self.region, self.service, "aws4_request"]
            .iter()
            .fold(
                format!("AWS4{}", self.secret_access_key).into_bytes(),
                |key, part| hmac_sha256(&key, part.as_bytes()),
            );
        let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.access_key_id
        )
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

/// A header value trimmed, with runs of spaces made one (SigV4's canonical form).
fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example credentials of the S3 SigV4 documentation
    /// (sig-v4-header-based-auth.html, "Example signature calculations").
    const EXAMPLE: Signer<'static> = Signer {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region: "us-east-1",
        service: "s3",
    };

    fn signature(auth: &str) -> &str {
        auth.rsplit("Signature=").next().unwrap_or("")
    }

    #[test]
    fn aws_example_get_object_with_range() {
        let auth = EXAMPLE.authorization(
            &Request {
                method: "GET",
                path: &encode_path("/test.txt"),
                query: "",
                extra_headers: &[("range", "bytes=0-9")],
                host: "examplebucket.s3.amazonaws.com",
                payload_sha256: EMPTY_SHA256,
            },
            "20130524T000000Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn aws_example_put_object_with_an_encoded_key() {
        let body = b"Welcome to Amazon S3.";
        let payload = sha256_hex(body);
        assert_eq!(
            payload,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let path = encode_path("/test$file.text");
        assert_eq!(path, "/test%24file.text");
        let auth = EXAMPLE.authorization(
            &Request {
                method: "PUT",
                path: &path,
                query: "",
                extra_headers: &[
                    ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                ],
                host: "examplebucket.s3.amazonaws.com",
                payload_sha256: &payload,
            },
            "20130524T000000Z",
        );
        assert_eq!(
            signature(&auth),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
    }

    #[test]
    fn aws_example_list_objects() {
        let query = canonical_query(&[("prefix", "J"), ("max-keys", "2")]);
        assert_eq!(query, "max-keys=2&prefix=J");
        let auth = EXAMPLE.authorization(
            &Request {
                method: "GET",
                path: "/",
                query: &query,
                extra_headers: &[],
                host: "examplebucket.s3.amazonaws.com",
                payload_sha256: EMPTY_SHA256,
            },
            "20130524T000000Z",
        );
        assert_eq!(
            signature(&auth),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    #[test]
    fn encoding_follows_s3_rules() {
        assert_eq!(uri_encode("a b/c~d_e.f-g", true), "a%20b/c~d_e.f-g");
        assert_eq!(uri_encode("a/b+c=d&é", false), "a%2Fb%2Bc%3Dd%26%C3%A9");
        assert_eq!(
            canonical_query(&[("list-type", "2"), ("continuation-token", "1/a+b=")]),
            "continuation-token=1%2Fa%2Bb%3D&list-type=2"
        );
        assert_eq!(canonical_query(&[]), "");
    }

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
        assert_eq!(amz_date(1_709_251_199), "20240229T235959Z");
        assert_eq!(amz_date(1_735_689_600), "20250101T000000Z");
    }
}
