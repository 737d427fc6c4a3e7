//! One CSV row as the variables a template sees.
//!
//! Every message is rendered against its row, so this lookup runs for every
//! `{{ variable }}` of every message: it scans the table's few variable names
//! (cheaper than hashing with SipHash) and hands minijinja a borrowed cell,
//! which minijinja stores inline when it is short. A context refers to the
//! shared table, so building one copies no cells, and a [`RowCursor`] reuses
//! one context for every row a thread renders.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use minijinja::value::{Enumerator, Object, Value};

use super::cells::{self, Cells, Record};

#[derive(Debug)]
struct RowObject {
    cells: Arc<Cells>,
    /// Only a [`RowCursor`] moves it, between renders on its own thread.
    row: AtomicUsize,
}

impl RowObject {
    /// A cell, trimmed; `None` for a blank cell, which counts as missing.
    fn cell(&self, column: usize) -> Option<&str> {
        let value = cells::trim(self.cells.get(self.row.load(Ordering::Relaxed), column)?);
        (!value.is_empty()).then_some(value)
    }
}

impl Object for RowObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let column = self.cells.variable(key.as_str()?)?;
        self.cell(column).map(Value::from)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys: Vec<Value> = self
            .cells
            .variables()
            .iter()
            .filter(|(_, column)| self.cell(*column).is_some())
            .map(|(name, _)| Value::from(name.as_str()))
            .collect();
        Enumerator::Values(keys)
    }
}

fn context(cells: &Arc<Cells>, row: usize) -> Value {
    Value::from_object(RowObject {
        cells: Arc::clone(cells),
        row: AtomicUsize::new(row),
    })
}

/// The variables of one row, as templates see them.
pub fn row_context(record: &Record) -> Value {
    context(record.cells(), record.row())
}

/// One context moved from row to row, for rendering many rows on one thread.
///
/// A context per message would allocate, and would bump the table's shared
/// reference count (and evict the table's cache line) from every core at
/// once: with two threads that cost more than the lookups themselves.
pub struct RowCursor {
    context: Value,
}

impl RowCursor {
    pub fn new(cells: &Arc<Cells>) -> RowCursor {
        RowCursor {
            context: context(cells, 0),
        }
    }

    /// The variables of row `row`, until the next call.
    pub fn at(&mut self, row: usize) -> &Value {
        let object = self.context.downcast_object_ref::<RowObject>();
        object
            .expect("made in RowCursor::new")
            .row
            .store(row, Ordering::Relaxed);
        &self.context
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_cells_are_missing_and_values_are_trimmed() {
        let context = row_context(&Record::from_pairs(&[("name", " Ann "), ("city", "  ")]));
        assert_eq!(context.get_attr("name").unwrap().as_str(), Some("Ann"));
        assert!(context.get_attr("city").unwrap().is_undefined());
        assert!(context.get_attr("nope").unwrap().is_undefined());
        let keys: Vec<String> = context.try_iter().unwrap().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["name"]);
    }

    #[test]
    fn a_cursor_reads_the_row_it_was_moved_to() {
        let mut builder = cells::CellsBuilder::new(1, vec![("name".into(), 0)], 0);
        for name in ["Ann", "Bob"] {
            builder.push(&csv::ByteRecord::from(vec![name])).unwrap();
        }
        let mut cursor = RowCursor::new(&builder.finish());
        for (row, name) in [(1, "Bob"), (0, "Ann"), (1, "Bob")] {
            let value = cursor.at(row).get_attr("name").unwrap();
            assert_eq!(value.as_str(), Some(name));
        }
    }
}
