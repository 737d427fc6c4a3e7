//! Messages as they arrive in the sender's inbox, shaped like the real
//! thing (the unit tests in src/reply/ hold the fuller samples).

/// A person's reply from `from`, answering `in_reply_to` if given.
pub fn reply(from: &str, in_reply_to: Option<&str>) -> String {
    let threading = in_reply_to
        .map(|id| format!("In-Reply-To: {id}\nReferences: {id}\n"))
        .unwrap_or_default();
    format!(
        "From: Someone <{from}>\nTo: Ann Example <ann@acme.test>\nSubject: Re: Hello\n\
         Date: Mon, 30 Nov 2026 10:00:00 +0000\nMessage-ID: <reply-{}@mail.test>\n{threading}\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nThanks, let's talk.\n",
        from.replace('@', ".")
    )
}

/// An out-of-office answer from `from` to our `in_reply_to`.
pub fn vacation(from: &str, in_reply_to: &str) -> String {
    format!(
        "From: <{from}>\nTo: ann@acme.test\nSubject: Re: Hello\nAuto-Submitted: auto-replied\n\
         In-Reply-To: {in_reply_to}\nMessage-ID: <away-1@mail.test>\n\
         Date: Mon, 30 Nov 2026 10:00:00 +0000\n\nI am away until Monday.\n"
    )
}

/// A delivery status notification (RFC 3464): `recipient` failed with 5.1.1.
pub fn dsn(recipient: &str, message_id: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.acme.test (Mail Delivery System)\nTo: ann@acme.test\n\
         Subject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\n\
         Date: Mon, 30 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\n\n\
         --B1\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n\
         --B1\nContent-Type: message/delivery-status\n\n\
         Reporting-MTA: dns; mx.acme.test\n\n\
         Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n\
         Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: user unknown\n\n\
         --B1\nContent-Type: text/rfc822-headers\n\n\
         From: ann@acme.test\nTo: {recipient}\nMessage-ID: {message_id}\n\n--B1--\n"
    )
}

/// exim's bounce without DSN structure, naming `recipient`.
pub fn exim_bounce(recipient: &str) -> String {
    format!(
        "From: Mail Delivery System <Mailer-Daemon@mx.acme.test>\nTo: ann@acme.test\n\
         X-Failed-Recipients: {recipient}\nAuto-Submitted: auto-replied\n\
         Subject: Mail delivery failed: returning message to sender\n\
         Date: Mon, 30 Nov 2026 10:00:00 +0000\n\n\
         This message was created automatically by mail delivery software.\n\n\
         A message that you sent could not be delivered to one or more of its\n\
         recipients. This is a permanent error. The following address(es) failed:\n\n  \
         {recipient}\n    550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\n"
    )
}
