//! A TCP proxy between a server process and its database, for outage tests that must not
//! stop the shared PostgreSQL server. Three modes:
//! - `Pass`: connections are forwarded both ways.
//! - `Refuse` ("database stopped"): every open connection is reset, new ones are accepted and
//!   reset at once.
//! - `BlackHole` ("network partition"): open connections go silent for the client — nothing
//!   is forwarded either way, nothing is closed, no reset ever comes — and new connections
//!   are accepted and then never answered. (The database side of a silenced connection is
//!   closed, as PostgreSQL would end a session whose client vanished, so its locks go.) Silenced connections stay silent for good (the peer behind
//!   the partition is gone), even after the proxy passes traffic again; only new
//!   connections pass then.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Pass,
    Refuse,
    BlackHole,
}

/// A running proxy; stops (closing every connection) when dropped.
pub struct TcpProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    accept: tokio::task::JoinHandle<()>,
    /// Sockets held silent by black-hole mode.
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl TcpProxy {
    /// A proxy in front of the database server of the PostgreSQL URL `url`; returns it and
    /// `url` pointed at the proxy.
    pub async fn in_front_of(url: &str) -> (TcpProxy, String) {
        let mut via = url::Url::parse(url).expect("a PostgreSQL URL");
        let host = via.host_str().expect("host").to_string();
        let port = via.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host.as_str(), port))
            .await
            .expect("resolve")
            .next()
            .expect("address");
        let proxy = TcpProxy::start(upstream).await;
        via.set_host(Some("127.0.0.1")).expect("host");
        via.set_port(Some(proxy.addr.port())).expect("port");
        (proxy, via.to_string())
    }

    /// Listens on 127.0.0.1 (any port) and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (mode, _) = watch::channel(Mode::Pass);
        let held = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let mode = mode.clone();
            let held = held.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(connection(client, upstream, mode.subscribe(), held.clone()));
                }
            })
        };
        TcpProxy {
            addr,
            mode,
            accept,
            held,
        }
    }

    /// Switches the mode (affects open and new connections).
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// How many connections are held silent.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.held.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn reset(stream: TcpStream) {
    // SO_LINGER 0: closing sends RST instead of FIN (a zero linger never blocks on drop,
    // which is what the deprecation warns about).
    #[expect(
        deprecated,
        reason = "a zero linger is what this reset needs; it never blocks on drop"
    )]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

fn hold(held: &Mutex<Vec<TcpStream>>, streams: impl IntoIterator<Item = TcpStream>) {
    held.lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(streams);
}

async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    held: Arc<Mutex<Vec<TcpStream>>>,
) {
    let current = *mode.borrow_and_update();
    match current {
        Mode::Refuse => return reset(client),
        Mode::BlackHole => return hold(&held, [client]),
        Mode::Pass => {}
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return reset(client);
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let next = {
        // A side that ends its stream (the database closing a session it terminated) is
        // passed on as the end of the other side's stream, as without the proxy: otherwise
        // the client would wait for good on a connection the database already closed.
        let copy = async {
            tokio::try_join!(
                async {
                    tokio::io::copy(&mut cr, &mut sw).await?;
                    sw.shutdown().await
                },
                async {
                    tokio::io::copy(&mut sr, &mut cw).await?;
                    cw.shutdown().await
                },
            )
        };
        tokio::pin!(copy);
        loop {
            tokio::select! {
                _ = &mut copy => return,
                changed = mode.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let m = *mode.borrow_and_update();
                    if m != Mode::Pass {
                        break m;
                    }
                }
            }
        }
    };
    let (Ok(client), Ok(server)) = (cr.reunite(cw), sr.reunite(sw)) else {
        return;
    };
    match next {
        Mode::Refuse => {
            reset(client);
            reset(server);
        }
        // The database side is closed, as the server would end a session whose client
        // vanished (its open transaction rolls back and its locks go); the client side
        // stays silent.
        _ => {
            drop(server);
            hold(&held, [client]);
        }
    }
}
