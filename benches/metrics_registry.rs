//! The cost of the metrics a request records (`metrics::registry`): the three updates of a
//! token request (request counter, latency histogram, tokens issued), on one thread and on
//! two at once (the two mutexes shared). `cargo bench --bench metrics_registry`; the decision
//! it informs is written in `src/metrics/registry.rs`.

use std::hint::black_box;
use std::time::Instant;

use nyckel::metrics::registry::{inc, observe};

fn request(route: &str) {
    inc(
        "nyckel_http_requests_total",
        &[("method", "POST"), ("route", route), ("status", "200")],
    );
    observe(
        "nyckel_http_request_duration_seconds",
        &[("route", route)],
        0.0007,
    );
    inc(
        "nyckel_tokens_issued_total",
        &[("grant_type", "client_credentials")],
    );
}

fn main() {
    let n: u32 = 1_000_000;
    for threads in [1u32, 2] {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..n {
                        request(black_box("/token"));
                    }
                });
            }
        });
        let busy = start.elapsed().as_nanos() as f64 * f64::from(threads);
        println!(
            "{threads} thread(s): {:.0} ns of thread time per request's three metric updates",
            busy / f64::from(n * threads)
        );
    }
}
