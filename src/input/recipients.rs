//! Reading the recipients CSV into memory, with every bad row reported at once.
//!
//! The csv crate does the RFC 4180 work (quotes, embedded newlines, CRLF, BOM);
//! this module picks the separator ([`super::sniff`]), finds the meaningful
//! columns ([`super::columns`]), keeps each row's starting line for error
//! messages, and hashes the bytes it reads so a campaign can tell later
//! whether its CSV changed. The cells themselves live in one shared buffer
//! ([`Cells`]), so a million rows cost little more than the file's size.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::ByteRecord;

use super::cells::{self, Cells, CellsBuilder, PushError, Record};
use super::columns::find_columns;
pub use super::columns::names as columns;
pub use super::columns::{Columns, variable_name};
use super::problems::Problems;
use super::sniff;

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
    #[error(
        "{path} has two `{meaning}` columns, `{first}` and `{second}`; \
         headers are matched ignoring case, spaces, `_` and `-`, so rename or remove one"
    )]
    SameMeaning {
        path: PathBuf,
        meaning: String,
        first: String,
        second: String,
    },
    #[error(
        "{path}: a header contains {shown}, so the file looks separated by {shown}, not by commas \
         (columns found: {found}); pass --delimiter {flag}"
    )]
    WrongDelimiter {
        path: PathBuf,
        shown: &'static str,
        flag: &'static str,
        found: String,
    },
    #[error(
        "{path} is UTF-16 text; outreach reads UTF-8. Convert it with \
         `iconv -f UTF-16 -t UTF-8 {path} > utf8.csv`, or save it from the spreadsheet \
         as \"CSV UTF-8\""
    )]
    Utf16 { path: PathBuf },
    #[error("{path} has a header row but no recipients: add one row per recipient")]
    NoRows { path: PathBuf },
    #[error("{path}: the header row is not valid CSV: {source}")]
    Header { path: PathBuf, source: csv::Error },
    #[error("{path} holds more than 4 GiB of cell text; split it into several campaigns")]
    TooLarge { path: PathBuf },
    #[error(transparent)]
    Rows(#[from] Problems),
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

impl RecipientTable {
    /// Read `path`, finding the recipient in `recipient_column` (ignoring
    /// case, spaces, `_` and `-`), with fields separated by `delimiter` or,
    /// without one, by what the first line uses.
    ///
    /// Rows that cannot be read are returned as problems beside the table,
    /// so the caller can add its own and report them all at once.
    pub fn read(
        path: &Path,
        recipient_column: &str,
        delimiter: Option<u8>,
    ) -> Result<(RecipientTable, Problems), CsvError> {
        let bytes = fs::read(path).map_err(|source| CsvError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &bytes, recipient_column, delimiter)
    }

    /// Parse CSV held in memory, any bad row an error; `path` is used in messages.
    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        recipient_column: &str,
    ) -> Result<RecipientTable, CsvError> {
        let (table, problems) = Self::parse(path, bytes, recipient_column, None)?;
        problems.into_result()?;
        Ok(table)
    }

    /// Parse CSV held in memory: the good rows, and a problem for each bad one.
    pub fn parse(
        path: &Path,
        bytes: &[u8],
        recipient_column: &str,
        delimiter: Option<u8>,
    ) -> Result<(RecipientTable, Problems), CsvError> {
        if sniff::is_utf16(bytes) {
            return Err(CsvError::Utf16 {
                path: path.to_path_buf(),
            });
        }
        let delimiter = delimiter.unwrap_or_else(|| sniff::delimiter(bytes));
        let mut counter = LineCounter::default();
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .delimiter(delimiter)
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
                        "has {} field(s) but the header has {}; quote fields that contain {}",
                        record.len(),
                        headers.len(),
                        sniff::plural_name(delimiter)
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
        if lines.is_empty() {
            problems.into_result()?;
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
        let table = RecipientTable {
            path: path.to_path_buf(),
            headers,
            columns,
            cells,
            rows,
            digest,
        };
        Ok((table, problems))
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
