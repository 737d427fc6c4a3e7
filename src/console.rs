//! Lines for the person at the terminal, on stderr, that can never fail.
//!
//! `eprintln!` panics when stderr is gone (`outreach send x.csv 2>&1 | head
//! -3`, then Ctrl-C closes the pipe). A panic in the signal watcher would
//! leave the run deaf to Ctrl-C and SIGTERM, and one in the send path would
//! end the process with exit 101 instead of a consistent journal and 130.
//! A message nobody can read is not worth either, so [`say!`] drops the
//! write error and carries on. While live progress bars are drawn, lines go
//! above them instead of being wiped by the next redraw.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

use indicatif::MultiProgress;

/// `eprintln!` that ignores a closed or failing stderr.
#[macro_export]
macro_rules! say {
    () => {
        $crate::console::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::console::line(format_args!($($arg)*))
    };
}

/// The live progress bars, while they are drawn: a line written under them
/// would be wiped by their next redraw, so it is written above them.
static LIVE_BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Route [`say!`] lines above `bars` while they are drawn (`None`: plainly).
pub fn draw_lines_above(bars: Option<MultiProgress>) {
    *LIVE_BARS.lock().unwrap_or_else(|e| e.into_inner()) = bars;
}

/// Write one line to stderr; errors (a closed pipe, a full disk) are dropped.
pub fn line(args: fmt::Arguments<'_>) {
    let bars = LIVE_BARS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match bars {
        Some(bars) => bars.suspend(|| write_line(&mut io::stderr().lock(), args)),
        None => write_line(&mut io::stderr().lock(), args),
    }
}

/// Write bytes to stderr as they are; errors are dropped.
pub fn bytes(text: &[u8]) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text);
    let _ = err.flush();
}

/// Write data to stdout; a closed pipe (`| head`) is not an error.
pub fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    unless_closed_pipe(out.write_all(bytes).and_then(|()| out.flush()))
}

/// `result`, with a closed pipe turned into success: a reader that has
/// seen enough (`| head`) is not a failure of the writer.
pub fn unless_closed_pipe(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Whether `error`, or any error it wraps, is a write to a closed pipe.
pub fn is_closed_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        let io_kind = match error.downcast_ref::<io::Error>() {
            Some(io) => Some(io.kind()),
            // Neither gives the io::Error it wraps as its `source()`.
            None => error
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                .or_else(|| match error.downcast_ref::<csv::Error>()?.kind() {
                    csv::ErrorKind::Io(io) => Some(io.kind()),
                    _ => None,
                }),
        };
        if io_kind == Some(io::ErrorKind::BrokenPipe) {
            return true;
        }
        current = error.source();
    }
    false
}

fn write_line(out: &mut impl Write, args: fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone, like stderr piped into `head`.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_pipe_is_not_a_panic() {
        write_line(&mut ClosedPipe, format_args!("stopping: {}", 1));
    }

    #[test]
    fn a_closed_pipe_is_found_under_the_errors_that_wrap_it() {
        let closed = serde_json::to_writer(ClosedPipe, &[1, 2]).unwrap_err();
        let wrapped = crate::journal::JournalError::sink(closed);
        assert!(is_closed_pipe(&wrapped));
        let closed = csv::Writer::from_writer(ClosedPipe)
            .write_record(["a"; 10_000])
            .unwrap_err();
        assert!(is_closed_pipe(&crate::journal::JournalError::sink(closed)));
        let other = crate::journal::JournalError::sink(io::Error::other("disk full"));
        assert!(!is_closed_pipe(&other));
        assert!(unless_closed_pipe(Err(io::ErrorKind::BrokenPipe.into())).is_ok());
        assert!(unless_closed_pipe(Err(io::ErrorKind::PermissionDenied.into())).is_err());
    }

    #[test]
    fn a_line_ends_with_a_newline() {
        let mut out = Vec::new();
        write_line(&mut out, format_args!("sent {} of {}", 3, 4));
        assert_eq!(out, b"sent 3 of 4\n");
    }
}
