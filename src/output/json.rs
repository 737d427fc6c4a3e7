//! JSON text of plan records, written straight into a buffer.
//!
//! `plan --format json` escapes every message's subject and body, a few
//! hundred bytes per message, and serde_json's escaping loop looks at one
//! byte at a time; on a million messages that loop was a seventh of all the
//! work. Here runs of plain bytes are found eight at a time and copied whole,
//! and each byte that needs escaping is still written by serde_json's own
//! formatter. The tests compare the output with `serde_json::to_vec`, byte
//! for byte.

use std::io;

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use super::records::PlannedRecord;

/// Append `record` as one JSON object, fields in declaration order (what
/// `serde_json::to_writer` writes for it).
pub fn write_record(buffer: &mut Vec<u8>, record: &PlannedRecord<'_>) -> io::Result<()> {
    buffer.extend_from_slice(b"{\"seq\":");
    write_u64(buffer, record.seq as u64);
    buffer.extend_from_slice(b",\"at\":");
    write_str(buffer, record.at)?;
    buffer.extend_from_slice(b",\"local\":");
    write_str(buffer, record.local)?;
    buffer.extend_from_slice(b",\"account\":");
    write_str(buffer, record.account)?;
    buffer.extend_from_slice(b",\"recipient\":");
    write_str(buffer, record.recipient)?;
    buffer.extend_from_slice(b",\"line\":");
    write_u64(buffer, record.line);
    buffer.extend_from_slice(b",\"priority\":");
    if record.priority < 0 {
        buffer.push(b'-');
    }
    write_u64(buffer, record.priority.unsigned_abs());
    buffer.extend_from_slice(b",\"template\":");
    write_str(buffer, record.template)?;
    buffer.extend_from_slice(b",\"subject\":");
    match record.subject {
        Some(subject) => write_str(buffer, subject)?,
        None => buffer.extend_from_slice(b"null"),
    }
    buffer.extend_from_slice(b",\"body\":");
    write_str(buffer, record.body)?;
    buffer.push(b'}');
    Ok(())
}

/// Append `number` in decimal (what serde_json writes for integers).
fn write_u64(buffer: &mut Vec<u8>, mut number: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (number % 10) as u8;
        number /= 10;
        if number == 0 {
            break;
        }
    }
    buffer.extend_from_slice(&digits[start..]);
}

/// Append `text` as a JSON string.
pub fn write_str(buffer: &mut Vec<u8>, text: &str) -> io::Result<()> {
    let bytes = text.as_bytes();
    buffer.reserve(bytes.len() + 2);
    buffer.push(b'"');
    let mut copied = 0; // bytes[..copied] are in the buffer
    let mut index = 0;
    while index < bytes.len() {
        if let Some(word) = bytes.get(index..index + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            if !any_special(word) {
                index += 8;
                continue;
            }
        }
        // A special byte is among the next eight (or this is the tail).
        let end = (index + 8).min(bytes.len());
        for (offset, &byte) in bytes[index..end].iter().enumerate() {
            if let Some(escape) = escape(byte) {
                buffer.extend_from_slice(&bytes[copied..index + offset]);
                CompactFormatter.write_char_escape(buffer, escape)?;
                copied = index + offset + 1;
            }
        }
        index = end;
    }
    buffer.extend_from_slice(&bytes[copied..]);
    buffer.push(b'"');
    Ok(())
}

const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGH_BITS: u64 = ONES * 0x80;

/// Whether any of the eight bytes of `word` is a control character, `"` or
/// `\` (the bytes JSON escapes). Exact for "any", per the classic bit hacks
/// "has a zero byte" and "has a byte less than n" (n <= 128).
fn any_special(word: u64) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH_BITS != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS != 0;
    below_space
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
}

/// How serde_json escapes `byte`, or `None` when it is written as is.
fn escape(byte: u8) -> Option<CharEscape> {
    Some(match byte {
        b'"' => CharEscape::Quote,
        b'\\' => CharEscape::ReverseSolidus,
        0x08 => CharEscape::Backspace,
        0x0c => CharEscape::FormFeed,
        b'\n' => CharEscape::LineFeed,
        b'\r' => CharEscape::CarriageReturn,
        b'\t' => CharEscape::Tab,
        0x00..=0x1f => CharEscape::AsciiControl(byte),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(text: &str) -> String {
        let mut buffer = Vec::new();
        write_str(&mut buffer, text).unwrap();
        String::from_utf8(buffer).unwrap()
    }

    #[test]
    fn every_ascii_character_at_every_offset_is_escaped_as_serde_json_does() {
        let extra = ['é', 'ë', '€', '😀', '\u{7f}', '\u{80}', '\u{2028}'];
        let characters = (0u8..0x80).map(char::from).chain(extra);
        for c in characters {
            for offset in 0..17 {
                for tail in [0, 1, 7, 9] {
                    let text = format!("{}{c}{}", "a".repeat(offset), "ü".repeat(tail));
                    assert_eq!(
                        ours(&text),
                        serde_json::to_string(&text).unwrap(),
                        "{text:?}"
                    );
                }
            }
        }
        let mixed = "Hi \"Zoë\",\n\tline\\two\r\n\u{1}\u{1f} end \u{8}\u{c}";
        assert_eq!(ours(mixed), serde_json::to_string(mixed).unwrap());
        assert_eq!(ours(""), "\"\"");
    }

    #[test]
    fn records_match_serde_json() {
        let body = "Hi Zoë,\n\nI came across \"your\" work at Acme, Inc. \\o/\n";
        let records = [
            PlannedRecord {
                seq: 0,
                at: "2026-01-05T09:00:00.000Z",
                local: "2026-01-05T10:00:00+01:00",
                account: "default",
                recipient: "urn:li:person:1",
                line: 2,
                priority: 0,
                template: "t.txt",
                subject: Some("Zoë, a question"),
                body,
            },
            PlannedRecord {
                seq: usize::MAX,
                at: "",
                local: "",
                account: "a\"b",
                recipient: "",
                line: u64::MAX,
                priority: i64::MIN,
                template: "(csv columns)",
                subject: None,
                body: "",
            },
        ];
        let numbers = [
            (0, 0),
            (9, -1),
            (10, 10),
            (123_456, -987_654),
            (u64::MAX, i64::MAX),
        ];
        let numbered = numbers.map(|(line, priority)| PlannedRecord {
            line,
            priority,
            ..records[1]
        });
        for record in records.iter().chain(&numbered) {
            let mut buffer = Vec::new();
            write_record(&mut buffer, record).unwrap();
            assert_eq!(
                String::from_utf8(buffer).unwrap(),
                serde_json::to_string(record).unwrap()
            );
        }
    }
}
