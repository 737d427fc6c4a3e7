//! Reading the recipients CSV into memory, with every bad row reported at once.
//!
//! The csv crate does the RFC 4180 work (quotes, embedded newlines, CRLF, BOM);
//! this module finds the meaningful columns, keeps each row's starting line for
//! error messages, and hashes the bytes it reads so a campaign can tell later
//! whether its CSV changed. The cells themselves live in one shared buffer
//! ([`Cells`]), so a million rows cost little more than the file's size.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::ByteRecord;

use super::cells::{self, Cells, CellsBuilder, PushError, Record};
use super::problems::Problems;

/// Column names with a meaning of their own (besides being template variables).
pub mod columns {
    pub const RECIPIENT: &str = "recipient";
    pub const ACCOUNT: &str = "account";
    pub const PRIORITY: &str = "priority";
    pub const TEMPLATE: &str = "template";
    pub const TIMEZONE: &str = "timezone";
    pub const SUBJECT: &str = "subject";
    pub const BODY: &str = "body";
}

/// Why the CSV could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot read recipients file {path}: {source}; check the path and permissions")]
    Open { path: PathBuf, source: io::Error },
    #[error(
        "{path} is empty: it needs a header row with a `{column}` column and one row per recipient"
    )]
    Empty { path: PathBuf, column: String },
    #[error(
        "{path} has no `{column}` column; columns found: {found}. \
         Rename the column that holds recipient ids to `{column}`, or pass --recipient-column NAME"
    )]
    NoRecipientColumn {
        path: PathBuf,
        column: String,
        found: String,
    },
    #[error("{path} has a header row but no recipients: add one row per recipient")]
    NoRows { path: PathBuf },
    #[error("{path}: the header row is not valid CSV: {source}")]
    Header { path: PathBuf, source: csv::Error },
    #[error("{path} holds more than 4 GiB of cell text; split it into several campaigns")]
    TooLarge { path: PathBuf },
    #[error(transparent)]
    Rows(#[from] Problems),
}

/// Positions of the columns that mean something to outreach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub recipient: usize,
    pub account: Option<usize>,
    pub priority: Option<usize>,
    pub template: Option<usize>,
    pub timezone: Option<usize>,
    pub subject: Option<usize>,
    pub body: Option<usize>,
}

/// One data row and the line of the file it starts on.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub record: Record,
}

impl Row {
    /// A field, trimmed; `None` when the column is absent or the cell is blank.
    pub fn get(&self, column: Option<usize>) -> Option<&str> {
        let value = cells::trim(self.record.get(column?)?);
        (!value.is_empty()).then_some(value)
    }
}

/// The whole recipients file, validated for shape (not yet for meaning).
#[derive(Debug, Clone)]
pub struct RecipientTable {
    pub path: PathBuf,
    /// Header names as written (trimmed).
    pub headers: Vec<String>,
    pub columns: Columns,
    /// Every cell, shared by the rows' records.
    pub cells: Arc<Cells>,
    pub rows: Vec<Row>,
    /// blake3 of the file's bytes, hex.
    pub digest: String,
}

/// The template variable a header becomes: trimmed, lower case, spaces and
/// dashes as underscores (`First Name` -> `first_name`).
pub fn variable_name(header: &str) -> String {
    header
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

impl RecipientTable {
    /// Read `path`, finding the recipient in `recipient_column` (case-insensitive).
    pub fn read(path: &Path, recipient_column: &str) -> Result<RecipientTable, CsvError> {
        let bytes = fs::read(path).map_err(|source| CsvError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, &bytes, recipient_column)
    }

    /// Parse CSV held in memory; `path` is used in messages.
    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        recipient_column: &str,
    ) -> Result<RecipientTable, CsvError> {
        let mut counter = LineCounter::default();
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes);
        let header_record = csv.byte_headers().map_err(|source| CsvError::Header {
            path: path.to_path_buf(),
            source,
        })?;
        let headers: Vec<String> = header_record
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(CsvError::Empty {
                path: path.to_path_buf(),
                column: recipient_column.to_string(),
            });
        }
        let columns = find_columns(path, &headers, recipient_column)?;
        let variables = headers
            .iter()
            .enumerate()
            .filter(|(_, header)| !header.is_empty())
            .map(|(index, header)| (variable_name(header), index))
            .collect();

        let mut problems = Problems::new(path);
        let mut cells = CellsBuilder::new(headers.len(), variables, bytes.len());
        let mut lines = Vec::new();
        let mut record = ByteRecord::new();
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => {
                    let line = error
                        .position()
                        .map_or(0, |p| counter.line_at(bytes, p.byte()));
                    problems.push(line, format!("not valid CSV: {error}"));
                    continue;
                }
            }
            let line = record
                .position()
                .map_or(0, |p| counter.line_at(bytes, p.byte()));
            if record.len() == 1 && record.get(0).is_some_and(|f| f.trim_ascii().is_empty()) {
                continue; // a blank line
            }
            if record.len() != headers.len() {
                problems.push(
                    line,
                    format!(
                        "has {} field(s) but the header has {}; quote fields that contain commas",
                        record.len(),
                        headers.len()
                    ),
                );
                continue;
            }
            match cells.push(&record) {
                Ok(_) => lines.push(line),
                Err(PushError::NotUtf8 { field }) => {
                    let name = headers.get(field).map_or("?", String::as_str);
                    problems.push(
                        line,
                        format!("column `{name}` is not valid UTF-8; save the file as UTF-8"),
                    );
                }
                Err(PushError::TooLarge) => {
                    return Err(CsvError::TooLarge {
                        path: path.to_path_buf(),
                    });
                }
            }
        }
        problems.into_result()?;
        if lines.is_empty() {
            return Err(CsvError::NoRows {
                path: path.to_path_buf(),
            });
        }
        let cells = cells.finish();
        let rows = lines
            .into_iter()
            .enumerate()
            .map(|(index, line)| Row {
                line,
                record: Record::new(&cells, index),
            })
            .collect();
        let digest = blake3::hash(bytes).to_hex().to_string();
        Ok(RecipientTable {
            path: path.to_path_buf(),
            headers,
            columns,
            cells,
            rows,
            digest,
        })
    }
}

/// Turns byte offsets into 1-based line numbers, scanning each byte once.
///
/// The csv crate's own line numbers are off by one for CRLF files, so lines
/// are counted here from the bytes. Offsets must be asked in increasing order.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u64,
}

impl LineCounter {
    fn line_at(&mut self, bytes: &[u8], offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(bytes.len())
            .min(bytes.len());
        // A record's position may point at the line break that precedes it.
        while target < bytes.len() && matches!(bytes[target], b'\r' | b'\n') {
            target += 1;
        }
        if target >= self.offset {
            self.newlines += bytes[self.offset..target]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.offset = target;
        }
        self.newlines + 1
    }
}

fn find_columns(
    path: &Path,
    headers: &[String],
    recipient_column: &str,
) -> Result<Columns, CsvError> {
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name.trim()))
    };
    let recipient = find(recipient_column).ok_or_else(|| CsvError::NoRecipientColumn {
        path: path.to_path_buf(),
        column: recipient_column.to_string(),
        found: headers
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    Ok(Columns {
        recipient,
        account: find(columns::ACCOUNT),
        priority: find(columns::PRIORITY),
        template: find(columns::TEMPLATE),
        timezone: find(columns::TIMEZONE),
        subject: find(columns::SUBJECT),
        body: find(columns::BODY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RecipientTable, CsvError> {
        RecipientTable::from_bytes(Path::new("r.csv"), text.as_bytes(), "recipient")
    }

    #[test]
    fn quoted_fields_bom_crlf_and_case_insensitive_headers() {
        let text = "\u{feff} Recipient ,First Name,note\r\nurn:li:person:1,\"Zoë\",\"a, b\"\r\nurn:li:person:2,Bob,\"say \"\"hi\"\"\nnext line\"\r\n";
        let table = parse(text).unwrap();
        assert_eq!(table.headers, ["Recipient", "First Name", "note"]);
        assert_eq!(table.columns.recipient, 0);
        assert_eq!(table.rows[0].record.cells().variable("first_name"), Some(1));
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].line, 2);
        assert_eq!(&table.rows[0].record[1], "Zoë");
        assert_eq!(&table.rows[0].record[2], "a, b");
        assert_eq!(&table.rows[1].record[2], "say \"hi\"\nnext line");
        assert_eq!(table.rows[1].line, 3);
        let lf = parse("recipient\na\n\nb\n").unwrap();
        assert_eq!((lf.rows[0].line, lf.rows[1].line), (2, 4));
        let crlf = parse("recipient\r\na\r\n\r\nb\r\n").unwrap();
        assert_eq!((crlf.rows[0].line, crlf.rows[1].line), (2, 4));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = "recipient,name\na,1\nb,2,extra\nc\nd,4\n";
        let error = parse(text).unwrap_err().to_string();
        assert!(
            error.contains("line 3: has 3 field(s) but the header has 2"),
            "{error}"
        );
        assert!(error.contains("line 4: has 1 field(s)"), "{error}");
    }

    #[test]
    fn missing_recipient_column_lists_the_columns() {
        let error = parse("urn,name\na,b\n").unwrap_err().to_string();
        assert!(error.contains("no `recipient` column"), "{error}");
        assert!(error.contains("`urn`, `name`"), "{error}");
        assert!(error.contains("--recipient-column"), "{error}");
        let table = RecipientTable::from_bytes(Path::new("r.csv"), b"URN,name\na,b\n", "urn");
        assert_eq!(table.unwrap().columns.recipient, 0);
    }

    #[test]
    fn empty_files_and_header_only_files() {
        assert!(matches!(parse(""), Err(CsvError::Empty { .. })));
        assert!(matches!(parse("recipient\n"), Err(CsvError::NoRows { .. })));
    }

    #[test]
    fn invalid_utf8_names_the_column() {
        let bytes = b"recipient,name\na,\xff\xfe\n";
        let error = RecipientTable::from_bytes(Path::new("r.csv"), &bytes[..], "recipient")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 2: column `name` is not valid UTF-8"),
            "{error}"
        );
    }

    #[test]
    fn digest_changes_with_content() {
        let a = parse("recipient\na\n").unwrap().digest;
        let b = parse("recipient\nb\n").unwrap().digest;
        assert_ne!(a, b);
        assert_eq!(a, parse("recipient\na\n").unwrap().digest);
    }
}
