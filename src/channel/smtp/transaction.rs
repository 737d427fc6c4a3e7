//! One mail transaction on an open session: `MAIL FROM`, `RCPT TO`, `DATA`,
//! the message, and the server's reply to it.
//!
//! The steps are driven one by one (lettre's `AsyncSmtpConnection::command`
//! and `message`) rather than with lettre's all-in-one `send`, because the
//! step a failure happens at decides whether the message may have been
//! delivered, and `send` returns the same error for all of them:
//!
//! - Before the message content is sent (`MAIL FROM`, `RCPT TO`, the `DATA`
//!   command and its 354): the server has nothing to deliver. A lost
//!   connection or a missing reply here means **not delivered**.
//! - Once the content is being sent, until the reply after the final `.`:
//!   the server may have received the whole message and queued it even if
//!   its reply never arrives. A lost connection or a missing reply here means
//!   **maybe delivered**. The content and the final `.` go in one write
//!   ([`DataBlock`]), and a write that fails may still have delivered part
//!   or all of it, so every failure in this step is taken as maybe
//!   delivered, the conservative reading.
//!
//! lettre encodes every body as 7-bit (quoted-printable or base64) and every
//! header as RFC 2047, so no message needs `BODY=8BITMIME` or SMTPUTF8
//! (checked by `message::tests::non_ascii_text_survives_the_round_trip`).

use std::time::Duration;

use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};

use super::message::Email;
use super::replies::{Reply, Stage};

/// Why a transaction did not end with a positive reply.
#[derive(Debug)]
pub(crate) enum TransactionFailure {
    /// The server answered a step with a negative reply.
    Refused { reply: Reply, stage: Stage },
    /// The connection failed, or a reply did not come, before the content
    /// was sent: not delivered.
    NotSent { cause: String },
    /// The connection failed while or after the content was sent, before the
    /// reply: maybe delivered.
    Interrupted { cause: String },
    /// No reply to the content in time: maybe delivered.
    TimedOut,
}

/// Run one transaction for `email`; each step waits at most `timeout`.
pub(crate) async fn deliver(
    connection: &mut AsyncSmtpConnection,
    email: &Email,
    timeout: Duration,
) -> Result<Reply, TransactionFailure> {
    let step = Step { timeout };
    step.run(
        Stage::Sender,
        "MAIL FROM",
        connection.command(Mail::new(Some(email.from.clone()), Vec::new())),
    )
    .await?;
    for recipient in &email.recipients {
        step.run(
            Stage::Recipient,
            "RCPT TO",
            connection.command(Rcpt::new(recipient.clone(), Vec::new())),
        )
        .await?;
    }
    step.run(Stage::Data, "DATA", connection.command(Data))
        .await?;
    let content = connection.command(DataBlock::of(&email.formatted));
    step.run(Stage::Content, "the message", content).await
}

/// The message as it goes after `DATA`, in one piece: dot-stuffed (a line
/// that starts with `.` gets one more, RFC 5321 section 4.5.2) and ended by
/// the line `.`.
///
/// One piece because lettre's `message` writes the content and the final
/// `.` in two writes: the second, small one then waits (Nagle) for the
/// server to acknowledge the first, which the server delays (up to 40 ms on
/// Linux), since it has nothing to answer until the final `.`. That cost
/// 45 ms per message, capping a campaign near 20 messages a second.
struct DataBlock(String);

impl DataBlock {
    fn of(formatted: &[u8]) -> DataBlock {
        // The e-mail is ASCII (see the module docs); lossy is only a guard.
        let text = String::from_utf8_lossy(formatted);
        let mut block = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive("\r\n") {
            if line.starts_with('.') {
                block.push('.');
            }
            block.push_str(line);
        }
        if !block.is_empty() && !block.ends_with("\r\n") {
            block.push_str("\r\n");
        }
        block.push_str(".\r\n");
        DataBlock(block)
    }
}

impl std::fmt::Display for DataBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

struct Step {
    timeout: Duration,
}

impl Step {
    async fn run(
        &self,
        stage: Stage,
        name: &str,
        future: impl Future<
            Output = Result<
                lettre::transport::smtp::response::Response,
                lettre::transport::smtp::Error,
            >,
        >,
    ) -> Result<Reply, TransactionFailure> {
        let content_sent = stage == Stage::Content;
        match tokio::time::timeout(self.timeout, future).await {
            Ok(Ok(response)) => Ok(Reply::from_response(&response)),
            Ok(Err(error)) => Err(match Reply::from_error(&error) {
                Some(reply) => TransactionFailure::Refused { reply, stage },
                None if content_sent => TransactionFailure::Interrupted {
                    cause: error.to_string(),
                },
                None => TransactionFailure::NotSent {
                    cause: format!("at {name}: {error}"),
                },
            }),
            Err(_) if content_sent => Err(TransactionFailure::TimedOut),
            Err(_) => Err(TransactionFailure::NotSent {
                cause: format!(
                    "no reply to {name} within {}",
                    humantime::format_duration(self.timeout)
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the server stores: the block without its final `.` line, each
    /// line's stuffed dot removed.
    fn unstuffed(block: &str) -> String {
        let body = block
            .strip_suffix(".\r\n")
            .expect("ends with the final dot");
        body.split_inclusive("\r\n")
            .map(|line| line.strip_prefix('.').unwrap_or(line))
            .collect()
    }

    #[test]
    fn lines_starting_with_a_dot_get_one_more() {
        let block = DataBlock::of(b".hidden\r\nplain\r\n.\r\n..two\r\n").0;
        assert_eq!(block, "..hidden\r\nplain\r\n..\r\n...two\r\n.\r\n");
        assert_eq!(DataBlock::of(b"no line end").0, "no line end\r\n.\r\n");
        assert_eq!(DataBlock::of(b"").0, ".\r\n");
    }

    proptest::proptest! {
        /// The server gets back exactly what was sent, and nothing before
        /// the final line can end the data early.
        #[test]
        fn any_message_survives_and_ends_only_at_the_end(
            lines in proptest::collection::vec("[ -~]{0,12}", 0..8)
        ) {
            let formatted: String = lines.iter().map(|line| format!("{line}\r\n")).collect();
            let block = DataBlock::of(formatted.as_bytes()).0;
            proptest::prop_assert_eq!(unstuffed(&block), formatted);
            let content = &block[..block.len() - ".\r\n".len()];
            proptest::prop_assert!(
                content.split_inclusive("\r\n").all(|line| line != ".\r\n"),
                "{:?}", block
            );
        }
    }
}
