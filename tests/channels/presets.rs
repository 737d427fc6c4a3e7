//! Every HTTP preset end to end (issue 12, item 6): the real binary's
//! `outreach send` and `resume` deliver through each preset to a sandbox
//! the test starts on 127.0.0.1 speaking that preset's provider, pointed at
//! by the preset's `base_url` (or the webhook's `url`), with the token in
//! the variable the account names. Assertions come from what the sandbox
//! recorded and from each run's `--events` file.
//!
//! Scenarios, each run for every preset it applies to (tests are named
//! `channels::presets::<module>::<scenario>::<preset>`):
//! - [`delivery`]: the request is accepted as the provider wants it, each
//!   recipient recorded once with the rendered text; a refused recipient
//!   fails with the provider's words while the others are sent.
//! - [`throttling`]: a provider limit below the campaign's rate is
//!   signalled the provider's way and every message still goes once;
//!   LinkedIn's 429 pauses the account until the next 00:00 UTC.
//! - [`tokens`]: a wrong token stops the account naming its variable, and
//!   `resume` with the right one sends everything once.
//! - [`idempotency`]: Resend replays a resent uncertain message by its
//!   Idempotency-Key instead of sending it twice.
//! - [`embedded`]: `endpoint = "sandbox"` with a preset and no `base_url`.
//!
//! [`catalog`] describes each preset once; [`harness`] builds campaigns
//! and runs on top of `tests/common`.

/// One test per preset, each running `scenario(&PRESET)`: for every preset
/// in the catalog, or for those listed as `test_name PRESET`.
macro_rules! each_preset {
    ($scenario:path) => {
        each_preset!($scenario;
            linkedin LINKEDIN, sendgrid SENDGRID, mailgun MAILGUN, postmark POSTMARK,
            resend RESEND, twilio TWILIO, slack SLACK, discord_webhook DISCORD_WEBHOOK,
            discord_bot DISCORD_BOT, telegram TELEGRAM, webhook WEBHOOK);
    };
    ($scenario:path; $($test:ident $preset:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $test() {
                $scenario(&crate::channels::presets::catalog::$preset).await;
            }
        )+
    };
}

// After the macro: modules see it in textual order.
mod catalog;
mod delivery;
mod embedded;
mod harness;
mod idempotency;
mod throttling;
mod tokens;
