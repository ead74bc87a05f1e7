//! Rendering askama templates into HTML responses.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Renders a template with status 200.
pub fn render(t: &impl Template) -> Response {
    render_status(StatusCode::OK, t)
}

/// The status of a form's page: 400 when it shows an error (the form is shown again to be
/// corrected), else 200.
pub fn form_status<E>(error: &Option<E>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

/// Renders a template with a status. A render failure is a 500 with a plain body.
pub fn render_status(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => {
            let mut res = (status, html).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %crate::error::Chain(&e), "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// `YYYY-MM-DD HH:MM` for unix seconds, in `tz` (the installation's `time_zone`).
pub fn datetime(tz: &jiff::tz::TimeZone, at: i64) -> String {
    crate::clock::instant(at)
        .to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// `YYYY-MM-DD` for unix seconds, in `tz`.
pub fn date(tz: &jiff::tz::TimeZone, at: i64) -> String {
    crate::clock::instant(at)
        .to_zoned(tz.clone())
        .date()
        .to_string()
}

#[cfg(test)]
mod time_tests {
    use jiff::tz::TimeZone;

    use super::{date, datetime};

    #[test]
    fn times_are_shown_in_the_installation_time_zone() {
        let utc = TimeZone::UTC;
        assert_eq!(datetime(&utc, 0), "1970-01-01 00:00");
        assert_eq!(datetime(&utc, 951_782_400), "2000-02-29 00:00");
        assert_eq!(date(&utc, 1_709_251_200), "2024-03-01");
        // A fixed offset needs no time zone database: 23:59 UTC is the next day at +01.
        let plus_one = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(datetime(&plus_one, 1_735_689_599), "2025-01-01 00:59");
        assert_eq!(date(&plus_one, 1_735_689_599), "2025-01-01");
        if let Ok(stockholm) = TimeZone::get("Europe/Stockholm") {
            // Summer time (+02) on 2025-07-01 12:00 UTC.
            assert_eq!(datetime(&stockholm, 1_751_371_200), "2025-07-01 14:00");
        }
    }
}
