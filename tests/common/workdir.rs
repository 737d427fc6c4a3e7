//! The temp dir every suite's test works in: fixtures written into it, CSVs
//! built from rows, files read back. Suites add their own conveniences
//! (`recipients(n)`, `plan("...")`, a per-run events file) in `impl Workdir`
//! blocks of their own harness.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tempfile::TempDir;

use super::command::Cmd;

/// A temp dir holding one campaign; commands run inside it.
pub struct Workdir {
    dir: TempDir,
    runs: AtomicUsize,
}

impl Workdir {
    /// A fresh dir named after the suite (`outreach-send-…`), so a dir
    /// left behind by a crash says which suite made it.
    pub fn new() -> Workdir {
        let prefix = format!("outreach-{}-", env!("CARGO_CRATE_NAME"));
        Workdir {
            dir: tempfile::Builder::new()
                .prefix(&prefix)
                .tempdir()
                .expect("temp dir"),
            runs: AtomicUsize::new(0),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file (creating its folders) relative to the dir.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> &Workdir {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, contents).expect("write fixture");
        self
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path().join(name)).expect("read file")
    }

    /// Write a CSV from rows, quoting cells as needed (the first row is the
    /// header).
    pub fn rows(&self, name: &str, rows: &[&[&str]]) -> &Workdir {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in rows {
            writer.write_record(*row).expect("csv row");
        }
        let bytes = writer.into_inner().expect("csv bytes");
        self.write(name, bytes)
    }

    /// `data.csv` from a header and rows (each a CSV line), plus the
    /// default template `message.txt` unless one was written already.
    pub fn csv(&self, header: &str, rows: &[String]) {
        let mut text = format!("{header}\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        self.write("data.csv", &text);
        if !self.path().join("message.txt").exists() {
            self.write(
                "message.txt",
                "Subject: Hello {{ first_name }}\n\nHi {{ first_name }}, a short note.\n",
            );
        }
    }

    /// A campaign of `n` recipients (`r01@example.test`, ...) for the
    /// default account; returns their ids in file order.
    pub fn recipients(&self, n: usize) -> Vec<String> {
        let ids = super::ids("r", n);
        self.csv("recipient,first_name", &super::rows(&ids));
        ids
    }

    /// File names in the dir (not below it), sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .expect("read dir")
            .map(|entry| {
                entry
                    .expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Every file under the dir, recursively, with its bytes.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, found: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).expect("read dir") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    walk(&path, found);
                } else {
                    let bytes = std::fs::read(&path).expect("read file");
                    found.push((path, bytes));
                }
            }
        }
        let mut found = Vec::new();
        walk(self.path(), &mut found);
        found
    }

    /// A number for the next run in this dir: 0, 1, 2, ... (for files a
    /// run writes, such as its own events file).
    pub fn next_run(&self) -> usize {
        self.runs.fetch_add(1, Ordering::Relaxed)
    }

    /// `outreach <args>` in this dir, nothing added.
    pub fn cmd(&self, args: &[&str]) -> Cmd {
        Cmd::new(self.path(), args)
    }
}
