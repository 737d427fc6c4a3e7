//! Classification of real-shaped inbox messages (`samples/`), each as an
//! IMAP server hands it over: the header block, then the body if fetched.

use super::*;
use crate::reply::matching::CampaignIndex;

/// The header block (with its blank line) and the body, in CRLF as IMAP
/// sends them.
fn split(raw: &str) -> (Vec<u8>, Vec<u8>) {
    let crlf = raw.replace('\n', "\r\n");
    let at = crlf.find("\r\n\r\n").expect("a header block") + 4;
    (
        crlf.as_bytes()[..at].to_vec(),
        crlf.as_bytes()[at..].to_vec(),
    )
}

/// Classified as the fetcher does: the body only when the header asks.
fn verdict(raw: &str) -> Verdict {
    let (header, body) = split(raw);
    let body = needs_body(&header).then_some(body.as_slice());
    classify(&header, body)
}

fn index() -> CampaignIndex {
    let mut index = CampaignIndex::default();
    for (n, recipient) in [
        "ann@acme.test",
        "bob.weber@beta.test",
        "carol@gamma.test",
        "dave@delta.test",
        "erin@epsilon.test",
    ]
    .iter()
    .enumerate()
    {
        index.add(recipient, Some(&format!("<k-{}@outreach.test>", n + 1)));
    }
    index
}

#[test]
fn a_gmail_reply_references_our_message() {
    let Verdict::Reply(reply) = verdict(include_str!("samples/gmail_reply.eml")) else {
        panic!("a reply");
    };
    assert_eq!(reply.from.as_deref(), Some("ann@acme.test"));
    assert_eq!(reply.references, ["k-1@outreach.test"]);
    assert_eq!(
        reply.message_id.as_deref(),
        Some("CAJx9Fq0sZ+u3s5KQ2@mail.gmail.com")
    );
    assert!(!needs_body(
        &split(include_str!("samples/gmail_reply.eml")).0
    ));
    let found = index().decide(&Verdict::Reply(reply));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].recipient, "ann@acme.test");
    assert_eq!(found[0].reason, "replied");
}

#[test]
fn an_outlook_reply_with_folded_references_names_every_id() {
    let Verdict::Reply(reply) = verdict(include_str!("samples/outlook_reply.eml")) else {
        panic!("a reply");
    };
    assert_eq!(reply.from.as_deref(), Some("Bob.Weber@Beta.test"));
    assert_eq!(reply.references, ["k-2@outreach.test", "k-0@outreach.test"]);
    let found = index().decide(&Verdict::Reply(reply));
    assert_eq!(
        found.len(),
        1,
        "the reference and the address are one person: {found:?}"
    );
    assert_eq!(found[0].recipient, "bob.weber@beta.test");
}

#[test]
fn a_delivery_status_notification_bounces_its_failed_recipient() {
    let Verdict::Bounce(bounce) = verdict(include_str!("samples/postfix_dsn.eml")) else {
        panic!("a bounce");
    };
    assert!(bounce.structured);
    assert_eq!(bounce.failed.len(), 1);
    assert_eq!(bounce.failed[0].address, "Carol@Gamma.test");
    assert_eq!(bounce.failed[0].status.as_deref(), Some("5.1.1"));
    assert!(
        bounce.failed[0]
            .diagnostic
            .as_deref()
            .unwrap()
            .starts_with("smtp; 550 5.1.1")
    );
    assert_eq!(bounce.references, ["k-3@outreach.test"]);
    let found = index().decide(&Verdict::Bounce(bounce));
    assert_eq!(found[0].recipient, "carol@gamma.test");
    assert_eq!(found[0].reason, "bounced: 5.1.1 user unknown");
}

#[test]
fn a_report_cut_short_still_reads_its_delivery_status() {
    let (header, body) = split(include_str!("samples/postfix_dsn.eml"));
    let cut = String::from_utf8_lossy(&body);
    let cut = &cut[..cut
        .find("Content-Description: Undelivered Message Headers")
        .unwrap()];
    let Verdict::Bounce(bounce) = classify(&header, Some(cut.as_bytes())) else {
        panic!("a bounce");
    };
    assert_eq!(bounce.failed[0].status.as_deref(), Some("5.1.1"));
}

#[test]
fn a_delayed_delivery_report_is_not_a_bounce() {
    let verdict = verdict(include_str!("samples/delayed_dsn.eml"));
    assert!(matches!(verdict, Verdict::Ignored { .. }), "{verdict:?}");
    assert!(index().decide(&verdict).is_empty());
}

#[test]
fn an_exim_bounce_without_dsn_names_x_failed_recipients() {
    let Verdict::Bounce(bounce) = verdict(include_str!("samples/exim_bounce.eml")) else {
        panic!("a bounce");
    };
    assert!(!bounce.structured);
    assert_eq!(bounce.failed[0].address, "dave@delta.test");
    assert_eq!(bounce.failed[0].status.as_deref(), Some("5.2.1"));
    assert_eq!(bounce.references, ["k-4@outreach.test"]);
    let found = index().decide(&Verdict::Bounce(bounce));
    assert_eq!(found[0].reason, "bounced: 5.2.1 mailbox disabled");
}

#[test]
fn a_qmail_failure_notice_is_read_from_its_text() {
    let verdict = verdict(include_str!("samples/qmail_bounce.eml"));
    let Verdict::Bounce(bounce) = &verdict else {
        panic!("a bounce: {verdict:?}");
    };
    assert_eq!(bounce.failed[0].address, "erin@epsilon.test");
    // qmail gives a bare 550 without an enhanced code.
    assert_eq!(bounce.failed[0].status, None);
    let found = index().decide(&verdict);
    assert_eq!(found.len(), 1, "only campaign recipients: {found:?}");
    assert_eq!(found[0].recipient, "erin@epsilon.test");
    assert_eq!(found[0].reason, "bounced");
}

#[test]
fn out_of_office_answers_do_not_stop_anyone() {
    for (name, raw, why) in [
        (
            "gmail vacation",
            include_str!("samples/gmail_vacation.eml"),
            "Auto-Submitted: auto-replied",
        ),
        (
            "outlook automatic reply",
            include_str!("samples/outlook_ooo.eml"),
            "subject `Automatic reply: Quick question about Beta`",
        ),
    ] {
        let verdict = verdict(raw);
        let Verdict::Automatic {
            why: found_why,
            from,
        } = &verdict
        else {
            panic!("{name}: {verdict:?}");
        };
        assert_eq!(found_why, why, "{name}");
        assert!(from.is_some(), "{name}");
        assert!(index().decide(&verdict).is_empty(), "{name}");
    }
}

#[test]
fn auto_submitted_no_is_a_person() {
    let raw = "From: ann@acme.test\nAuto-Submitted: no\nIn-Reply-To: <k-1@outreach.test>\nSubject: Re: hi\n\nyes\n";
    assert!(matches!(verdict(raw), Verdict::Reply(_)));
}

#[test]
fn garbage_is_a_reply_about_nobody() {
    let verdict = classify(b"Subject: hello\r\n\r\n", None);
    assert!(index().decide(&verdict).is_empty(), "{verdict:?}");
}
