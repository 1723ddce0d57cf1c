//! A loopback TCP proxy that can cut a client off its server: a network
//! partition, for tests of what a ZooKeeper client does when it loses the
//! server for longer than its session timeout.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A proxy on `127.0.0.1:<free port>` forwarding to one upstream address.
/// While cut, every proxied connection is closed and new ones are closed as
/// soon as they are accepted. Stops when dropped.
#[derive(Debug)]
pub struct Partition {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl Partition {
    /// Starts a proxy to `upstream` (`host:port`).
    ///
    /// # Errors
    /// The loopback listener cannot be bound.
    pub async fn start(upstream: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (cut, _) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(listener, upstream.to_string(), cut.clone()));
        Ok(Self { addr, cut, accept })
    }

    /// `127.0.0.1:PORT`: connect clients here instead of to the upstream.
    #[must_use]
    pub fn connect(&self) -> String {
        self.addr.to_string()
    }

    /// Cuts every connection through the proxy, now and until [`Self::heal`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.cut.send_replace(true);
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, cut: watch::Sender<bool>) {
    while let Ok((client, _)) = listener.accept().await {
        if *cut.borrow() {
            continue; // dropped: closed at once
        }
        tokio::spawn(forward(client, upstream.clone(), cut.subscribe()));
    }
}

async fn forward(mut client: TcpStream, upstream: String, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}
