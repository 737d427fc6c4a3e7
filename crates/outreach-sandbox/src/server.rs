//! The running server: a hand-written accept loop that can drop a connection.
//!
//! `axum::serve` hides each connection inside its own task, so a handler
//! cannot close the socket without answering. `--drop-rate` needs exactly
//! that: accept the message, then vanish, so the client cannot tell whether
//! it was sent. Here every connection is served by hyper in a task that also
//! waits on a [`DropHandle`]; a handler that fires the handle makes the task
//! drop the connection (and with it the TCP stream) before any byte of the
//! response is written.
//!
//! [`Sandbox`] is the handle tests and `outreach send` hold: it knows the
//! address, exposes the recorded messages and counters, and shuts the server
//! down gracefully (or when it is dropped).

use std::net::{Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

use super::ledger::{AcceptedMessage, Shared, Stats};
use super::message_log::MessageLog;
use super::routes;
use super::settings::SandboxConfig;

/// How long [`Sandbox::shutdown`] lets open requests finish.
const GRACE: Duration = Duration::from_secs(2);

/// Put into every request's extensions; firing it closes the connection
/// without a response.
#[derive(Debug, Clone)]
pub(crate) struct DropHandle(Arc<Notify>);

impl DropHandle {
    pub fn drop_connection(&self) {
        self.0.notify_one();
    }
}

/// A running sandbox bound to 127.0.0.1. Dropping it stops the server too.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Bind 127.0.0.1:`port` (0 picks a free port) and start serving.
    /// Must be called inside a tokio runtime.
    pub async fn start(config: SandboxConfig, port: u16) -> anyhow::Result<Sandbox> {
        Sandbox::start_with_log(config, port, MessageLog::new()).await
    }

    /// As [`Sandbox::start`], recording accepted messages in `log`, which
    /// another server (the SMTP sandbox) may share.
    pub async fn start_with_log(
        config: SandboxConfig,
        port: u16,
        log: MessageLog,
    ) -> anyhow::Result<Sandbox> {
        config.validate()?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}; try another --port"))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let shared = Arc::new(Shared::new(config, log));
        let router = routes::router(Arc::clone(&shared));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, router, stop_rx));
        Ok(Sandbox {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// The bound address, always on 127.0.0.1.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a path.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The messages endpoint, `http://127.0.0.1:PORT/v2/messages`.
    pub fn url(&self) -> String {
        format!("{}/v2/messages", self.base_url())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SandboxConfig {
        &self.shared.config
    }

    /// Every accepted message so far, oldest first (with those of an SMTP
    /// sandbox started with [`Sandbox::message_log`]).
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.shared.messages()
    }

    /// The log its messages go to, to hand to `SmtpSandbox::start_with_log`
    /// so that `GET /_sandbox/messages` lists e-mails too.
    pub fn message_log(&self) -> MessageLog {
        self.shared.log().clone()
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Stop accepting, let open requests finish (up to 2 s), then return.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config's own Debug leaves the tokens out.
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let (close, close_rx) = watch::channel(());
    loop {
        tokio::select! {
            // A send or a dropped `Sandbox`: either way, stop.
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone(), close_rx.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("sandbox: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    drop(close);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, drain).await.is_err() {
        connections.shutdown().await;
    }
}

async fn serve_connection(stream: TcpStream, router: Router, mut close: watch::Receiver<()>) {
    let _ = stream.set_nodelay(true);
    let dropper = Arc::new(Notify::new());
    let handle = DropHandle(Arc::clone(&dropper));
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).keep_alive(true);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
    let mut closing = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => break,
            // Returning drops the connection and the stream: the client sees
            // the socket close with no response.
            () = dropper.notified() => break,
            _ = close.changed(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
