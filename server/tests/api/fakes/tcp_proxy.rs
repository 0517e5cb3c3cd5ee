//! A TCP proxy the test controls, between a server process and its PostgreSQL: it forwards
//! until it is cut, then drops every open connection and every new one until restored —
//! the database as the server sees it during an outage.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy.
#[derive(Clone)]
pub struct TcpProxy {
    pub address: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

#[derive(Default)]
struct ProxyState {
    cut: bool,
    /// The tasks forwarding open connections.
    connections: Vec<JoinHandle<()>>,
}

impl TcpProxy {
    /// Forwards a free local port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the proxy");
        let address = listener.local_addr().expect("a bound address");
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                let mut state = shared.lock().unwrap();
                if state.cut {
                    // Accepted and closed at once: connection reset for the client.
                    drop(client);
                    continue;
                }
                state.connections.push(tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }));
            }
        });
        Self { address, state }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        state.cut = true;
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.state.lock().unwrap().cut = false;
    }
}
