//! A relying party's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0)
//! on loopback: a real HTTP server that records every posted `logout_token` and answers with
//! a status the test chooses, or never answers ([`HANG`]).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;

/// A relying party's back-channel logout endpoint: records every posted `logout_token` and
/// answers with the status set in `status`.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    tokens: Arc<Mutex<Vec<String>>>,
    status: Arc<Mutex<u16>>,
}

/// The "status" of a receiver that takes the post and never answers.
pub const HANG: u16 = 0;

impl Receiver {
    /// Starts listening on a free loopback port.
    pub async fn start() -> Receiver {
        Self::start_on(0).await
    }

    /// Starts listening on loopback port `port` (0: a free one).
    pub async fn start_on(port: u16) -> Receiver {
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200));
        let shared = (tokens.clone(), status.clone());
        let app = axum::Router::new()
            .route("/backchannel", axum::routing::post(receive))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/backchannel",
            listener.local_addr().expect("addr").port()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url,
            tokens,
            status,
        }
    }

    /// The tokens posted so far, oldest first.
    pub fn tokens(&self) -> Vec<String> {
        self.tokens.lock().expect("lock").clone()
    }

    /// Answers every post from now on with `status` ([`HANG`]: never).
    pub fn answer(&self, status: u16) {
        *self.status.lock().expect("lock") = status;
    }
}

type Shared = (Arc<Mutex<Vec<String>>>, Arc<Mutex<u16>>);

async fn receive(
    State((tokens, status)): State<Shared>,
    axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
) -> StatusCode {
    if let Some(token) = form.get("logout_token") {
        tokens.lock().expect("lock").push(token.clone());
    }
    let status = *status.lock().expect("lock");
    if status == HANG {
        std::future::pending::<()>().await;
    }
    StatusCode::from_u16(status).expect("status")
}
