//! What only the SMTP suite adds to the shared harness (`tests/common`): an
//! SMTP sandbox, a campaign whose `[channel]` points at it, `send` and
//! `resume` with an events file per run and the password in its variable,
//! the journal read back, and the received e-mails parsed.

use std::collections::BTreeMap;

use outreach::sandbox::AcceptedMessage;
use outreach::sandbox::smtp::{SmtpConfig, SmtpEnvelope, SmtpSandbox, SmtpUser};
use serde_json::Value;

pub use crate::common::{Cmd, Outcome, Running, Workdir, received_recipients, sorted};

/// The account's login at the sandbox, and its sender address.
pub const USER: &str = "ann@acme.test";
/// `From:` of every message.
pub const FROM: &str = "Ann Example <ann@acme.test>";
/// The display name in [`FROM`].
pub const FROM_NAME: &str = "Ann Example";
/// The password the sandbox accepts for [`USER`].
pub const PASSWORD: &str = "pw-smtp-5e2a91";
/// The variable the config names for the password.
pub const PASSWORD_ENV: &str = "OUTREACH_SMTP_PASSWORD";
/// The journal of `data.csv`, relative to the work dir.
pub const STATE: &str = "data.outreach.db";

// ---------------------------------------------------------------- server

/// Start an SMTP sandbox on 127.0.0.1 (any free port) that prints nothing.
pub async fn smtp(config: SmtpConfig) -> SmtpSandbox {
    SmtpSandbox::start(SmtpConfig {
        quiet: true,
        ..config
    })
    .await
    .expect("SMTP sandbox starts")
}

/// A limit far above any test's rate, no login.
pub fn roomy() -> SmtpConfig {
    SmtpConfig {
        limit: "1000/s".parse().expect("valid limit"),
        ..SmtpConfig::default()
    }
}

/// [`roomy`], with [`USER`] / [`PASSWORD`] required.
pub fn with_login() -> SmtpConfig {
    SmtpConfig {
        users: vec![SmtpUser::new(USER, PASSWORD)],
        ..roomy()
    }
}

/// How the campaign reaches its server.
#[derive(Debug, Clone, Copy)]
pub enum Security {
    /// `tls = "none"`, `auth = "none"`.
    Plain,
    /// `tls = "starttls"` trusting the sandbox's certificate (written to
    /// `sandbox-cert.pem`), `auth = "password"` as [`USER`].
    StartTlsLogin,
}

// ---------------------------------------------------------------- workdir

/// What only this suite asks of a work dir.
impl Workdir {
    /// A campaign of `n` recipients (`r01@example.test`, ...) sent through
    /// `sandbox` as `security` says, with `extra` lines appended to the
    /// `[channel]` table; returns the recipients in file order.
    pub fn smtp_campaign(
        &self,
        sandbox: &SmtpSandbox,
        security: Security,
        n: usize,
        extra: &str,
    ) -> Vec<String> {
        let port = sandbox.addr().port();
        let connection = match security {
            Security::Plain => "tls = \"none\"\nauth = \"none\"\n".to_string(),
            Security::StartTlsLogin => {
                self.write("sandbox-cert.pem", sandbox.certificate_pem());
                format!(
                    "tls = \"starttls\"\nauth = \"password\"\nusername = \"{USER}\"\nroot_certificate = \"sandbox-cert.pem\"\n"
                )
            }
        };
        self.write(
            "outreach.toml",
            format!(
                "[channel]\ntype = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nfrom = \"{FROM}\"\n{connection}{extra}\n\
                 [[accounts]]\nname = \"default\"\ntoken_env = \"{PASSWORD_ENV}\"\n"
            ),
        );
        self.recipients(n)
    }

    /// A fresh events file name for the next run.
    pub fn events_file(&self) -> String {
        format!("events-{}.jsonl", self.next_run())
    }

    /// `outreach send data.csv` with fast retries, its own events file and
    /// the right password; add `--rate`.
    pub fn send(&self) -> Cmd {
        self.cmd(&["send", "data.csv"])
            .opt("--template", "message.txt")
            .with_fast_retries()
            .opt("--events", &self.events_file())
            .env(PASSWORD_ENV, PASSWORD)
    }

    /// `outreach resume --state data.outreach.db` with the right password
    /// and its own events file.
    pub fn resume(&self) -> Cmd {
        self.cmd(&["resume"])
            .opt("--state", STATE)
            .with_fast_retries()
            .opt("--events", &self.events_file())
            .env(PASSWORD_ENV, PASSWORD)
    }

    /// `outreach status --json` of the journal, parsed.
    pub fn status(&self) -> Value {
        let out = self
            .cmd(&["status", "--json", "--state", STATE])
            .run_blocking();
        out.expect_code(0);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status --json is not JSON: {e}\n{out}"))
    }

    /// `outreach report --format json`: each recipient's state.
    pub fn states(&self) -> BTreeMap<String, String> {
        let out = self
            .cmd(&["report", "--format", "json", "--state", STATE])
            .run_blocking();
        out.expect_code(0);
        out.stdout
            .lines()
            .map(|line| {
                let row: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("report line {line:?} is not JSON: {e}\n{out}"));
                let field = |name: &str| row[name].as_str().expect(name).to_string();
                (field("recipient"), field("state"))
            })
            .collect()
    }
}

/// What only this suite adds to a command.
impl Cmd {
    /// Retries 50 ms apart at first, 4 attempts, a 2 s timeout; no progress bars.
    fn with_fast_retries(self) -> Cmd {
        self.flag("--no-progress")
            .opt("--retry-base", "50ms")
            .opt("--retry-cap", "500ms")
            .opt("--retry-attempts", "4")
            .opt("--timeout", "2s")
    }
}

/// `status --json` counts: total, pending, in flight, sent, failed, uncertain.
#[track_caller]
pub fn counts(status: &Value) -> [u64; 6] {
    [
        "total",
        "pending",
        "in_flight",
        "sent",
        "failed",
        "uncertain",
    ]
    .map(|key| {
        status[key]
            .as_u64()
            .unwrap_or_else(|| panic!("status --json lacks `{key}`: {status}"))
    })
}

// ---------------------------------------------------------------- e-mail

/// How many times each recipient arrived.
pub fn arrivals(messages: &[AcceptedMessage]) -> BTreeMap<String, usize> {
    let mut arrived = BTreeMap::new();
    for recipient in received_recipients(messages) {
        *arrived.entry(recipient).or_default() += 1;
    }
    arrived
}

/// The e-mail part of a message the SMTP sandbox received.
#[track_caller]
pub fn envelope(message: &AcceptedMessage) -> &SmtpEnvelope {
    message.smtp.as_deref().expect("received over SMTP")
}

/// The messages to `recipient`, oldest first.
pub fn to<'a>(messages: &'a [AcceptedMessage], recipient: &str) -> Vec<&'a AcceptedMessage> {
    messages
        .iter()
        .filter(|m| m.recipients.iter().any(|r| r == recipient))
        .collect()
}

/// A header of the raw message as received (decoded), if present.
#[track_caller]
pub fn header(message: &AcceptedMessage, name: &str) -> Option<String> {
    use mailparse::MailHeaderMap as _;
    let raw = &envelope(message).raw;
    let mail = mailparse::parse_mail(raw.as_bytes()).expect("a parseable e-mail");
    mail.headers.get_first_value(name)
}

/// The single address of an address header (`From`, `To`, `Reply-To`) as
/// display name and address, however it was quoted.
#[track_caller]
pub fn mailbox(message: &AcceptedMessage, name: &str) -> (String, String) {
    use mailparse::MailHeaderMap as _;
    let raw = &envelope(message).raw;
    let mail = mailparse::parse_mail(raw.as_bytes()).expect("a parseable e-mail");
    let header = mail
        .headers
        .get_first_header(name)
        .unwrap_or_else(|| panic!("no {name} header in {raw}"));
    let list = mailparse::addrparse_header(header).expect("an address header");
    match list.clone().extract_single_info() {
        Some(info) => (info.display_name.unwrap_or_default(), info.addr),
        None => panic!("{name} is not one address: {list:?}"),
    }
}

/// The MIME types of the message and its parts, depth first:
/// `["multipart/alternative", "text/plain", "text/html"]`, with each leaf's
/// decoded body.
#[track_caller]
pub fn parts(message: &AcceptedMessage) -> Vec<(String, String)> {
    fn walk(part: &mailparse::ParsedMail<'_>, found: &mut Vec<(String, String)>) {
        let body = if part.subparts.is_empty() {
            part.get_body().expect("a decodable body")
        } else {
            String::new()
        };
        found.push((part.ctype.mimetype.clone(), body));
        for sub in &part.subparts {
            walk(sub, found);
        }
    }
    let raw = &envelope(message).raw;
    let mail = mailparse::parse_mail(raw.as_bytes()).expect("a parseable e-mail");
    let mut found = Vec::new();
    walk(&mail, &mut found);
    found
}

/// The `message_id` of `recipient`'s `sent` event in a run.
#[track_caller]
pub fn sent_message_id(out: &Outcome, recipient: &str) -> String {
    out.events("sent")
        .into_iter()
        .find(|e| e["recipient"] == recipient)
        .and_then(|e| e["message_id"].as_str().map(String::from))
        .unwrap_or_else(|| panic!("no `sent` event with a message_id for {recipient}\n{out}"))
}
