//! One client connection: lines in, replies out, STARTTLS, drops.
//!
//! mailin supplies the parser and the state machine but leaves the I/O to
//! its user; its companion mailin-embedded does the I/O on a blocking
//! thread pool whose accept loop never returns, so a server could not be
//! stopped, nor its port freed, inside a test. This loop is the tokio
//! equivalent, and it can do what the sandbox needs besides:
//!
//! - stop: on shutdown a connection waiting for a command gets
//!   `421 4.3.2` and is closed;
//! - drop: when the session asks, the connection is closed right after the
//!   end of DATA with the reply unwritten, so the client cannot know that
//!   the message was recorded;
//! - STARTTLS with tokio-rustls; anything the client pipelined after
//!   `STARTTLS` is discarded with the plain-text buffer, as RFC 3207 requires.
//!
//! Bounds: a line over 64 KiB, five idle minutes or a ten-second TLS
//! handshake end the connection.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, Response, Session, SessionBuilder};
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::ledger::SmtpShared;
use super::replies::{self, Reply};
use super::session::{Notes, SharedNotes, SmtpSession, lock};

/// The longest line read; RFC 5321 allows 1000 bytes, clients sometimes more.
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// A client silent this long is disconnected (RFC 5321 suggests 5 minutes).
const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How one stretch of conversation (plain, then maybe TLS) ended.
enum Ending<S> {
    Closed,
    /// `220 Ready to start TLS` was sent: the stream, to be wrapped.
    StartTls(S),
}

/// Serve one connection until it ends or the server closes.
pub(crate) async fn serve(
    stream: TcpStream,
    builder: Arc<SessionBuilder>,
    shared: Arc<SmtpShared>,
    tls: TlsAcceptor,
    mut close: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let remote = stream
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |addr| addr.ip());
    let notes: SharedNotes = Arc::new(Mutex::new(Notes::default()));
    let mut session = builder.build(remote, SmtpSession::new(shared, Arc::clone(&notes)));
    let mut plain = BufReader::new(stream);
    if write_response(&mut plain, &session.greeting())
        .await
        .is_err()
    {
        return;
    }
    let Ending::StartTls(plain) = converse(&mut session, plain, &notes, &mut close).await else {
        return;
    };
    let handshake = tls.accept(plain.into_inner());
    let Ok(Ok(encrypted)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await else {
        return;
    };
    lock(&notes).tls = true;
    session.tls_active();
    // A second STARTTLS inside TLS has nothing to upgrade: it ends the connection.
    let _ = converse(&mut session, BufReader::new(encrypted), &notes, &mut close).await;
}

async fn converse<S>(
    session: &mut Session<SmtpSession>,
    mut stream: BufReader<S>,
    notes: &SharedNotes,
    close: &mut watch::Receiver<()>,
) -> Ending<BufReader<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        let read = tokio::select! {
            read = tokio::time::timeout(IDLE_TIMEOUT, read_line(&mut stream, &mut line)) => Some(read),
            // Shutdown (a send, or the server gone).
            _ = close.changed() => None,
        };
        let Some(read) = read else {
            let _ = write_reply(&mut stream, replies::SHUTTING_DOWN).await;
            return Ending::Closed;
        };
        match read {
            Err(_elapsed) => {
                let _ = write_reply(&mut stream, replies::IDLE_TIMEOUT).await;
                return Ending::Closed;
            }
            Ok(Err(_)) | Ok(Ok(LineRead::Eof)) => return Ending::Closed,
            Ok(Ok(LineRead::TooLong)) => {
                let _ = write_reply(&mut stream, replies::LINE_TOO_LONG).await;
                return Ending::Closed;
            }
            Ok(Ok(LineRead::Line)) => {}
        }
        let response = session.process(&line);
        let (delay, drop_connection) = {
            let mut notes = lock(notes);
            (std::mem::take(&mut notes.delay), notes.drop_connection)
        };
        if drop_connection {
            // Returning drops the stream: the client sees the connection
            // close where it expected the reply.
            return Ending::Closed;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if response.action != Action::NoReply
            && write_response(&mut stream, &response).await.is_err()
        {
            return Ending::Closed;
        }
        match response.action {
            Action::Close => return Ending::Closed,
            Action::UpgradeTls => return Ending::StartTls(stream),
            Action::Reply | Action::NoReply => {}
        }
    }
}

enum LineRead {
    Line,
    Eof,
    TooLong,
}

/// Read one line, line break included, into `line`.
async fn read_line<S: AsyncRead + Unpin>(
    stream: &mut BufReader<S>,
    line: &mut Vec<u8>,
) -> std::io::Result<LineRead> {
    let read = (&mut *stream)
        .take(MAX_LINE_BYTES)
        .read_until(b'\n', line)
        .await?;
    Ok(match read {
        0 => LineRead::Eof,
        _ if line.ends_with(b"\n") => LineRead::Line,
        _ if read as u64 >= MAX_LINE_BYTES => LineRead::TooLong,
        // The client closed in the middle of a line.
        _ => LineRead::Eof,
    })
}

async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: &Response,
) -> std::io::Result<()> {
    stream.write_all(&response.buffer()?).await?;
    stream.flush().await
}

async fn write_reply<S: AsyncWrite + Unpin>(stream: &mut S, reply: Reply) -> std::io::Result<()> {
    stream.write_all(reply.line().as_bytes()).await?;
    stream.flush().await
}
