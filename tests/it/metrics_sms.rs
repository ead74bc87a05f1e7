//! The metrics listener shows the send-limit series: a global SMS cap hit (the alert), SMS
//! sent in the last day against the cap, and the outbox depth.

use crate::helpers::sms_gateway::{Kind, app_with_gateway};

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

#[tokio::test]
async fn the_global_sms_cap_shows_in_the_metrics() {
    let (gw, app) = app_with_gateway(Kind::Twilio, |c| {
        c.sms.global_daily = 1;
        c.metrics.listen = Some("127.0.0.1:0".into());
    })
    .await;
    let addr = app.metrics_addr.expect("metrics listener");
    let scrape = || async move {
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body")
    };
    let before = scrape().await;
    assert_eq!(value(&before, "nyckel_sms_sent_24h"), 0.0);
    assert_eq!(value(&before, "nyckel_sms_global_daily_cap"), 1.0);
    let hits_before = value(&before, "nyckel_sms_global_cap_hits_total");
    for (i, phone) in ["+46701111111", "+46702222222"].iter().enumerate() {
        app.create_user_with_phone(&format!("p{i}@example.org"), phone)
            .await;
        app.browser().ask_key(phone).await;
        nyckel::mail::deliver_due(&app.state).await.expect("pass");
    }
    let after = scrape().await;
    assert_eq!(gw.messages().len(), 1);
    assert_eq!(value(&after, "nyckel_sms_sent_24h"), 1.0);
    assert!(value(&after, "nyckel_sms_global_cap_hits_total") >= hits_before + 1.0);
    assert_eq!(value(&after, "nyckel_outbox_depth{channel=\"sms\"}"), 0.0);
    assert!(after.contains("# TYPE nyckel_key_messages_total counter"));
}
