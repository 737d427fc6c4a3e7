//! JSON text of plan records, written straight into a buffer.
//!
//! `plan --format json` escapes every message's subject and body, a few
//! hundred bytes per message, and serde_json's escaping loop looks at one
//! byte at a time; on a million messages that loop was a seventh of all the
//! work. Here the next byte to escape is found eight bytes at a time and the
//! plain bytes before it are copied whole. The escapes are serde_json's
//! (short forms, else `\u00xx`); the tests compare the output with
//! `serde_json::to_string` for every ASCII character at every offset, and
//! for whole records.

use super::records::PlannedRecord;

/// Append `record` as one JSON object, fields in declaration order (what
/// `serde_json::to_writer` writes for it).
pub fn write_record(buffer: &mut Vec<u8>, record: &PlannedRecord<'_>) {
    buffer.extend_from_slice(b"{\"seq\":");
    write_u64(buffer, record.seq as u64);
    buffer.extend_from_slice(b",\"at\":");
    write_str(buffer, record.at);
    buffer.extend_from_slice(b",\"local\":");
    write_str(buffer, record.local);
    buffer.extend_from_slice(b",\"account\":");
    write_str(buffer, record.account);
    buffer.extend_from_slice(b",\"recipient\":");
    write_str(buffer, record.recipient);
    buffer.extend_from_slice(b",\"line\":");
    write_u64(buffer, record.line);
    buffer.extend_from_slice(b",\"priority\":");
    if record.priority < 0 {
        buffer.push(b'-');
    }
    write_u64(buffer, record.priority.unsigned_abs());
    buffer.extend_from_slice(b",\"template\":");
    write_str(buffer, record.template);
    buffer.extend_from_slice(b",\"subject\":");
    match record.subject {
        Some(subject) => write_str(buffer, subject),
        None => buffer.extend_from_slice(b"null"),
    }
    buffer.extend_from_slice(b",\"body\":");
    write_str(buffer, record.body);
    buffer.push(b'}');
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
pub fn write_str(buffer: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    buffer.reserve(bytes.len() + 2);
    buffer.push(b'"');
    let mut copied = 0; // bytes[..copied] are in the buffer
    while let Some(at) = next_special(bytes, copied) {
        buffer.extend_from_slice(&bytes[copied..at]);
        write_escape(buffer, bytes[at]);
        copied = at + 1;
    }
    buffer.extend_from_slice(&bytes[copied..]);
    buffer.push(b'"');
}

/// The index of the first byte at or after `from` that JSON escapes.
fn next_special(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(word) = bytes.get(from..from + 8) {
        let flags = special_flags(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        if flags != 0 {
            // The lowest flag is always a real one (see `special_flags`).
            return Some(from + flags.trailing_zeros() as usize / 8);
        }
        from += 8;
    }
    let tail = bytes[from..].iter().position(|&byte| is_special(byte))?;
    Some(from + tail)
}

const ONES: u64 = u64::from_le_bytes([1; 8]);
const HIGH_BITS: u64 = ONES * 0x80;

/// The high bit of each byte of `word` (read little-endian) that is a
/// control character, `"` or `\`, by the classic bit hacks "has a zero
/// byte" and "has a byte less than n" (n <= 128). A borrow can also flag a
/// byte above a flagged one, never below, so the lowest flag is exact.
fn special_flags(word: u64) -> u64 {
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGH_BITS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
    below_space
        | zero_bytes(word ^ (ONES * u64::from(b'"')))
        | zero_bytes(word ^ (ONES * u64::from(b'\\')))
}

fn is_special(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Append the escape of `byte`, one of the bytes [`is_special`] picks.
fn write_escape(buffer: &mut Vec<u8>, byte: u8) {
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let (high, low) = (HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]);
            buffer.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
            return;
        }
    };
    buffer.extend_from_slice(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(text: &str) -> String {
        let mut buffer = Vec::new();
        write_str(&mut buffer, text);
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

    proptest::proptest! {
        #[test]
        fn any_text_is_escaped_as_serde_json_does(text in "(?s).*", ascii in "[\\x00-\\x7f]*") {
            for text in [&text, &ascii] {
                proptest::prop_assert_eq!(ours(text), serde_json::to_string(text).unwrap());
            }
        }
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
            write_record(&mut buffer, record);
            assert_eq!(
                String::from_utf8(buffer).unwrap(),
                serde_json::to_string(record).unwrap()
            );
        }
    }
}
