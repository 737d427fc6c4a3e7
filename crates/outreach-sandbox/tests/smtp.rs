//! The SMTP sandbox end to end, with lettre (tokio + rustls) as the client,
//! on 127.0.0.1 only. Each test starts its own server on a free port.

mod smtp_client;

use std::time::Duration;

use lettre::transport::smtp::authentication::Mechanism;
use lettre::{AsyncTransport, Message};
use outreach_sandbox::faults::{FaultDice, FaultRates};
use outreach_sandbox::smtp::{SmtpConfig, SmtpSandbox, SmtpStats, SmtpUser, ThrottleReply};
use outreach_sandbox::{MessageLog, Sandbox, SandboxConfig};
use smtp_client::{RawSession, code, login, plain, send, start, starttls};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn plain_delivery_is_recorded_with_envelope_and_headers() {
    let smtp = start(SmtpConfig::default()).await;
    let client = plain(&smtp);
    let reply = send(&client, "alan@example.com", "k-1").await.unwrap();
    assert_eq!(reply, "250 2.0.0 OK: queued as msg_000001");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.recipients, ["alan@example.com"]);
    // Without AUTH the limit, and the account, are the envelope sender's.
    assert_eq!(message.account, "ada@outreach.test");
    assert_eq!(message.subject.as_deref(), Some("Hello alan@example.com"));
    assert_eq!(
        message.body,
        "Hi alan@example.com,\n.a line starting with a dot"
    );
    let envelope = message.smtp.as_ref().expect("an SMTP envelope");
    assert_eq!(envelope.mail_from, "Ada@Outreach.test");
    assert_eq!(envelope.message_id.as_deref(), Some("<k-1@outreach.test>"));
    assert_eq!(envelope.duplicate_of, None);
    assert!(!envelope.tls);
    assert!(envelope.raw.contains("Subject: Hello alan@example.com\r\n"));
    assert!(envelope.raw.contains("Message-ID: <k-1@outreach.test>\r\n"));
    assert!(envelope.raw.contains("\r\n.a line starting with a dot"));
    assert_eq!(
        smtp.stats(),
        SmtpStats {
            accepted: 1,
            ..SmtpStats::default()
        }
    );
    smtp.shutdown().await;
}

#[tokio::test]
async fn starttls_with_the_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("sandbox-cert.pem");
    let smtp = start(SmtpConfig {
        cert_out: Some(cert_path.clone()),
        ..SmtpConfig::default()
    })
    .await;
    let written = std::fs::read_to_string(&cert_path).unwrap();
    assert_eq!(written, smtp.certificate_pem());

    let reply = send(&starttls(&smtp, &written), "b@example.com", "tls-1").await;
    assert!(reply.unwrap().starts_with("250 "));
    let messages = smtp.messages();
    assert!(messages[0].smtp.as_ref().unwrap().tls);
    assert_eq!(messages[0].subject.as_deref(), Some("Hello b@example.com"));

    // A client trusting another certificate refuses the handshake: nothing sent.
    let other = start(SmtpConfig::default()).await;
    let error = send(
        &starttls(&smtp, other.certificate_pem()),
        "c@example.com",
        "tls-2",
    )
    .await
    .unwrap_err();
    assert!(error.status().is_none(), "{error}");
    assert!(
        error.to_string().contains("invalid peer certificate"),
        "{error}"
    );
    assert_eq!(smtp.messages().len(), 1);
    other.shutdown().await;
    smtp.shutdown().await;
}

#[tokio::test]
async fn auth_plain_and_login_accept_the_right_password_and_535_the_wrong_one() {
    let smtp = start(SmtpConfig {
        users: vec![
            SmtpUser::new("alice", "pw-alice"),
            SmtpUser::new("bob", "pw-bob"),
        ],
        ..SmtpConfig::default()
    })
    .await;
    let plain_login = login(&smtp, "alice", "pw-alice", Mechanism::Plain);
    send(&plain_login, "x@example.com", "a-1").await.unwrap();
    let login_login = login(&smtp, "bob", "pw-bob", Mechanism::Login);
    send(&login_login, "y@example.com", "a-2").await.unwrap();

    let wrong = login(&smtp, "alice", "pw-bob", Mechanism::Plain);
    let error = send(&wrong, "z@example.com", "a-3").await.unwrap_err();
    assert_eq!(code(&error), "535");
    assert!(error.is_permanent(), "{error}");
    let wrong_login = login(&smtp, "mallory", "pw-alice", Mechanism::Login);
    assert_eq!(
        code(
            &send(&wrong_login, "z@example.com", "a-4")
                .await
                .unwrap_err()
        ),
        "535"
    );
    // Logging in is required once users exist.
    assert!(send(&plain(&smtp), "z@example.com", "a-5").await.is_err());

    let accounts: Vec<String> = smtp.messages().into_iter().map(|m| m.account).collect();
    assert_eq!(accounts, ["alice", "bob"]);
    assert_eq!(smtp.stats().auth_failures, 2);
    assert_eq!(smtp.stats().accepted, 2);
    smtp.shutdown().await;
}

#[tokio::test]
async fn over_the_limit_421_then_accepted_after_the_window() {
    let smtp = start(SmtpConfig {
        limit: "2/s".parse().unwrap(),
        users: vec![SmtpUser::new("alice", "pw"), SmtpUser::new("bob", "pw-b")],
        ..SmtpConfig::default()
    })
    .await;
    let alice = login(&smtp, "alice", "pw", Mechanism::Plain);
    send(&alice, "a@example.com", "t-1").await.unwrap();
    send(&alice, "b@example.com", "t-2").await.unwrap();
    let error = send(&alice, "c@example.com", "t-3").await.unwrap_err();
    assert_eq!(code(&error), "421");
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("Try again later"), "{error}");
    // The limit is per user: bob is not throttled.
    send(
        &login(&smtp, "bob", "pw-b", Mechanism::Plain),
        "d@example.com",
        "t-4",
    )
    .await
    .unwrap();

    tokio::time::sleep(Duration::from_millis(1_050)).await;
    send(&alice, "c@example.com", "t-3").await.unwrap();
    let stats = smtp.stats();
    assert_eq!((stats.accepted, stats.throttled), (4, 1));
    smtp.shutdown().await;
}

#[tokio::test]
async fn the_451_flag_defers_and_keeps_the_connection() {
    let smtp = start(SmtpConfig {
        limit: "1/h".parse().unwrap(),
        throttle_reply: ThrottleReply::Defer451,
        ..SmtpConfig::default()
    })
    .await;
    let client = plain(&smtp);
    send(&client, "a@example.com", "d-1").await.unwrap();
    let error = send(&client, "b@example.com", "d-2").await.unwrap_err();
    assert_eq!(code(&error), "451");
    assert!(error.to_string().contains("4.7.1"), "{error}");

    // On the wire: the session goes on after the 451.
    let mut session = RawSession::open(&smtp).await;
    session.command("EHLO raw.test").await;
    assert!(
        session
            .command("MAIL FROM:<ada@outreach.test>")
            .await
            .starts_with("451 4.7.1")
    );
    assert!(session.command("NOOP").await.starts_with("250"));
    smtp.shutdown().await;
}

#[tokio::test]
async fn a_rejected_recipient_gets_550_and_the_others_are_accepted() {
    let smtp = start(SmtpConfig {
        reject: vec!["*@bounce.test".parse().unwrap()],
        ..SmtpConfig::default()
    })
    .await;
    let client = plain(&smtp);
    let mut outcomes = Vec::new();
    for (to, key) in [
        ("a@ok.test", "r-1"),
        ("b@Bounce.test", "r-2"),
        ("c@ok.test", "r-3"),
    ] {
        outcomes.push(
            send(&client, to, key)
                .await
                .map_err(|e| (code(&e), e.to_string())),
        );
    }
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
    let (code, text) = outcomes[1].clone().unwrap_err();
    assert_eq!(code, "550");
    assert!(text.contains("5.1.1 User unknown"), "{text}");
    let recipients: Vec<Vec<String>> = smtp.messages().into_iter().map(|m| m.recipients).collect();
    assert_eq!(recipients, [["a@ok.test"], ["c@ok.test"]]);
    assert_eq!(smtp.stats().rejected_recipients, 1);
    smtp.shutdown().await;
}

#[tokio::test]
async fn dropped_after_data_is_recorded_and_a_resend_is_a_duplicate() {
    let smtp = start(SmtpConfig {
        drop: vec!["lost@*".parse().unwrap()],
        ..SmtpConfig::default()
    })
    .await;
    let client = plain(&smtp);
    let error = send(&client, "lost@example.com", "u-1").await.unwrap_err();
    // No reply code: the connection closed where the reply was due.
    assert!(error.status().is_none(), "{error}");
    assert!(!error.is_timeout(), "{error}");
    let messages = smtp.messages();
    assert_eq!(
        messages.len(),
        1,
        "the server recorded the uncertain message"
    );

    // Resending an uncertain message with the same Message-ID is what the
    // duplicate counter is for; another message is not a duplicate.
    send(&plain(&smtp), "found@example.com", "u-2")
        .await
        .unwrap();
    let again = resend_of_u1(&smtp).await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 3);
    let duplicate_of = messages[2].smtp.as_ref().unwrap().duplicate_of.as_deref();
    assert_eq!(duplicate_of, Some(messages[0].id.as_str()));
    assert_eq!(again, "250 2.0.0 OK: queued as msg_000003");
    let stats = smtp.stats();
    assert_eq!((stats.accepted, stats.dropped, stats.duplicates), (3, 1, 1));
    smtp.shutdown().await;
}

/// Resend message u-1 (same Message-ID) to a recipient `--smtp-drop` spares.
async fn resend_of_u1(smtp: &SmtpSandbox) -> String {
    let message = Message::builder()
        .from("Ada Lovelace <Ada@Outreach.test>".parse().unwrap())
        .to("kept@example.com".parse().unwrap())
        .subject("Hello again")
        .message_id(Some("<u-1@outreach.test>".to_string()))
        .body(String::from("again"))
        .unwrap();
    let response = plain(smtp).send(message).await.unwrap();
    format!(
        "{} {}",
        response.code(),
        response.message().collect::<Vec<_>>().join(" ")
    )
}

#[tokio::test]
async fn the_drop_rate_follows_the_seeded_fault_dice() {
    let (drop_rate, seed) = (0.5, 11);
    let smtp = start(SmtpConfig {
        drop_rate,
        seed,
        ..SmtpConfig::default()
    })
    .await;
    let rates = FaultRates {
        fail_rate: 0.0,
        drop_rate,
        latency: None,
    };
    let dice = FaultDice::new(rates, seed);
    let expected: Vec<bool> = (0..8).map(|_| dice.draw().drop).collect();
    assert!(
        expected.contains(&true) && expected.contains(&false),
        "{expected:?}"
    );
    let mut dropped = Vec::new();
    for n in 0..8 {
        let result = send(
            &plain(&smtp),
            &format!("p{n}@example.com"),
            &format!("s-{n}"),
        )
        .await;
        dropped.push(result.is_err());
    }
    assert_eq!(dropped, expected);
    // Every message was recorded, dropped or not; none twice.
    let stats = smtp.stats();
    assert_eq!(stats.accepted, 8);
    assert_eq!(
        stats.dropped,
        expected.iter().filter(|d| **d).count() as u64
    );
    assert_eq!(stats.duplicates, 0);
    smtp.shutdown().await;
}

#[tokio::test]
async fn shutdown_says_421_to_open_sessions_and_frees_the_port() {
    let smtp = start(SmtpConfig::default()).await;
    let addr = smtp.addr();
    assert!(addr.ip().is_loopback());
    let mut session = RawSession::open(&smtp).await;
    let ehlo = session.command("EHLO raw.test").await;
    assert!(
        ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );

    let started = std::time::Instant::now();
    smtp.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(session.reply().await.starts_with("421 4.3.2"));
    TcpListener::bind(addr)
        .await
        .expect("the port is free again");
}

#[tokio::test]
async fn ehlo_offers_auth_only_with_users() {
    let smtp = start(SmtpConfig {
        users: vec![SmtpUser::new("alice", "pw")],
        ..SmtpConfig::default()
    })
    .await;
    let mut session = RawSession::open(&smtp).await;
    let ehlo = session.command("EHLO raw.test").await;
    assert!(
        ehlo.contains("AUTH PLAIN LOGIN") && ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    // MAIL before logging in is out of sequence.
    let mail = "MAIL FROM:<a@x.io>";
    assert!(session.command(mail).await.starts_with("503"));
    // AUTH PLAIN with "\0alice\0pw" in base64.
    let auth = session.command("AUTH PLAIN AGFsaWNlAHB3").await;
    assert!(auth.starts_with("235 2.7.0"), "{auth}");
    assert!(session.command(mail).await.starts_with("250 2.1.0"));
    // mailin forgets the login on RSET (docs/sandbox.md, limits).
    assert!(session.command("RSET").await.starts_with("250"));
    assert!(session.command(mail).await.starts_with("503"));
    assert_eq!(smtp.stats().accepted, 0);
    smtp.shutdown().await;
}

#[tokio::test]
async fn beside_the_http_api_emails_are_listed_in_its_messages() {
    let http = Sandbox::start(
        SandboxConfig {
            quiet: true,
            ..SandboxConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let log: MessageLog = http.message_log();
    let smtp = SmtpSandbox::start_with_log(
        SmtpConfig {
            quiet: true,
            ..SmtpConfig::default()
        },
        log,
    )
    .await
    .unwrap();
    send(&plain(&smtp), "alan@example.com", "h-1")
        .await
        .unwrap();

    let mut stream = TcpStream::connect(http.addr()).await.unwrap();
    stream
        .write_all(b"GET /_sandbox/messages HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (_, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let listed: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(listed[0]["id"], "msg_000001");
    assert_eq!(listed[0]["recipients"][0], "alan@example.com");
    assert_eq!(listed[0]["smtp"]["message_id"], "<h-1@outreach.test>");
    assert_eq!(listed[0]["smtp"]["mail_from"], "Ada@Outreach.test");
    assert_eq!(http.messages(), smtp.messages());
    smtp.shutdown().await;
    http.shutdown().await;
}
