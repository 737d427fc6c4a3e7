//! Every cell of the recipients CSV in one string, and cheap handles to rows.
//!
//! A campaign keeps its whole CSV in memory (a million rows is normal), and
//! templates read one row at a time. A `csv::StringRecord` per row costs two
//! heap blocks and ~200 bytes of overhead; here the cells of all rows are
//! concatenated into one `String` with one `u32` end offset per cell, and a
//! row is an `Arc` of that storage plus a row number ([`Record`]). Records
//! are cheap to clone into a template context, and they carry the template
//! variable names, so a row can be rendered on any thread on its own.

use std::fmt;
use std::ops::Index;
use std::sync::Arc;

use csv::ByteRecord;

/// The cells of a whole table: row `r`, column `c` is cell `r * width + c`.
pub struct Cells {
    text: String,
    /// End offset in `text` of each cell; a cell starts where the previous ends.
    ends: Vec<u32>,
    width: usize,
    rows: usize,
    /// Template variable name -> column, one entry per name.
    variables: Vec<(String, usize)>,
}

/// Why a CSV record could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The cell in this column is not UTF-8.
    NotUtf8 { field: usize },
    /// The table's text would pass `u32::MAX` bytes.
    TooLarge,
}

/// Builds [`Cells`] one record at a time.
pub struct CellsBuilder {
    cells: Cells,
}

impl CellsBuilder {
    /// Rows of `width` columns; `capacity` is a hint for the text's size in bytes.
    ///
    /// `variables` are (name, column) pairs; when a name repeats, the last
    /// column wins (as collecting them into a map would do).
    pub fn new(width: usize, variables: Vec<(String, usize)>, capacity: usize) -> CellsBuilder {
        let mut unique: Vec<(String, usize)> = Vec::with_capacity(variables.len());
        for (name, column) in variables {
            match unique.iter_mut().find(|(known, _)| *known == name) {
                Some(entry) => entry.1 = column,
                None => unique.push((name, column)),
            }
        }
        CellsBuilder {
            cells: Cells {
                text: String::with_capacity(capacity),
                ends: Vec::new(),
                width,
                rows: 0,
                variables: unique,
            },
        }
    }

    /// Append a record of exactly `width` fields; returns its row number.
    pub fn push(&mut self, record: &ByteRecord) -> Result<usize, PushError> {
        debug_assert_eq!(record.len(), self.cells.width);
        let bytes = record.as_slice();
        let base = self.cells.text.len();
        if base + bytes.len() > u32::MAX as usize {
            return Err(PushError::TooLarge);
        }
        // One check for the whole record; field boundaries must also fall on
        // characters (a split multi-byte character is valid as a whole only).
        let text = match std::str::from_utf8(bytes) {
            Ok(text) if (0..record.len()).all(|i| text.is_char_boundary(field_end(record, i))) => {
                text
            }
            _ => {
                let field = (0..record.len())
                    .find(|&i| std::str::from_utf8(&record[i]).is_err())
                    .unwrap_or(0);
                return Err(PushError::NotUtf8 { field });
            }
        };
        self.cells.text.push_str(text);
        // Lossless: `base + bytes.len()` was checked against u32::MAX above.
        let ends = (0..record.len()).map(|i| (base + field_end(record, i)) as u32);
        self.cells.ends.extend(ends);
        self.cells.rows += 1;
        Ok(self.cells.rows - 1)
    }

    /// The finished table, shared by every row handle.
    pub fn finish(mut self) -> Arc<Cells> {
        self.cells.ends.shrink_to_fit();
        self.cells.text.shrink_to_fit();
        Arc::new(self.cells)
    }
}

fn field_end(record: &ByteRecord, index: usize) -> usize {
    record.range(index).map_or(0, |range| range.end)
}

impl Cells {
    /// Row `row`, column `column`, as written; `None` past the last column.
    pub fn get(&self, row: usize, column: usize) -> Option<&str> {
        (column < self.width).then(|| self.cell(row * self.width + column))
    }

    fn cell(&self, index: usize) -> &str {
        let start = match index {
            0 => 0,
            _ => self.ends[index - 1] as usize,
        };
        &self.text[start..self.ends[index] as usize]
    }

    /// The column a template variable reads, if the header has it; case does
    /// not matter (`{{ First_Name }}` reads `first_name`), as for headers.
    pub fn variable(&self, name: &str) -> Option<usize> {
        // Templates mostly spell variables as the header does: one exact
        // scan first keeps the per-render lookup as cheap as before.
        self.variables
            .iter()
            .find(|(known, _)| known == name)
            .or_else(|| {
                self.variables
                    .iter()
                    .find(|(known, _)| same_ignoring_case(known, name))
            })
            .map(|(_, column)| *column)
    }

    /// Every (template variable, column) pair.
    pub fn variables(&self) -> &[(String, usize)] {
        &self.variables
    }
}

fn same_ignoring_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

/// A cell without surrounding white space, as templates and row checks see it.
pub fn trim(cell: &str) -> &str {
    // Most cells have none: when both ends are visible ASCII (a UTF-8
    // continuation byte is not ASCII), skip the Unicode-aware scan.
    match (cell.as_bytes().first(), cell.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => cell,
        _ => cell.trim(),
    }
}

/// One row of a [`Cells`] table: a shared handle and a row number.
#[derive(Clone)]
pub struct Record {
    cells: Arc<Cells>,
    row: u32,
}

impl Record {
    /// Row `row` of `cells`.
    pub fn new(cells: &Arc<Cells>, row: usize) -> Record {
        assert!(row < cells.rows, "no row {row}");
        Record {
            cells: Arc::clone(cells),
            row: u32::try_from(row).expect("fewer rows than bytes, and bytes fit in u32"),
        }
    }

    /// A one-row table, for tests and for callers that hold loose values.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Record {
        let variables = pairs
            .iter()
            .enumerate()
            .map(|(column, (name, _))| (name.to_string(), column))
            .collect();
        let mut builder = CellsBuilder::new(pairs.len(), variables, 0);
        let record = ByteRecord::from(pairs.iter().map(|(_, value)| *value).collect::<Vec<_>>());
        builder.push(&record).expect("UTF-8 text");
        Record::new(&builder.finish(), 0)
    }

    /// A field as written (not trimmed); `None` past the last column.
    pub fn get(&self, column: usize) -> Option<&str> {
        self.cells.get(self.row as usize, column)
    }

    pub fn len(&self) -> usize {
        self.cells.width
    }

    pub fn is_empty(&self) -> bool {
        self.cells.width == 0
    }

    /// The fields in column order.
    pub fn iter(&self) -> Fields<'_> {
        Fields {
            record: self,
            column: 0,
        }
    }

    /// The table this row belongs to (variable names included).
    pub fn cells(&self) -> &Arc<Cells> {
        &self.cells
    }

    /// The row's number in its table.
    pub fn row(&self) -> usize {
        self.row as usize
    }
}

impl Index<usize> for Record {
    type Output = str;

    fn index(&self, column: usize) -> &str {
        self.get(column).expect("column within the row")
    }
}

/// The fields of a [`Record`], in column order.
pub struct Fields<'a> {
    record: &'a Record,
    column: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let field = self.record.get(self.column)?;
        self.column += 1;
        Some(field)
    }
}

impl<'a> IntoIterator for &'a Record {
    type Item = &'a str;
    type IntoIter = Fields<'a>;

    fn into_iter(self) -> Fields<'a> {
        self.iter()
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for Cells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cells")
            .field("rows", &self.rows)
            .field("width", &self.width)
            .field("bytes", &self.text.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&[u8]]]) -> (Arc<Cells>, Vec<Result<usize, PushError>>) {
        let width = rows[0].len();
        let names = (0..width).map(|c| (format!("c{c}"), c)).collect();
        let mut builder = CellsBuilder::new(width, names, 0);
        let results = rows
            .iter()
            .map(|row| builder.push(&ByteRecord::from(row.to_vec())))
            .collect();
        (builder.finish(), results)
    }

    #[test]
    fn rows_give_back_their_fields_including_empty_ones() {
        let (cells, results) = table(&[&[b"a", b"", b" b "], &[b"", b"z\xc3\xab", b""]]);
        assert_eq!(results, [Ok(0), Ok(1)]);
        let first = Record::new(&cells, 0);
        let second = Record::new(&cells, 1);
        assert_eq!(first.iter().collect::<Vec<_>>(), ["a", "", " b "]);
        assert_eq!(second.iter().collect::<Vec<_>>(), ["", "zë", ""]);
        assert_eq!(&second[1], "zë");
        assert_eq!(second.get(3), None);
        assert_eq!(format!("{first:?}"), r#"["a", "", " b "]"#);
        assert_eq!(cells.variable("c2"), Some(2));
        assert_eq!(cells.variable("c3"), None);
    }

    #[test]
    fn utf8_is_checked_per_field_even_when_the_record_is_valid_as_a_whole() {
        // "\xc3" + "\xab" is "ë" once concatenated, but neither field is text.
        let (_, results) = table(&[&[b"ok", b"\xc3", b"\xab"], &[b"ok", b"fine", b"\xff"]]);
        assert_eq!(
            results,
            [
                Err(PushError::NotUtf8 { field: 1 }),
                Err(PushError::NotUtf8 { field: 2 })
            ]
        );
    }

    #[test]
    fn variables_are_found_in_any_case() {
        let builder = CellsBuilder::new(
            3,
            vec![
                ("first_name".into(), 0),
                ("ärger".into(), 1),
                ("Name".into(), 2),
            ],
            0,
        );
        let cells = builder.finish();
        assert_eq!(cells.variable("first_name"), Some(0));
        assert_eq!(cells.variable("First_Name"), Some(0));
        assert_eq!(cells.variable("FIRST_NAME"), Some(0));
        assert_eq!(cells.variable("ÄRGER"), Some(1));
        // An exact spelling wins over an earlier one in another case.
        assert_eq!(cells.variable("Name"), Some(2));
        assert_eq!(cells.variable("first name"), None);
        assert_eq!(cells.variable("first_nam"), None);
    }

    #[test]
    fn a_repeated_variable_name_reads_the_last_column() {
        let builder = CellsBuilder::new(2, vec![("x".into(), 0), ("x".into(), 1)], 0);
        assert_eq!(builder.cells.variables, [("x".to_string(), 1)]);
    }

    #[test]
    fn trim_is_str_trim() {
        for cell in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{a0}a\u{2003}",
            "zë",
            "ëz",
            "a\tb",
            "\n",
            "é ",
        ] {
            assert_eq!(trim(cell), cell.trim(), "{cell:?}");
        }
    }

    #[test]
    fn from_pairs_is_a_one_row_table() {
        let record = Record::from_pairs(&[("name", "Ann"), ("city", "")]);
        assert_eq!(record.iter().collect::<Vec<_>>(), ["Ann", ""]);
        assert_eq!(record.cells().variable("city"), Some(1));
    }
}
