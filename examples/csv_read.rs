//! The floor for `outreach plan`: the csv crate alone reading a whole file.
//!
//! Reads every record of the CSV named on the command line with
//! `csv::Reader` into one reused `ByteRecord` (no UTF-8 check, no copies),
//! then prints the record and byte counts so the work cannot be optimised
//! away. `--strings` reads into a `StringRecord` instead (UTF-8 checked), and
//! `--keep` keeps every record in memory (what a loader that holds the table
//! pays in allocation).
//!
//! Run: `cargo run --release --example csv_read -- big.csv [--strings] [--keep]`;
//! used by benches/plan.sh, figures in docs/performance.md.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut path = None;
    let (mut strings, mut keep) = (false, false);
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--strings" => strings = true,
            "--keep" => keep = true,
            _ => path = Some(arg),
        }
    }
    let Some(path) = path else {
        eprintln!("usage: csv_read FILE.csv [--strings] [--keep]");
        return ExitCode::from(2);
    };
    let mut reader = match csv::ReaderBuilder::new().flexible(true).from_path(&path) {
        Ok(reader) => reader,
        Err(error) => {
            eprintln!("cannot open {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut kept: Vec<csv::StringRecord> = Vec::new();
    let result = if strings || keep {
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {
                    records += 1;
                    bytes += record.as_slice().len() as u64;
                    if keep {
                        kept.push(record.clone());
                    }
                }
                Ok(false) => break Ok(()),
                Err(error) => break Err(error),
            }
        }
    } else {
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {
                    records += 1;
                    bytes += record.as_slice().len() as u64;
                }
                Ok(false) => break Ok(()),
                Err(error) => break Err(error),
            }
        }
    };
    if let Err(error) = result {
        eprintln!("{path}: {error}");
        return ExitCode::FAILURE;
    }
    println!(
        "{records} records, {bytes} bytes of fields, {} kept",
        kept.len()
    );
    ExitCode::SUCCESS
}
