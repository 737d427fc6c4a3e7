//! Fault injection for the channel's tests: a TCP relay on 127.0.0.1
//! between the client and the real test server that passes bytes through
//! until told to break the connection at a chosen moment:
//!
//! - after the client sent the message's final `.` and before the server's
//!   reply reaches it (the server has the message: maybe delivered);
//! - the same, but keeping the connection open and silent (a timeout);
//! - when the client says `MAIL FROM` (nothing sent yet: not delivered);
//! - at once, for every open connection (a server dropping idle sessions).
//!
//! It can also terminate TLS itself, to put implicit TLS (port 465 style) in
//! front of the plain test server.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::test_server::TestPki;

const END_OF_DATA: &[u8] = b"\r\n.\r\n";

#[derive(Default)]
struct Faults {
    /// Messages still to cut after their final `.`.
    drop_after_data: AtomicUsize,
    /// Messages still to leave unanswered after their final `.`.
    silence_after_data: AtomicUsize,
    /// Close every connection whose client says `MAIL FROM`.
    drop_at_mail: AtomicBool,
}

/// A running relay.
pub struct Relay {
    pub port: u16,
    faults: Arc<Faults>,
    connections: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    cut: watch::Sender<u64>,
}

impl Relay {
    /// Relay plain TCP to the server on `server_port`.
    pub async fn start(server_port: u16) -> Relay {
        Relay::start_with(server_port, None).await
    }

    /// Accept TLS from the client (with `pki`'s certificate), relay plain.
    pub async fn start_tls(server_port: u16, pki: &TestPki) -> Relay {
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(pki.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key_der.clone())),
            )
            .unwrap();
        Relay::start_with(server_port, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_with(server_port: u16, tls: Option<TlsAcceptor>) -> Relay {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, server_port));
        let faults = Arc::new(Faults::default());
        let connections = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let (cut, _) = watch::channel(0);
        let relay = Relay {
            port,
            faults: faults.clone(),
            connections: connections.clone(),
            open: open.clone(),
            cut: cut.clone(),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                open.fetch_add(1, Ordering::SeqCst);
                let open = open.clone();
                let faults = faults.clone();
                let cut = cut.subscribe();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let Ok(upstream) = TcpStream::connect(server).await else {
                        open.fetch_sub(1, Ordering::SeqCst);
                        return;
                    };
                    match tls {
                        Some(acceptor) => {
                            if let Ok(client) = acceptor.accept(client).await {
                                pipe(client, upstream, &faults, cut).await;
                            }
                        }
                        None => pipe(client, upstream, &faults, cut).await,
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        relay
    }

    /// Connections the client opened so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Cut the next message's connection after its final `.`.
    pub fn drop_after_next_message(&self) {
        self.faults.drop_after_data.fetch_add(1, Ordering::SeqCst);
    }

    /// Swallow the server's reply to the next message, keeping the
    /// connection open.
    pub fn silence_after_next_message(&self) {
        self.faults
            .silence_after_data
            .fetch_add(1, Ordering::SeqCst);
    }

    /// Close every connection whose client says `MAIL FROM`, from now on.
    pub fn drop_at_mail_from(&self) {
        self.faults.drop_at_mail.store(true, Ordering::SeqCst);
    }

    /// Close every open connection, and wait (up to 2 s) until they are.
    pub async fn cut_all(&self) {
        self.cut.send_modify(|generation| *generation += 1);
        for _ in 0..200 {
            if self.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// Take one from a fault counter, if any is left.
fn take(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok()
}

/// Pass bytes both ways until either side closes, a fault fires or the
/// relay cuts everything. Returning drops, so closes, both sockets.
async fn pipe(
    client: impl AsyncRead + AsyncWrite + Unpin,
    upstream: TcpStream,
    faults: &Faults,
    mut cut: watch::Receiver<u64>,
) {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = upstream.into_split();
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    // The end of what the client sent before, so `\r\n.\r\n` split across
    // two reads is still seen.
    let mut tail: Vec<u8> = Vec::new();
    let mut silent = false;
    loop {
        tokio::select! {
            read = client_read.read(&mut from_client) => {
                let Ok(count @ 1..) = read else { return };
                let chunk = &from_client[..count];
                if faults.drop_at_mail.load(Ordering::SeqCst) && chunk.starts_with(b"MAIL FROM") {
                    return;
                }
                if server_write.write_all(chunk).await.is_err() {
                    return;
                }
                tail.extend_from_slice(chunk);
                if tail.windows(END_OF_DATA.len()).any(|window| window == END_OF_DATA) {
                    tail.clear();
                    if take(&faults.drop_after_data) {
                        return;
                    }
                    if take(&faults.silence_after_data) {
                        silent = true;
                    }
                }
                let keep = tail.len().saturating_sub(END_OF_DATA.len() - 1);
                tail.drain(..keep);
            }
            read = server_read.read(&mut from_server) => {
                let Ok(count @ 1..) = read else { return };
                if !silent && client_write.write_all(&from_server[..count]).await.is_err() {
                    return;
                }
            }
            _ = cut.changed() => return,
        }
    }
}
