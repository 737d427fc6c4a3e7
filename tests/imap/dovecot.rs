//! A real IMAP server for the tests: the distribution's dovecot
//! (`dovecot-imapd`), started per test with a temporary configuration on
//! 127.0.0.1 and a free port, users from a passwd file, Maildir in the temp
//! dir, optionally implicit TLS with an rcgen certificate. Messages are put
//! in the mailbox with IMAP APPEND, the real protocol.
//!
//! Running as an ordinary user, dovecot runs as that user. Running as root
//! (a CI container), it runs its processes as the package's `dovecot` and
//! `dovenull` users (dovecot refuses mail access as root), which own the
//! mail folder.
//!
//! Without dovecot the tests that need it skip with one visible line naming
//! the package; with `OUTREACH_REQUIRE_IMAP=1` (set by `.ci/run`) its
//! absence fails them instead.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use tempfile::TempDir;
use tokio::net::TcpStream;

/// The mailbox's login, the same address the campaign sends from.
pub const IMAP_USER: &str = "ann@acme.test";
/// Its password.
pub const IMAP_PASSWORD: &str = "pw-imap-7c41d2";
/// The variable the config names for it.
pub const IMAP_PASSWORD_ENV: &str = "OUTREACH_IMAP_PASSWORD";

const PACKAGE: &str = "dovecot-imapd";

/// A running dovecot, stopped (SIGTERM to its master) when dropped.
pub struct Dovecot {
    child: Child,
    dir: TempDir,
    /// Plain IMAP (always on, for APPEND from the tests).
    pub port: u16,
    /// Implicit TLS, when started with it.
    pub tls_port: Option<u16>,
    /// The certificate to trust for [`tls_port`](Self::tls_port).
    pub certificate_pem: Option<String>,
}

/// The dovecot binary: `OUTREACH_DOVECOT` if set (a path that does not
/// exist shows the skip), else where the package installs it.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OUTREACH_DOVECOT") {
        let path = PathBuf::from(path);
        return path.exists().then_some(path);
    }
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// Start dovecot, or `None` (after one line on stderr) when it is not
/// installed and not required.
pub fn start(tls: bool) -> Option<Dovecot> {
    let Some(binary) = binary() else {
        if std::env::var("OUTREACH_REQUIRE_IMAP").is_ok_and(|v| v == "1") {
            panic!(
                "OUTREACH_REQUIRE_IMAP=1 but dovecot is not installed: apt-get install {PACKAGE}"
            );
        }
        static SAID: Once = Once::new();
        SAID.call_once(|| {
            // Straight to the stream: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "skipping the IMAP tests: dovecot is not installed (apt-get install {PACKAGE}; \
                 OUTREACH_REQUIRE_IMAP=1 makes this a failure)"
            );
        });
        return None;
    };
    Some(Dovecot::launch(&binary, tls))
}

impl Dovecot {
    fn launch(binary: &Path, tls: bool) -> Dovecot {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let mail = root.join("mail");
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(root.join(sub)).expect("dovecot folders");
        }
        let (internal, login, uid, gid) = run_as(root, &mail);
        std::fs::write(
            root.join("users"),
            format!("{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n"),
        )
        .expect("users file");
        let port = free_port();
        let tls_port = tls.then(free_port);
        let mut certificate_pem = None;
        let ssl = match tls_port {
            Some(_) => {
                let key = rcgen::generate_simple_self_signed(vec![
                    "127.0.0.1".to_string(),
                    "localhost".to_string(),
                ])
                .expect("certificate");
                std::fs::write(root.join("cert.pem"), key.cert.pem()).expect("cert");
                std::fs::write(root.join("key.pem"), key.signing_key.serialize_pem()).expect("key");
                certificate_pem = Some(key.cert.pem());
                format!(
                    "ssl = yes\nssl_cert = <{0}/cert.pem\nssl_key = <{0}/key.pem\n",
                    root.display()
                )
            }
            None => "ssl = no\n".to_string(),
        };
        let root_text = root.display();
        let config = format!(
            "base_dir = {root_text}/run\n\
             state_dir = {root_text}/state\n\
             log_path = {root_text}/dovecot.log\n\
             protocols = imap\n\
             listen = 127.0.0.1\n\
             {ssl}\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login\n\
             mail_location = maildir:{mail}/%u\n\
             first_valid_uid = 1\n\
             default_internal_user = {internal}\n\
             default_login_user = {login}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {root_text}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={mail}/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n  }}\n}}\n\
             service stats {{\n  inet_listener http {{\n    port = 0\n  }}\n}}\n",
            mail = mail.display(),
            imaps = tls_port.unwrap_or(0),
        );
        let config_path = root.join("dovecot.conf");
        std::fs::write(&config_path, config).expect("dovecot.conf");
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        let mut dovecot = Dovecot {
            child,
            dir,
            port,
            tls_port,
            certificate_pem,
        };
        dovecot.wait_until_listening();
        dovecot
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let ports: Vec<u16> = [Some(self.port), self.tls_port]
            .into_iter()
            .flatten()
            .collect();
        loop {
            if ports
                .iter()
                .all(|port| std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok())
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("dovecot exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen within 15 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// dovecot's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Put a message into INBOX with IMAP APPEND (arrival time: now).
    pub async fn append(&self, raw: &str) {
        let mut session = self.session().await;
        let crlf = raw.replace("\r\n", "\n").replace('\n', "\r\n");
        session
            .append("INBOX", None, None, crlf.as_bytes())
            .await
            .expect("APPEND");
        session.logout().await.ok();
    }

    /// The flags of every message in INBOX (to see nothing was marked read).
    pub async fn flags(&self) -> Vec<String> {
        let mut session = self.session().await;
        session.examine("INBOX").await.expect("EXAMINE");
        let rows: Vec<_> = session
            .fetch("1:*", "FLAGS")
            .await
            .expect("FETCH")
            .try_collect()
            .await
            .expect("FETCH rows");
        let flags = rows
            .iter()
            .flat_map(|row| row.flags().map(|flag| format!("{flag:?}")))
            .collect();
        session.logout().await.ok();
        flags
    }

    async fn session(&self) -> async_imap::Session<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to dovecot");
        let mut client = async_imap::Client::new(stream);
        client
            .read_response()
            .await
            .expect("greeting")
            .expect("greeting");
        client
            .login(IMAP_USER, IMAP_PASSWORD)
            .await
            .map_err(|(error, _)| error)
            .unwrap_or_else(|error| panic!("login: {error}\n{}", self.log()))
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM to the master we started: it stops its own processes.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Who dovecot's processes and the mail belong to: the current user, or
/// for root the package's `dovecot`/`dovenull` users (owning `mail`).
fn run_as(root: &Path, mail: &Path) -> (String, String, String, String) {
    let id = |args: &[&str]| {
        let out = Command::new("id").args(args).output().expect("id runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    if id(&["-u"]) != "0" {
        let user = id(&["-un"]);
        return (user.clone(), user, id(&["-u"]), id(&["-g"]));
    }
    let (uid, gid) = (id(&["-u", "dovecot"]), id(&["-g", "dovecot"]));
    assert!(
        !uid.is_empty(),
        "the dovecot user exists when {PACKAGE} is installed"
    );
    let owner = format!("{uid}:{gid}");
    let status = Command::new("chown").arg(&owner).arg(mail).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "chown {owner} {}",
        mail.display()
    );
    // The mail processes must reach the temp dir's mail folder.
    let _ = Command::new("chmod").arg("755").arg(root).status();
    ("dovecot".into(), "dovenull".into(), uid, gid)
}
