//! A real SMTP server for the channel's tests: mailin-embedded (STARTTLS
//! with rustls, AUTH PLAIN/LOGIN) on 127.0.0.1, with a certificate from a
//! throwaway CA made by rcgen. It records what it receives and can answer
//! chosen recipients or messages with chosen replies.
//!
//! mailin-embedded serves on threads and never stops; each test's server
//! lives until the test binary exits, which costs one idle thread.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tempfile::TempDir;

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM`.
    pub from: String,
    /// `RCPT TO`, in order.
    pub to: Vec<String>,
    /// Everything after `DATA`, dot-unstuffed.
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Sessions that said EHLO: one per connection.
    sessions: usize,
    /// Replies to `RCPT TO` for given addresses; 250 for the others.
    recipient_replies: HashMap<String, (u16, String)>,
    /// Replies to the next messages' final `.`; 250 when empty.
    content_replies: VecDeque<(u16, String)>,
    /// The one login the server accepts.
    login: Option<(String, String)>,
}

/// A certificate authority and a server certificate for 127.0.0.1 and
/// localhost, written as PEM files.
pub struct TestPki {
    _dir: TempDir,
    /// The CA's certificate: what the client trusts (`root_certificate`).
    pub ca_path: PathBuf,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

impl TestPki {
    pub fn new() -> TestPki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        TestPki {
            ca_path: write("ca.pem", ca.pem()),
            cert_path: write("cert.pem", cert.pem()),
            key_path: write("key.pem", key.serialize_pem()),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
            _dir: dir,
        }
    }
}

/// How the server is set up.
#[derive(Default)]
pub struct ServerOptions {
    /// Offer STARTTLS with this certificate.
    pub tls: Option<Arc<TestPki>>,
    /// Require this login (mailin offers AUTH only after STARTTLS).
    pub login: Option<(String, String)>,
    /// The mechanisms offered; PLAIN and LOGIN when empty.
    pub mechanisms: Vec<AuthMechanism>,
}

/// A running server.
pub struct TestServer {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl TestServer {
    pub fn plain() -> TestServer {
        TestServer::start(ServerOptions::default())
    }

    pub fn start(options: ServerOptions) -> TestServer {
        let shared = Arc::new(Mutex::new(Shared {
            login: options.login.clone(),
            ..Shared::default()
        }));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut server = Server::new(Recorder {
            shared: shared.clone(),
            greeted: false,
            current: None,
        });
        server.with_name("test.local").with_tcp_listener(listener);
        if let Some(pki) = &options.tls {
            server
                .with_ssl(SslConfig::SelfSigned {
                    cert_path: pki.cert_path.display().to_string(),
                    key_path: pki.key_path.display().to_string(),
                })
                .unwrap();
        }
        if options.login.is_some() {
            let mechanisms = if options.mechanisms.is_empty() {
                vec![AuthMechanism::Plain, AuthMechanism::Login]
            } else {
                options.mechanisms
            };
            for mechanism in mechanisms {
                server.with_auth(mechanism);
            }
        }
        std::thread::spawn(move || {
            // Runs until the test binary exits; an error would show as
            // failing sends in the test.
            let _ = server.serve();
        });
        TestServer { port, shared }
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap()
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared().received.clone()
    }

    pub fn sessions(&self) -> usize {
        self.shared().sessions
    }

    /// Answer `RCPT TO:<address>` with `code text` from now on.
    pub fn reply_to_recipient(&self, address: &str, code: u16, text: &str) {
        self.shared()
            .recipient_replies
            .insert(address.to_string(), (code, text.to_string()));
    }

    /// Answer the next message's final `.` with `code text` (and not keep
    /// it). Only 421 is safe here: mailin stays in its data state after any
    /// other refusal there, which no client can recover from.
    pub fn reply_to_next_message(&self, code: u16, text: &str) {
        self.shared()
            .content_replies
            .push_back((code, text.to_string()));
    }
}

/// The handler: the server clones the one given for every connection.
#[derive(Clone)]
struct Recorder {
    shared: Arc<Mutex<Shared>>,
    greeted: bool,
    current: Option<Received>,
}

impl Recorder {
    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap()
    }

    fn check_login(&self, username: &str, password: &str) -> Response {
        match &self.shared().login {
            Some((user, pass)) if user == username && pass == password => {
                mailin_embedded::response::AUTH_OK
            }
            _ => Response::custom(535, "5.7.8 Username and Password not accepted".into()),
        }
    }
}

impl Handler for Recorder {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        // EHLO comes again after STARTTLS in the same session.
        if !self.greeted {
            self.greeted = true;
            self.shared().sessions += 1;
        }
        mailin_embedded::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        match self.shared().recipient_replies.get(to) {
            Some((code, text)) => Response::custom(*code, text.clone()),
            None => mailin_embedded::response::OK,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_string(),
            to: to.to_vec(),
            data: Vec::new(),
        });
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = self.current.take();
        let mut shared = self.shared();
        if let Some((code, text)) = shared.content_replies.pop_front() {
            return Response::custom(code, text);
        }
        shared.received.extend(message);
        Response::custom(250, "2.0.0 OK queued".into())
    }

    fn auth_plain(
        &mut self,
        _authorization: &str,
        authentication: &str,
        password: &str,
    ) -> Response {
        self.check_login(authentication, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.check_login(username, password)
    }
}
