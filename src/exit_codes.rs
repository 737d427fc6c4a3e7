//! Process exit codes, one documented constant each.
//!
//! Scripts that drive `outreach` branch on these, so they are part of the public
//! interface: docs/cli.md lists the same table. Never renumber one.

/// Everything asked for was done: every message sent (or the plan printed).
pub const SUCCESS: i32 = 0;
/// An error stopped the command: bad input, an unreadable file, an API that is down.
pub const ERROR: i32 = 1;
/// The command line itself was wrong (clap's own code for usage errors).
pub const USAGE: i32 = 2;
/// The campaign finished but some messages failed or are uncertain.
pub const SOME_FAILED: i32 = 3;
/// Stopped by Ctrl-C or SIGTERM; `outreach resume` continues.
pub const INTERRUPTED: i32 = 130;

/// How a `send` or `resume` ended, as far as the exit code cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunEnd {
    /// Stopped by an error (the API down, the journal failing) or with an
    /// account stopped (a token to fix).
    pub error: bool,
    /// Stopped by Ctrl-C or SIGTERM.
    pub interrupted: bool,
    /// Failed or uncertain messages of the campaign, earlier runs included.
    pub failed_or_uncertain: u64,
}

/// The one rule from a run's end to its exit code: an error first (the user
/// must act), then an interruption (resume continues), then messages that
/// failed or may have arrived, else success.
pub fn of_run(end: RunEnd) -> i32 {
    if end.error {
        ERROR
    } else if end.interrupted {
        INTERRUPTED
    } else if end.failed_or_uncertain > 0 {
        SOME_FAILED
    } else {
        SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_outranks_an_interruption_which_outranks_failures() {
        let end = |error, interrupted, failed_or_uncertain| {
            of_run(RunEnd {
                error,
                interrupted,
                failed_or_uncertain,
            })
        };
        assert_eq!(end(true, true, 3), ERROR);
        assert_eq!(end(false, true, 3), INTERRUPTED);
        assert_eq!(end(false, false, 3), SOME_FAILED);
        assert_eq!(end(false, false, 0), SUCCESS);
    }
}
