//! A TCP proxy on 127.0.0.1 between the binary and a real server, that can
//! cut every connection for a while: the database "unreachable" without
//! restarting the server the other tests share.
//!
//! It accepts on an ephemeral port and forwards each connection to the
//! target, a thread per direction. [`TcpProxy::cut`] shuts every open
//! connection down (both ends, so the server sees its client gone too) and,
//! for the duration given, accepts new connections only to close them at
//! once, as a server that went away does.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A running proxy; it stops accepting when dropped.
pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Both ends of every connection forwarded so far.
    open: Mutex<Vec<TcpStream>>,
    /// New connections are closed at once until then.
    refuse_until: Mutex<Option<Instant>>,
    stopped: AtomicBool,
}

/// When a cut began and ends, by the wall clock (the sandbox stamps its
/// arrivals by it).
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl TcpProxy {
    /// Forwards 127.0.0.1:(a free port) to `target`.
    pub fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("the proxy's port").port();
        let shared = Arc::new(Shared::default());
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || accept(&listener, target, &accepting));
        TcpProxy { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `url` (the test server at 127.0.0.1:5432) through this proxy instead.
    pub fn url_for(&self, url: &str) -> String {
        let direct = "@127.0.0.1:5432/";
        assert!(
            url.contains(direct),
            "the proxy forwards to 127.0.0.1:5432; the test server is {url}"
        );
        url.replacen(direct, &format!("@127.0.0.1:{}/", self.port), 1)
    }

    /// Closes every open connection and refuses new ones for `duration`.
    pub fn cut(&self, duration: Duration) -> Cut {
        let from = Utc::now();
        *self.shared.refuse_until.lock().unwrap() = Some(Instant::now() + duration);
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Cut {
            from,
            until: from + chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX),
        }
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn accept(listener: &TcpListener, target: SocketAddr, shared: &Arc<Shared>) {
    for client in listener.incoming() {
        if shared.stopped.load(Ordering::Relaxed) {
            return;
        }
        let Ok(client) = client else { continue };
        let refusing = shared
            .refuse_until
            .lock()
            .unwrap()
            .is_some_and(|until| Instant::now() < until);
        if refusing {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect(target) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        {
            let mut open = shared.open.lock().unwrap();
            open.push(client.try_clone().expect("clone a socket"));
            open.push(server.try_clone().expect("clone a socket"));
        }
        forward(
            client.try_clone().expect("clone"),
            server.try_clone().expect("clone"),
        );
        forward(server, client);
    }
}

/// Copies `from` to `to` on a thread until either side closes, then closes
/// both.
fn forward(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
