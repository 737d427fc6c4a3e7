//! One CSV row as the variables a template sees.
//!
//! Every message is rendered against its row, so this lookup runs for every
//! `{{ variable }}` of every message: it scans the table's few variable names
//! (cheaper than hashing with SipHash) and hands minijinja a borrowed cell,
//! which minijinja stores inline when it is short. The row is a [`Record`]
//! handle, so building a context copies no cells.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};

use super::cells::{self, Record};

#[derive(Debug)]
struct RowObject {
    record: Record,
}

impl RowObject {
    /// A cell, trimmed; `None` for a blank cell, which counts as missing.
    fn cell(&self, column: usize) -> Option<&str> {
        let value = cells::trim(self.record.get(column)?);
        (!value.is_empty()).then_some(value)
    }
}

impl Object for RowObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let column = self.record.cells().variable(key.as_str()?)?;
        self.cell(column).map(Value::from)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys: Vec<Value> = self
            .record
            .cells()
            .variables()
            .iter()
            .filter(|(_, column)| self.cell(*column).is_some())
            .map(|(name, _)| Value::from(name.as_str()))
            .collect();
        Enumerator::Values(keys)
    }
}

/// The variables of one row, as templates see them.
pub fn row_context(record: &Record) -> Value {
    Value::from_object(RowObject {
        record: record.clone(),
    })
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
}
