//! Delivery: every recipient once, with the headers a mail system needs,
//! over a plain connection and over STARTTLS with a login; the password in
//! its variable only; the quick start with no mail server at all.

use crate::harness::{
    FROM, FROM_NAME, PASSWORD, Security, USER, Workdir, envelope, header, mailbox, parts,
    received_recipients, roomy, sent_message_id, smtp, sorted, to, with_login,
};

#[tokio::test(flavor = "multi_thread")]
async fn plain_delivers_every_recipient_once_with_its_headers() {
    let sandbox = smtp(roomy()).await;
    let work = Workdir::new();
    let recipients = work.smtp_campaign(&sandbox, Security::Plain, 5, "");

    let out = work.send().opt("--rate", "20/s").run().await;

    out.expect_code(0).expect_stderr("Sent 5 of 5 messages");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");
    for (index, recipient) in recipients.iter().enumerate() {
        let message = to(&messages, recipient)[0];
        let smtp = envelope(message);
        assert_eq!(smtp.mail_from, USER);
        assert!(!smtp.tls, "a plain connection");
        assert_eq!(
            mailbox(message, "From"),
            (FROM_NAME.to_string(), USER.to_string())
        );
        assert_eq!(mailbox(message, "To").1, *recipient);
        let subject = format!("Hello Name{index}");
        assert_eq!(header(message, "Subject"), Some(subject));
        assert_eq!(message.body, format!("Hi Name{index}, a short note."));
        // The Message-ID is derived from the idempotency key, in the
        // sender's domain, and is what the `sent` event reports.
        let message_id = smtp.message_id.clone().expect("a Message-ID");
        assert!(
            message_id.starts_with("<outreach-") && message_id.ends_with("@acme.test>"),
            "{message_id}"
        );
        assert_eq!(header(message, "Message-ID"), Some(message_id.clone()));
        assert_eq!(sent_message_id(&out, recipient), message_id);
        // Without an HTML sibling: one text part, no multipart.
        assert_eq!(parts(message)[0].0, "text/plain");
        assert_eq!(header(message, "List-Unsubscribe"), None);
    }
    let stats = sandbox.stats();
    assert_eq!((stats.accepted, stats.duplicates), (5, 0));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn starttls_with_a_login_sends_html_and_unsubscribe_headers_and_keeps_the_password_secret() {
    let sandbox = smtp(with_login()).await;
    let work = Workdir::new();
    let recipients = work.smtp_campaign(
        &sandbox,
        Security::StartTlsLogin,
        3,
        "reply_to = \"replies@acme.test\"\n\
         list_unsubscribe = { mailto = \"unsubscribe@acme.test\", url = \"https://acme.test/u/{idempotency_key}\" }\n",
    );
    work.write("message.html", "<p>Hi <b>{{ first_name }}</b></p>\n");

    let out = work.send().opt("--rate", "20/s").run().await;

    out.expect_code(0).expect_stderr("Sent 3 of 3 messages");
    let messages = sandbox.messages();
    assert_eq!(received_recipients(&messages), sorted(&recipients), "{out}");
    for (index, recipient) in recipients.iter().enumerate() {
        let message = to(&messages, recipient)[0];
        assert!(envelope(message).tls, "sent after STARTTLS");
        // The sandbox counts a logged-in message against its user.
        assert_eq!(message.account, USER);
        assert_eq!(mailbox(message, "Reply-To").1, "replies@acme.test");
        let mime: Vec<(String, String)> = parts(message);
        let types: Vec<&str> = mime.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            types,
            ["multipart/alternative", "text/plain", "text/html"],
            "{message:?}"
        );
        assert_eq!(
            mime[1].1.trim_end(),
            format!("Hi Name{index}, a short note.")
        );
        assert_eq!(
            mime[2].1.trim_end(),
            format!("<p>Hi <b>Name{index}</b></p>")
        );
        let message_id = envelope(message).message_id.clone().expect("Message-ID");
        let key = message_id
            .trim_start_matches('<')
            .split('@')
            .next()
            .expect("key");
        let unsubscribe = header(message, "List-Unsubscribe").expect("List-Unsubscribe");
        assert_eq!(
            unsubscribe.split_whitespace().collect::<String>(),
            format!("<mailto:unsubscribe@acme.test>,<https://acme.test/u/{key}>")
        );
        assert_eq!(
            header(message, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
    }
    assert_eq!(sandbox.stats().auth_failures, 0);
    // The password was in the environment only: not on screen, not in the
    // events, the journal or any other file the run wrote.
    assert!(
        !out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD),
        "{out}"
    );
    for (path, bytes) in work.files() {
        assert!(
            !bytes
                .windows(PASSWORD.len())
                .any(|w| w == PASSWORD.as_bytes()),
            "the password is in {}",
            path.display()
        );
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quick_start_sends_e_mail_with_no_mail_server() {
    // A real account's settings; `endpoint = "sandbox"` replaces the server
    // and the login with a local SMTP sandbox, and needs no password.
    let work = Workdir::new();
    work.write(
        "outreach.toml",
        format!(
            "endpoint = \"sandbox\"\n\n[channel]\ntype = \"smtp\"\nhost = \"smtp.gmail.com\"\n\
             tls = \"starttls\"\nusername = \"{USER}\"\nfrom = \"{FROM}\"\n"
        ),
    );
    let recipients = work.recipients(4);

    let out = work
        .cmd(&["send", "data.csv"])
        .opt("--template", "message.txt")
        .opt("--rate", "20/s")
        .flag("--no-progress")
        .opt("--events", "events.jsonl")
        .run()
        .await;

    out.expect_code(0)
        .expect_stderr("embedded SMTP sandbox at 127.0.0.1:")
        .expect_stderr("Sent 4 of 4 messages");
    assert_eq!(out.recipients("sent"), sorted(&recipients), "{out}");
    for recipient in &recipients {
        let message_id = sent_message_id(&out, recipient);
        assert!(message_id.ends_with("@acme.test>"), "{message_id}");
    }
    let status = work.status();
    assert_eq!(status["sent"], 4, "{status}");
}
