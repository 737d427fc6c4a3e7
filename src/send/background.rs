//! Writes event lines on a thread of its own.
//!
//! The `--events` file and the plain log are written after every event; a
//! slow disk or a reader that stopped draining a pipe must not hold up the
//! account loops, whose requests are due to the millisecond. Lines keep their
//! order and are flushed whenever the queue runs dry, so `tail -f` and
//! `jq` still follow a campaign live.

use std::io::Write;
use std::sync::Mutex;
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;

/// A queue of lines drained by a writer thread.
pub struct BackgroundLines {
    queue: Mutex<Option<Sender<Vec<u8>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl BackgroundLines {
    /// Start a thread that writes every queued line to `out`.
    pub fn spawn(mut out: Box<dyn Write + Send>) -> BackgroundLines {
        let (sender, receiver) = channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("outreach-lines".into())
            .spawn(move || {
                while let Ok(line) = receiver.recv() {
                    let _ = out.write_all(&line);
                    // Write what else is queued before paying for a flush.
                    while let Ok(line) = receiver.try_recv() {
                        let _ = out.write_all(&line);
                    }
                    let _ = out.flush();
                }
            })
            .ok();
        BackgroundLines {
            queue: Mutex::new(thread.as_ref().map(|_| sender)),
            thread: Mutex::new(thread),
        }
    }

    /// Queue one line (with its newline). Dropped after [`Self::finish`].
    pub fn write(&self, line: Vec<u8>) {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = queue.as_ref() {
            let _ = sender.send(line);
        }
    }

    /// Write everything queued, flush, and stop the thread.
    pub fn finish(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundLines {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_and_all_by_finish() {
        let out = Shared::default();
        let lines = BackgroundLines::spawn(Box::new(out.clone()));
        for n in 0..1000 {
            lines.write(format!("{n}\n").into_bytes());
        }
        lines.finish();
        let expected: String = (0..1000).map(|n| format!("{n}\n")).collect();
        assert_eq!(
            String::from_utf8(out.0.lock().unwrap().clone()).unwrap(),
            expected
        );
        // Late lines are dropped, not an error.
        lines.write(b"late\n".to_vec());
        lines.finish();
    }
}
