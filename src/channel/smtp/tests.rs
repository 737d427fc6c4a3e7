//! The channel end to end against a real SMTP server on 127.0.0.1
//! ([`test_server`](super::test_server)), with a TCP relay
//! ([`test_relay`](super::test_relay)) where a fault must be injected.
//!
//! Over 400 lines: one end-to-end test per SMTP outcome, each against the real server.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use mailin_embedded::AuthMechanism;
use mailparse::{MailHeaderMap, parse_mail};

use super::test_relay::Relay;
use super::test_server::{Received, ServerOptions, TestPki, TestServer};
use super::{AuthMethod, SmtpChannel, SmtpSettings, TlsMode};
use crate::send::api::{
    ApiResponse, MessageApi, MessagePayload, OutgoingMessage, ResponseClass, Token, TransportError,
};

const TIMEOUT: Duration = Duration::from_secs(5);
const PASSWORD: &str = "app-password-1234";

fn settings(port: u16, tls: TlsMode) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        tls,
        username: None,
        auth: AuthMethod::None,
        from: "Ada Lovelace <ada@example.com>".into(),
        reply_to: None,
        list_unsubscribe: None,
        root_certificate: None,
    }
}

/// STARTTLS trusting the test CA, logging in as `ada`.
fn secure_settings(port: u16, pki: &TestPki) -> SmtpSettings {
    SmtpSettings {
        username: Some("ada".into()),
        auth: AuthMethod::Password,
        root_certificate: Some(pki.ca_path.clone()),
        ..settings(port, TlsMode::Starttls)
    }
}

fn message(recipient: &str, number: usize) -> OutgoingMessage {
    OutgoingMessage {
        payload: MessagePayload {
            recipients: vec![recipient.into()],
            subject: Some(format!("Hello #{number}")),
            body: format!("Hi there,\nthis is message {number}.\n"),
        },
        html: None,
        fields: BTreeMap::new(),
        idempotency_key: format!("outreach-key-{number}"),
    }
}

fn channel(settings: &SmtpSettings) -> SmtpChannel {
    SmtpChannel::new(settings, TIMEOUT).expect("valid settings")
}

async fn send(
    channel: &SmtpChannel,
    message: &OutgoingMessage,
) -> Result<ApiResponse, TransportError> {
    channel.send(&Token::new(PASSWORD.into()), message).await
}

/// The server's side may lag the client's by a moment (a connection the
/// relay cut); wait up to 2 s for `count` messages.
async fn received_eventually(server: &TestServer, count: usize) -> Vec<Received> {
    for _ in 0..200 {
        let received = server.received();
        if received.len() >= count {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.received()
}

fn sent(result: Result<ApiResponse, TransportError>) -> ApiResponse {
    let response = result.expect("a reply");
    assert_eq!(response.class, ResponseClass::Sent, "{response:?}");
    response
}

#[tokio::test]
async fn plain_delivery_carries_the_exact_message() {
    let server = TestServer::plain();
    let channel = channel(&settings(server.port, TlsMode::None));
    let mut outgoing = message("bob@example.net", 1);
    outgoing.html = Some("<p>Hi <b>there</b></p>".into());

    let response = sent(send(&channel, &outgoing).await);
    assert_eq!(response.status, 250);
    assert_eq!(
        response.message_id.as_deref(),
        Some("<outreach-key-1@example.com>")
    );
    assert_eq!(response.body_excerpt, "2.0.0 OK queued");

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "ada@example.com");
    assert_eq!(received[0].to, ["bob@example.net"]);
    let parsed = parse_mail(&received[0].data).unwrap();
    let header = |name: &str| parsed.headers.get_first_value(name);
    assert_eq!(
        header("From").as_deref(),
        Some("\"Ada Lovelace\" <ada@example.com>")
    );
    assert_eq!(header("To").as_deref(), Some("bob@example.net"));
    assert_eq!(header("Subject").as_deref(), Some("Hello #1"));
    assert_eq!(
        header("Message-ID").as_deref(),
        Some("<outreach-key-1@example.com>")
    );
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    assert_eq!(
        parsed.subparts[0].get_body().unwrap().replace("\r\n", "\n"),
        "Hi there,\nthis is message 1.\n"
    );
    assert_eq!(parsed.subparts[1].ctype.mimetype, "text/html");
    assert!(
        parsed.subparts[1]
            .get_body()
            .unwrap()
            .contains("<p>Hi <b>there</b></p>")
    );
}

#[tokio::test]
async fn starttls_and_both_password_logins_deliver() {
    let pki = Arc::new(TestPki::new());
    for mechanism in [AuthMechanism::Plain, AuthMechanism::Login] {
        let server = TestServer::start(ServerOptions {
            tls: Some(pki.clone()),
            login: Some(("ada".into(), PASSWORD.into())),
            mechanisms: vec![mechanism.clone()],
        });
        let channel = channel(&secure_settings(server.port, &pki));
        sent(send(&channel, &message("bob@example.net", 1)).await);
        // mailin offers AUTH only once STARTTLS is done, so a login that
        // worked went over TLS.
        assert_eq!(server.received().len(), 1, "{mechanism:?}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_a_refused_login_and_never_shown() {
    let pki = Arc::new(TestPki::new());
    for mechanism in [AuthMechanism::Plain, AuthMechanism::Login] {
        let server = TestServer::start(ServerOptions {
            tls: Some(pki.clone()),
            login: Some(("ada".into(), "another-password".into())),
            mechanisms: vec![mechanism.clone()],
        });
        let channel = channel(&secure_settings(server.port, &pki));
        let response = send(&channel, &message("bob@example.net", 1))
            .await
            .unwrap();
        assert_eq!(response.status, 535, "{mechanism:?}");
        assert_eq!(response.class, ResponseClass::AuthRefused);
        assert!(response.body_excerpt.contains("not accepted"));
        let shown = format!("{response:?} {channel:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(server.received().is_empty());
    }
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let pki = TestPki::new();
    let server = TestServer::plain();
    let relay = Relay::start_tls(server.port, &pki).await;
    let settings = SmtpSettings {
        root_certificate: Some(pki.ca_path.clone()),
        ..settings(relay.port, TlsMode::Tls)
    };
    sent(send(&channel(&settings), &message("bob@example.net", 1)).await);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn tls_that_cannot_be_trusted_or_had_is_unreachable() {
    let pki = Arc::new(TestPki::new());
    let with_tls = TestServer::start(ServerOptions {
        tls: Some(pki.clone()),
        ..ServerOptions::default()
    });
    // The system's roots do not know the test CA.
    let untrusted = settings(with_tls.port, TlsMode::Starttls);
    let without_tls = TestServer::plain();
    let no_starttls = SmtpSettings {
        root_certificate: Some(pki.ca_path.clone()),
        ..settings(without_tls.port, TlsMode::Starttls)
    };
    for (settings, expected) in [(untrusted, "certificate"), (no_starttls, "STARTTLS")] {
        let error = send(&channel(&settings), &message("bob@example.net", 1))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, TransportError::Unreachable { cause, .. } if cause.contains(expected)),
            "{error}"
        );
        assert!(!error.maybe_delivered());
    }
    assert!(with_tls.received().is_empty() && without_tls.received().is_empty());
}

#[tokio::test]
async fn xoauth2_needs_a_server_that_offers_it() {
    let pki = Arc::new(TestPki::new());
    let server = TestServer::start(ServerOptions {
        tls: Some(pki.clone()),
        login: Some(("ada".into(), PASSWORD.into())),
        mechanisms: Vec::new(),
    });
    let settings = SmtpSettings {
        auth: AuthMethod::Xoauth2,
        ..secure_settings(server.port, &pki)
    };
    let error = send(&channel(&settings), &message("bob@example.net", 1))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("XOAUTH2"), "{error}");
    assert!(!error.to_string().contains(PASSWORD));
}

#[tokio::test]
async fn one_session_carries_every_message_without_stalls() {
    let server = TestServer::plain();
    let channel = channel(&settings(server.port, TlsMode::None));
    let started = std::time::Instant::now();
    for number in 0..40 {
        let outgoing = message(&format!("r{number}@example.net"), number);
        sent(send(&channel, &outgoing).await);
    }
    // Well under 1 ms a message here; sent in two writes, each message
    // waited ~40 ms for a delayed ACK (transaction.rs, `DataBlock`).
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "{elapsed:?} for 40 messages"
    );
    assert_eq!(server.received().len(), 40);
    assert_eq!(server.sessions(), 1);
}

#[tokio::test]
async fn lines_that_start_with_a_dot_arrive_intact() {
    let server = TestServer::plain();
    let channel = channel(&settings(server.port, TlsMode::None));
    let mut outgoing = message("bob@example.net", 1);
    outgoing.payload.body = ".hidden\n.\nlast line\n".into();
    sent(send(&channel, &outgoing).await);
    let received = server.received();
    let parsed = parse_mail(&received[0].data).unwrap();
    assert_eq!(
        parsed.get_body().unwrap().replace("\r\n", "\n"),
        ".hidden\n.\nlast line\n"
    );
}

#[tokio::test]
async fn a_421_throttles_and_the_next_message_opens_a_new_session() {
    let server = TestServer::plain();
    let channel = channel(&settings(server.port, TlsMode::None));
    sent(send(&channel, &message("a@example.net", 1)).await);
    server.reply_to_next_message(421, "4.7.0 Try again later, closing connection.");
    let throttled = send(&channel, &message("b@example.net", 2)).await.unwrap();
    assert_eq!(throttled.status, 421);
    assert_eq!(throttled.class, ResponseClass::Throttled);
    assert_eq!(
        throttled.status_text,
        "Service not available, closing the connection (4.7.0)"
    );
    sent(send(&channel, &message("b@example.net", 2)).await);
    assert_eq!(server.sessions(), 2);
    let recipients: Vec<_> = server
        .received()
        .into_iter()
        .map(|m| m.to[0].clone())
        .collect();
    assert_eq!(recipients, ["a@example.net", "b@example.net"]);
}

#[tokio::test]
async fn recipient_replies_throttle_or_fail_that_recipient() {
    let server = TestServer::plain();
    server.reply_to_recipient("busy@example.net", 452, "4.5.3 Too many recipients for now");
    server.reply_to_recipient("nobody@example.net", 550, "5.1.1 No such user here");
    let channel = channel(&settings(server.port, TlsMode::None));

    let busy = send(&channel, &message("busy@example.net", 1))
        .await
        .unwrap();
    assert_eq!((busy.status, busy.class), (452, ResponseClass::Throttled));
    let gone = send(&channel, &message("nobody@example.net", 2))
        .await
        .unwrap();
    assert_eq!((gone.status, gone.class), (550, ResponseClass::Permanent));
    assert_eq!(gone.body_excerpt, "5.1.1 No such user here");
    sent(send(&channel, &message("ok@example.net", 3)).await);

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["ok@example.net"]);
}

#[tokio::test]
async fn a_session_dropped_while_idle_is_reopened_transparently() {
    let server = TestServer::plain();
    let relay = Relay::start(server.port).await;
    let channel = channel(&settings(relay.port, TlsMode::None));
    sent(send(&channel, &message("a@example.net", 1)).await);
    relay.cut_all().await;
    sent(send(&channel, &message("b@example.net", 2)).await);
    assert_eq!(relay.connections(), 2);
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_drop_after_the_data_may_have_delivered_and_is_not_resent() {
    let server = TestServer::plain();
    let relay = Relay::start(server.port).await;
    let channel = channel(&settings(relay.port, TlsMode::None));
    relay.drop_after_next_message();
    let error = send(&channel, &message("a@example.net", 1))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Interrupted(_)), "{error}");
    assert!(error.maybe_delivered());
    // The server did take it: exactly why the outcome is uncertain.
    assert_eq!(received_eventually(&server, 1).await.len(), 1);
    assert_eq!(relay.connections(), 1, "not resent on a new session");

    sent(send(&channel, &message("b@example.net", 2)).await);
    assert_eq!(relay.connections(), 2);
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn no_reply_to_the_data_is_a_timeout() {
    let server = TestServer::plain();
    let relay = Relay::start(server.port).await;
    let quick = Duration::from_millis(300);
    let channel = SmtpChannel::new(&settings(relay.port, TlsMode::None), quick).unwrap();
    relay.silence_after_next_message();
    let error = send(&channel, &message("a@example.net", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(error, TransportError::Timeout(d) if d == quick),
        "{error}"
    );
    assert!(error.maybe_delivered());
    assert_eq!(received_eventually(&server, 1).await.len(), 1);
}

#[tokio::test]
async fn a_connection_lost_before_the_data_was_not_delivered() {
    let server = TestServer::plain();
    let relay = Relay::start(server.port).await;
    let channel = channel(&settings(relay.port, TlsMode::None));
    sent(send(&channel, &message("a@example.net", 1)).await);
    relay.drop_at_mail_from();
    let error = send(&channel, &message("b@example.net", 2))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TransportError::Unreachable { cause, .. } if cause.contains("before the message was sent")),
        "{error}"
    );
    assert!(!error.maybe_delivered());
    // The held session failed, one new session was tried, then no more.
    assert_eq!(relay.connections(), 2);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_refused_port_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = send(
        &channel(&settings(port, TlsMode::None)),
        &message("a@example.net", 1),
    )
    .await
    .unwrap_err();
    match &error {
        TransportError::Unreachable { host, .. } => assert_eq!(host, &format!("127.0.0.1:{port}")),
        other => panic!("{other}"),
    }
    assert!(!error.maybe_delivered());
}

#[tokio::test]
async fn a_recipient_that_is_no_address_is_refused_without_connecting() {
    let server = TestServer::plain();
    let channel = channel(&settings(server.port, TlsMode::None));
    let response = send(&channel, &message("urn:li:person:12345", 1))
        .await
        .unwrap();
    assert_eq!(response.class, ResponseClass::Permanent);
    assert!(
        response
            .body_excerpt
            .contains("not sent, refused by outreach")
    );
    assert_eq!(server.sessions(), 0);
}

#[test]
fn a_missing_root_certificate_is_named_before_anything_is_sent() {
    let settings = SmtpSettings {
        root_certificate: Some("/nonexistent/ca.pem".into()),
        ..settings(2525, TlsMode::Starttls)
    };
    let error =
        SmtpChannel::with_config_key(&settings, "accounts.alice.smtp", TIMEOUT).unwrap_err();
    assert_eq!(error.key, "accounts.alice.smtp.root_certificate");
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}
