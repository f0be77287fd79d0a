//! The authoritative DNS server (issue 12): a face of its own on UDP and TCP
//! (`--dns-listen`, default 127.0.0.1:8053), answering from the zones `pdns.php` writes and
//! the PTR records `ip/update_ptr` sets, read from the database on every query, so what the
//! API wrote is what `dig` sees. hickory-proto parses and builds the messages; the loops
//! are this file's own small tokio loops (hickory-server would bring its own catalogue and
//! authority types that the database already plays): a packet that does not parse gets
//! FORMERR (or is dropped when it is too short to answer), each packet and connection is
//! answered in a task of its own, so nothing one client sends stops the server.

pub mod answer;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;

use crate::state::AppState;
use answer::Transport;

/// UDP packets answered at once; more wait in the socket's buffer.
const UDP_IN_FLIGHT: usize = 256;
/// TCP connections served at once; more wait in the listen queue.
const TCP_CONNECTIONS: usize = 64;
/// How long a TCP connection may stay silent before it is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// The DNS server's two sockets, on one address.
pub struct Sockets {
    pub udp: UdpSocket,
    pub tcp: TcpListener,
}

impl Sockets {
    /// Binds UDP and TCP on `addr`. With port 0, UDP picks the port and TCP takes the same
    /// one (tried a few times, as another program may hold that port's TCP side).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Sockets> {
        let mut last = None;
        for _ in 0..8 {
            let udp = UdpSocket::bind(addr).await?;
            let port = udp.local_addr()?.port();
            match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
                Ok(tcp) => return Ok(Sockets { udp, tcp }),
                Err(e) if addr.port() == 0 => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no port for UDP and TCP")))
    }

    /// The address both listen on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

/// Serves DNS on both sockets until `shutdown` resolves.
pub async fn serve(sockets: Sockets, state: AppState, shutdown: impl Future<Output = ()> + Send) {
    let udp = tokio::spawn(serve_udp(Arc::new(sockets.udp), state.clone()));
    let tcp = tokio::spawn(serve_tcp(sockets.tcp, state));
    shutdown.await;
    udp.abort();
    tcp.abort();
}

async fn serve_udp(socket: Arc<UdpSocket>, state: AppState) {
    let limit = Arc::new(Semaphore::new(UDP_IN_FLIGHT));
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            // An ICMP "port unreachable" from an earlier answer shows up here on some
            // systems; it concerns that one peer only.
            Err(e) => {
                tracing::debug!(error = %e, "dns: udp receive failed");
                continue;
            }
        };
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let packet = buf[..n].to_vec();
        let (socket, state) = (socket.clone(), state.clone());
        tokio::spawn(async move {
            let _permit = permit;
            for reply in answer::handle(&state, &packet, Transport::Udp).await {
                if let Err(e) = socket.send_to(&reply, peer).await {
                    tracing::debug!(%peer, error = %e, "dns: udp send failed");
                }
            }
        });
    }
}

async fn serve_tcp(listener: TcpListener, state: AppState) {
    let limit = Arc::new(Semaphore::new(TCP_CONNECTIONS));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::debug!(error = %e, "dns: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = serve_connection(stream, &state).await {
                tracing::debug!(%peer, error = %e, "dns: tcp connection ended");
            }
        });
    }
}

/// One TCP connection: length-prefixed messages (RFC 1035 4.2.2), answered in turn, until
/// the client closes it or stays silent for [`TCP_IDLE`].
async fn serve_connection(mut stream: TcpStream, state: &AppState) -> std::io::Result<()> {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Err(_) => return Ok(()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(r) => r?,
        };
        let mut packet = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut packet))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "slow message"))??;
        let replies = answer::handle(state, &packet, Transport::Tcp).await;
        if replies.is_empty() {
            // Nothing that can be answered: the stream may be out of step, so close it.
            return Ok(());
        }
        for reply in replies {
            let n = u16::try_from(reply.len()).map_err(std::io::Error::other)?;
            stream.write_all(&n.to_be_bytes()).await?;
            stream.write_all(&reply).await?;
        }
    }
}
