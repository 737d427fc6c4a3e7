//! Ctrl-C and SIGTERM during a run: the first stops gracefully (no new
//! sends, requests in flight finish and are recorded; a journal waiting
//! for its unreachable database stops waiting), the second exits at once.

use crate::exit_codes;
use crate::journal::JournalHandle;
use crate::send::executor::StopHandle;

/// Watch for signals until the process ends; `stop` and `journal` are told
/// on the first (a journal waiting for its unreachable database stops
/// waiting).
pub fn watch_signals(stop: StopHandle, journal: JournalHandle) {
    on_signals(move || {
        stop.stop();
        journal.give_up_waiting();
    });
}

/// Watch for signals until the process ends; `stop` is called on the first.
pub fn on_signals(stop: impl Fn() + Send + 'static) {
    tokio::spawn(async move {
        let mut presses = 0;
        loop {
            wait_for_signal().await;
            presses += 1;
            if presses == 1 {
                // Stop first: the line below may go nowhere (stderr closed).
                stop();
                say!(
                    "\nstopping: no new sends; waiting for requests in flight (press Ctrl-C again to quit at once)"
                );
            } else {
                say!("quitting at once");
                std::process::exit(exit_codes::INTERRUPTED);
            }
        }
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
