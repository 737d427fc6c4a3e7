//! The plan for programs: one CSV row or one JSON object per message.
//!
//! These formats carry every message's rendered text, so on a big campaign
//! they cost a render and an escape per message. Messages are rendered in
//! chunks on every core ([`crate::parallel`]), each chunk is serialized into
//! its own buffer, and the buffers are written in
//! order: the bytes are those a single thread would write. Slot times repeat
//! (a hundred messages per second share their second), so their text is
//! formatted once per second.

use std::io::{self, Write};

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::campaign::{CHUNK, Campaign, MessageRenderer};
use crate::parallel;
use crate::plan::Slot;

/// One planned message as programs see it.
#[derive(Debug, Serialize)]
pub struct PlannedRecord<'a> {
    pub seq: usize,
    pub at: &'a str,
    pub local: &'a str,
    pub account: &'a str,
    pub recipient: &'a str,
    /// The message's step, only for a sequence (`[[steps]]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    pub line: u64,
    pub priority: i64,
    pub template: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
}

/// Write every planned message as JSON Lines.
pub fn write_json(out: &mut dyn Write, campaign: &Campaign, slots: &[Slot]) -> io::Result<()> {
    write_chunks(out, slots, |first, chunk, buffer| {
        for_each_record(campaign, first, chunk, |record| {
            serde_json::to_writer(&mut *buffer, record).map_err(io::Error::other)?;
            buffer.push(b'\n');
            Ok(())
        })
    })
}

/// Write every planned message as CSV with a header row.
pub fn write_csv(out: &mut dyn Write, campaign: &Campaign, slots: &[Slot]) -> io::Result<()> {
    write_chunks(out, slots, |first, chunk, buffer| {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(first == 0)
            .from_writer(buffer);
        for_each_record(campaign, first, chunk, |record| {
            writer.serialize(record).map_err(io::Error::other)
        })?;
        writer.flush()
    })
}

/// Serialize chunks of `slots` on every core and write them in order.
fn write_chunks(
    out: &mut dyn Write,
    slots: &[Slot],
    serialize: impl Fn(usize, &[Slot], &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    parallel::for_each_ordered(
        slots,
        CHUNK,
        |first, chunk| {
            let mut buffer = Vec::with_capacity(chunk.len() * 512);
            serialize(first, chunk, &mut buffer).map(|()| buffer)
        },
        |buffer| out.write_all(&buffer?),
    )
}

/// Call `f` with the record of each slot of `chunk`, whose first slot is
/// number `first` of the plan.
fn for_each_record(
    campaign: &Campaign,
    first: usize,
    chunk: &[Slot],
    mut f: impl FnMut(&PlannedRecord<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let mut renderer: MessageRenderer<'_> = campaign.renderer();
    let mut times = Times::new(campaign.spec.timezone);
    let sequence = campaign.step_count() > 1;
    for (offset, slot) in chunk.iter().enumerate() {
        let message = &campaign.messages[slot.id];
        let rendered = renderer.render(message).map_err(io::Error::other)?;
        let (at, local) = times.format(slot.at);
        f(&PlannedRecord {
            seq: first + offset,
            at,
            local,
            account: &campaign.accounts[slot.account].name,
            recipient: campaign.recipient(message),
            step: sequence.then_some(message.step),
            line: campaign.line(message),
            priority: message.priority,
            template: campaign.template_name(message),
            subject: rendered.subject.as_deref(),
            body: &rendered.body,
        })?;
    }
    Ok(())
}

/// RFC 3339 text of slot times: UTC with milliseconds (`at`) and the plan's
/// zone with seconds (`local`), as chrono writes them, formatted once per second.
struct Times {
    zone: Tz,
    /// The whole second `utc` and `local` were formatted for.
    second: Option<i64>,
    /// UTC up to the seconds, without the `Z`.
    utc: String,
    local: String,
    at: String,
}

impl Times {
    fn new(zone: Tz) -> Times {
        Times {
            zone,
            second: None,
            utc: String::new(),
            local: String::new(),
            at: String::new(),
        }
    }

    fn format(&mut self, at: DateTime<Utc>) -> (&str, &str) {
        let nanos = at.nanosecond();
        if nanos >= 1_000_000_000 {
            // A leap second: rare enough to format in full, and not cached.
            self.second = None;
            self.at = at.to_rfc3339_opts(SecondsFormat::Millis, true);
            self.local = self.local_text(at);
            return (&self.at, &self.local);
        }
        if self.second != Some(at.timestamp()) {
            self.second = Some(at.timestamp());
            self.utc = at.to_rfc3339_opts(SecondsFormat::Secs, true);
            self.utc.pop(); // the `Z`; the milliseconds go before it
            self.local = self.local_text(at);
        }
        // As chrono writes milliseconds: `.{:03}` then the `Z`.
        let millis = nanos / 1_000_000;
        self.at.clear();
        self.at.push_str(&self.utc);
        self.at.push('.');
        for digit in [millis / 100, millis / 10 % 10, millis % 10] {
            self.at.push(char::from(b'0' + digit as u8));
        }
        self.at.push('Z');
        (&self.at, &self.local)
    }

    fn local_text(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let zones = [
            chrono_tz::UTC,
            chrono_tz::America::New_York,
            chrono_tz::Asia::Kolkata,
        ];
        for zone in zones {
            let mut times = Times::new(zone);
            // Steps of 37 ms over a DST change in New York, then a wide jump.
            let start: DateTime<Utc> = "2026-03-08T06:59:58.990Z".parse().unwrap();
            let instants = (0..200)
                .map(|i| start + TimeDelta::milliseconds(37 * i))
                .chain([
                    "1999-12-31T23:59:59.999Z".parse().unwrap(),
                    "2026-01-05T09:00:00Z".parse().unwrap(),
                    DateTime::from_timestamp(-1, 5_000_000).unwrap(),
                ]);
            for at in instants {
                let expected = (
                    at.to_rfc3339_opts(SecondsFormat::Millis, true),
                    at.with_timezone(&zone)
                        .to_rfc3339_opts(SecondsFormat::Secs, false),
                );
                let (utc, local) = times.format(at);
                assert_eq!((utc.to_string(), local.to_string()), expected);
            }
        }
    }
}
