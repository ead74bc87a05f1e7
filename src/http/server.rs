//! Serving: bind the listener (TLS or plain), announce the address, run background upkeep,
//! and shut down gracefully on SIGTERM/SIGINT (in-flight requests finish, up to 30 s).

use std::net::SocketAddr;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

use crate::error::{Error, Result};
use crate::state::AppState;

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A running server: its address and a handle to stop it.
#[derive(Debug, Clone)]
pub struct Running {
    pub addr: SocketAddr,
    pub handle: Handle,
    /// The metrics listener's address, when `[metrics] listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// The plain-HTTP redirect listener's address, when `tls.redirect_listen` is set.
    pub redirect_addr: Option<SocketAddr>,
}

/// Binds `listen` and starts serving in the background; returns once the socket listens.
pub async fn start(state: AppState) -> Result<(Running, tokio::task::JoinHandle<Result<()>>)> {
    let addr: SocketAddr = state
        .config
        .listen
        .parse()
        .map_err(|_| Error::Corrupt("listen address".into()))?;
    let listener = std::net::TcpListener::bind(addr)?;
    start_on(state, listener).await
}

/// Starts serving on an already bound listener (tests bind port 0 first to learn the port
/// the issuer needs).
pub async fn start_on(
    state: AppState,
    listener: std::net::TcpListener,
) -> Result<(Running, tokio::task::JoinHandle<Result<()>>)> {
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let tls = crate::tls::server_config(&state.config).map_err(|e| Error::Crypto(e.to_string()))?;
    let app =
        crate::http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = Handle::new();
    let server_handle = handle.clone();
    let task = tokio::spawn(async move {
        match tls {
            Some(tls) => {
                axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls))
                    .handle(server_handle)
                    .serve(app)
                    .await?
            }
            None => {
                axum_server::from_tcp(listener)
                    .handle(server_handle)
                    .serve(app)
                    .await?
            }
        }
        Ok(())
    });
    let bound = handle
        .listening()
        .await
        .ok_or_else(|| Error::Io(std::io::Error::other(format!("could not listen on {addr}"))))?;
    let metrics_addr = crate::http::metrics::spawn(&state).await?;
    let redirect_addr = crate::http::redirect::spawn(&state).await?;
    crate::backup::schedule::spawn(state.clone());
    crate::upkeep::spawn(state);
    Ok((
        Running {
            addr: bound,
            handle,
            metrics_addr,
            redirect_addr,
        },
        task,
    ))
}

/// Serves until SIGTERM or SIGINT, then shuts down gracefully.
pub async fn serve(state: AppState) -> Result<()> {
    let scheme = if state.config.tls.mode == crate::config::TlsMode::Off {
        "http"
    } else {
        "https"
    };
    let db = state.db.clone();
    let (running, task) = start(state.clone()).await?;
    // Tests and scripts read this line to learn the port when listening on port 0.
    println!("nyckel listening on {scheme}://{}", running.addr);
    tracing::info!(addr = %running.addr, issuer = %state.issuer, "listening");
    let handle = running.handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
        handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    task.await??;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
