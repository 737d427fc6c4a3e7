//! What kind of text a recipients file is, before the csv crate reads it.
//!
//! Real exports are not always comma-separated UTF-8: spreadsheets in many
//! locales save with `;`, some tools with tabs, and "Unicode text" is
//! UTF-16. Read as comma-separated UTF-8, those give a one-column header or
//! "not valid UTF-8" on every row. Here the separator is found from the
//! first line, and UTF-16 is recognised so the error says how to convert.

/// How many bytes of the first line are looked at.
const FIRST_LINE_LIMIT: usize = 64 * 1024;

/// Whether `bytes` look like UTF-16: a UTF-16 byte order mark, or NUL bytes
/// in the first line (UTF-16 without a mark; UTF-8 text has none).
pub fn is_utf16(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    bytes
        .iter()
        .take(FIRST_LINE_LIMIT)
        .take_while(|b| **b != b'\n')
        .any(|b| *b == 0)
}

/// The field separator of a file: `,` unless its first line (outside quotes)
/// has no comma but a `;` or a tab, then the more frequent of those two.
pub fn delimiter(bytes: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut tabs) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for byte in bytes.iter().take(FIRST_LINE_LIMIT) {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    match (commas, semicolons, tabs) {
        (0, s, t) if t > s => b'\t',
        (0, s, _) if s > 0 => b';',
        _ => b',',
    }
}

/// The value of `--delimiter`: `,`, `;`, `tab` (or a tab character), `|`.
pub fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        _ => Err(format!(
            "unknown delimiter `{text}`; use ',', ';', tab or '|' (quote ';' and '|' in the shell)"
        )),
    }
}

/// A separator as a message names it: "commas", "tabs", ...
pub fn plural_name(delimiter: u8) -> String {
    match delimiter {
        b',' => "commas".into(),
        b';' => "semicolons".into(),
        b'\t' => "tabs".into(),
        other => format!("`{}`", char::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_decides_the_delimiter() {
        assert_eq!(delimiter(b"recipient,name\na;b\n"), b',');
        assert_eq!(delimiter(b"recipient;name\na,b;c\n"), b';');
        assert_eq!(delimiter(b"recipient\tname\r\na\tb\r\n"), b'\t');
        // Separators inside quotes do not count.
        assert_eq!(delimiter(b"\"a,b\";c\n"), b';');
        assert_eq!(delimiter(b"\"a;b\",c\n"), b',');
        // One column, or an empty file: a comma is as good as anything.
        assert_eq!(delimiter(b"recipient\na\n"), b',');
        assert_eq!(delimiter(b""), b',');
        // The first line only.
        assert_eq!(delimiter(b"recipient\na;b\n"), b',');
    }

    #[test]
    fn utf16_by_its_mark_or_its_nul_bytes() {
        assert!(is_utf16(b"\xff\xfer\x00e\x00"));
        assert!(is_utf16(b"\xfe\xff\x00r\x00e"));
        assert!(is_utf16(b"r\x00e\x00c\x00\n\x00"));
        assert!(!is_utf16(b"\xef\xbb\xbfrecipient\n"));
        assert!(!is_utf16(b"recipient\na\x00\n"));
        assert!(!is_utf16(b""));
    }

    #[test]
    fn delimiter_flag_values() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter(","), Ok(b','));
        let error = parse_delimiter("x").unwrap_err();
        assert!(error.contains("unknown delimiter `x`"), "{error}");
    }
}
