//! Campaign input: the recipients CSV and the message templates.
//!
//! Both are read and validated completely before anything is planned or sent,
//! so a bad row can never stop a campaign halfway.

pub mod cells;
pub mod columns;
pub mod context;
pub mod problems;
pub mod recipients;
pub mod renderer;
pub mod sniff;
pub mod suggest;
pub mod template;
pub mod template_file;

pub use cells::{Cells, Record};
pub use problems::{Problem, Problems};
pub use recipients::{Columns, CsvError, RecipientTable, Row};
pub use renderer::{RenderError, Renderer};
pub use template::{Rendered, TemplateError, TemplateId, TemplateSet};
