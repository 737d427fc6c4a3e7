//! One plain line per event, for logs and pipes: what a terminal shows as
//! bars, a file or a pipe gets as lines it can keep and search.

use std::io::Write;

use chrono_tz::Tz;

use crate::output::text::{excerpt, human_duration};
use crate::send::background::BackgroundLines;
use crate::send::events::{Event, EventKind, EventSink};

/// A wait at least this long gets its own line: longer than any usual
/// interval, so a night outside the windows or a follow-up days away is one
/// line, not one per message.
const LONG_WAIT: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// One plain line per event, for logs and pipes, written off the send path.
pub struct PlainLog {
    out: BackgroundLines,
    zone: Tz,
}

impl PlainLog {
    pub fn new(out: Box<dyn Write + Send>, zone: Tz) -> PlainLog {
        PlainLog {
            out: BackgroundLines::spawn(out),
            zone,
        }
    }

    /// The line for an event; None for events too frequent to log.
    pub fn line(&self, event: &Event) -> Option<String> {
        let time = event.ts.with_timezone(&self.zone).format("%H:%M:%S");
        let text = match &event.kind {
            EventKind::Started {
                total, accounts, ..
            } => {
                format!(
                    "starting: {total} messages from {} account(s): {}",
                    accounts.len(),
                    account_list(accounts)
                )
            }
            EventKind::Planned { .. } => return None,
            // A long wait (a follow-up days away, a closed window) is worth a
            // line, so a log shows the sender is alive and what it waits for.
            EventKind::Waiting { account, at } if *at - event.ts >= LONG_WAIT => format!(
                "waiting   {account}  next message due {} (in {})",
                at.with_timezone(&self.zone).format("%Y-%m-%d %H:%M:%S"),
                human_duration(*at - event.ts)
            ),
            EventKind::Waiting { .. } => return None,
            EventKind::Sending { .. } => return None,
            EventKind::Sent {
                account,
                recipient,
                status,
                remaining,
                step,
                ..
            } => {
                let quota = remaining.map(|r| format!(", {r} left")).unwrap_or_default();
                let step = if *step > 1 {
                    format!(" step {step}")
                } else {
                    String::new()
                };
                format!("sent      {account}  {recipient}{step}  ({status}{quota})")
            }
            EventKind::Throttled {
                account,
                status,
                wait_ms,
                source,
                ..
            } => format!(
                "throttled {account}  {status}: waiting {} ({source})",
                human_duration(chrono::TimeDelta::milliseconds(*wait_ms))
            ),
            EventKind::Retrying {
                account,
                attempt,
                reason,
                wait_ms,
                ..
            } => format!(
                "retrying  {account}  attempt {attempt} failed: {}; again in {}",
                excerpt(reason, 80),
                human_duration(chrono::TimeDelta::milliseconds(*wait_ms))
            ),
            EventKind::Failed {
                account,
                recipient,
                reason,
                ..
            } => {
                format!("failed    {account}  {recipient}: {}", excerpt(reason, 120))
            }
            EventKind::Uncertain {
                account,
                recipient,
                reason,
                ..
            } => {
                format!("uncertain {account}  {recipient}: {}", excerpt(reason, 120))
            }
            EventKind::Stopped {
                account,
                recipient,
                reason,
                ..
            } => match reason {
                Some(reason) => {
                    format!("stopped   {account}  {recipient}: {}", excerpt(reason, 120))
                }
                None => format!("stopped   {account}  {recipient}: not sent"),
            },
            EventKind::AccountPaused {
                account,
                until,
                reason,
            } => format!(
                "paused    {account}  until {} ({reason})",
                until.with_timezone(&self.zone).format("%H:%M:%S")
            ),
            EventKind::AccountResumed { account } => format!("resumed   {account}"),
            EventKind::AccountStopped { account, reason } => {
                format!("stopped   {account}: {reason}")
            }
            EventKind::Finished {
                sent,
                failed,
                uncertain,
                pending,
                ..
            } => format!(
                "finished: {sent} sent, {failed} failed, {uncertain} uncertain, {pending} not sent"
            ),
        };
        Some(format!("{time} {text}"))
    }
}

impl EventSink for PlainLog {
    fn emit(&self, event: &Event) {
        if let Some(mut line) = self.line(event) {
            line.push('\n');
            self.out.write(line.into_bytes());
        }
    }

    fn finish(&self) {
        self.out.finish();
    }
}

/// Account names for one log line: all of a few, the first of many.
fn account_list(accounts: &[String]) -> String {
    const SHOWN: usize = 8;
    if accounts.len() <= SHOWN {
        return accounts.join(", ");
    }
    format!(
        "{}, and {} more",
        accounts[..SHOWN].join(", "),
        accounts.len() - SHOWN
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_for_events() {
        let log = PlainLog::new(Box::new(std::io::sink()), chrono_tz::UTC);
        let event = Event {
            ts: "2026-01-05T09:00:00Z".parse().unwrap(),
            kind: EventKind::Sent {
                seq: 1,
                step: 1,
                account: "alice".into(),
                recipient: "urn:li:person:1".into(),
                status: 201,
                message_id: None,
                planned_at: "2026-01-05T09:00:00Z".parse().unwrap(),
                late_ms: 2,
                remaining: Some(4),
            },
        };
        assert_eq!(
            log.line(&event).unwrap(),
            "09:00:00 sent      alice  urn:li:person:1  (201, 4 left)"
        );
        let follow_up = Event {
            ts: event.ts,
            kind: EventKind::Sent {
                seq: 2,
                step: 2,
                account: "alice".into(),
                recipient: "urn:li:person:1".into(),
                status: 201,
                message_id: None,
                planned_at: event.ts,
                late_ms: 0,
                remaining: None,
            },
        };
        assert_eq!(
            log.line(&follow_up).unwrap(),
            "09:00:00 sent      alice  urn:li:person:1 step 2  (201)"
        );
    }

    #[test]
    fn only_long_waits_get_a_line() {
        let log = PlainLog::new(Box::new(std::io::sink()), chrono_tz::UTC);
        let ts: chrono::DateTime<chrono::Utc> = "2026-01-05T09:00:00Z".parse().unwrap();
        let waiting = |minutes: i64| Event {
            ts,
            kind: EventKind::Waiting {
                account: "alice".into(),
                at: ts + chrono::TimeDelta::minutes(minutes),
            },
        };
        assert_eq!(log.line(&waiting(3)), None);
        assert_eq!(
            log.line(&waiting(3 * 24 * 60)).unwrap(),
            "09:00:00 waiting   alice  next message due 2026-01-08 09:00:00 (in 3days)"
        );
    }

    #[test]
    fn the_start_line_names_a_few_accounts_not_a_thousand() {
        let log = PlainLog::new(Box::new(std::io::sink()), chrono_tz::UTC);
        let started = |accounts: Vec<String>| Event {
            ts: "2026-01-05T09:00:00Z".parse().unwrap(),
            kind: EventKind::Started {
                total: 10 * accounts.len(),
                account_totals: vec![10; accounts.len()],
                accounts,
                planned_end: None,
            },
        };
        let names = |n: usize| (0..n).map(|i| format!("a{i}")).collect::<Vec<_>>();
        assert_eq!(
            log.line(&started(names(2))).unwrap(),
            "09:00:00 starting: 20 messages from 2 account(s): a0, a1"
        );
        assert_eq!(
            log.line(&started(names(1000))).unwrap(),
            "09:00:00 starting: 10000 messages from 1000 account(s): a0, a1, a2, a3, a4, a5, a6, a7, and 992 more"
        );
    }
}
