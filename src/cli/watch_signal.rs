//! Ctrl-C and SIGTERM while `status --watch` waits between redraws: the
//! watch ends with exit 0 (watching is done, nothing was interrupted),
//! instead of the process dying by the signal.
//!
//! The handlers are installed once, before the first view is read, so a
//! Ctrl-C pressed while a view is being read is kept and ends the next wait
//! at once.

use std::io;
use std::time::Duration;

/// Ctrl-C and SIGTERM, caught from [`Interrupt::listen`] on.
pub struct Interrupt {
    runtime: tokio::runtime::Runtime,
    #[cfg(unix)]
    signals: [tokio::signal::unix::Signal; 2],
}

impl Interrupt {
    pub fn listen() -> io::Result<Interrupt> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        #[cfg(unix)]
        let signals = {
            use tokio::signal::unix::{SignalKind, signal};
            let _inside = runtime.enter();
            [
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ]
        };
        Ok(Interrupt {
            runtime,
            #[cfg(unix)]
            signals,
        })
    }

    /// Waits `every`; true if Ctrl-C or SIGTERM came meanwhile or since the
    /// last wait.
    pub fn wait(&mut self, every: Duration) -> bool {
        #[cfg(unix)]
        let [interrupt, terminate] = &mut self.signals;
        self.runtime.block_on(async {
            #[cfg(unix)]
            let signalled = async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            };
            #[cfg(not(unix))]
            let signalled = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            tokio::select! {
                () = tokio::time::sleep(every) => false,
                () = signalled => true,
            }
        })
    }
}
