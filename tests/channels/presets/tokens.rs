//! A wrong token, wherever the preset puts it (a bearer or `Bot` header,
//! Basic auth, Postmark's own header, the URL path of Telegram and Discord
//! webhooks) and however the provider refuses it (401, Resend's 403,
//! Slack's HTTP 200 `invalid_auth`): the account stops at the first refusal
//! with a message naming the variable its token came from, nothing is
//! recorded or failed, the token is never printed, and `resume` with the
//! right token sends every message once.

use serde_json::Value;

use super::catalog::Preset;
use super::harness::{
    ACCOUNT, ROOMY, TOKEN, TOKEN_ENV, Workdir, assert_recorded_once, numbered, sandbox_config,
    start, stats,
};

const WRONG_TOKEN: &str = "tok-wrong-d00d";

async fn a_wrong_token_stops_the_account_and_resume_sends_everything(preset: &Preset) {
    let sandbox = start(sandbox_config(preset, ROOMY)).await;
    let work = Workdir::new();
    let recipients = preset.recipients(3);
    work.preset_campaign(preset, &sandbox, &recipients);

    let out = work.send_with("20/s", WRONG_TOKEN).run().await;

    out.expect_code(1)
        .expect_stderr("Sent 0 of 3 messages")
        .expect_stderr(&format!("account `{ACCOUNT}` stopped"))
        .expect_stderr(&format!("the environment variable {TOKEN_ENV}"))
        .expect_stderr("outreach resume");
    let stopped = out.events("account_stopped");
    assert_eq!(stopped.len(), 1, "{out}");
    let reason = stopped[0]["reason"].as_str().expect("reason");
    assert!(reason.contains(TOKEN_ENV), "{reason}");
    assert!(out.events("failed").is_empty(), "{out}");
    assert_eq!(out.finished()["pending"], Value::from(3), "{out}");
    let printed = format!("{}{}{:?}", out.stdout, out.stderr, out.events);
    assert!(
        !printed.contains(WRONG_TOKEN),
        "the token was printed\n{out}"
    );
    assert!(sandbox.messages().is_empty(), "{out}");
    // One refusal: the account does not try the others with the same token.
    assert_eq!(sandbox.stats(), stats(0, 0, 0, 1), "{out}");

    let again = work.resume_with(TOKEN).run().await;

    again.expect_code(0);
    assert_eq!(again.events("sent").len(), 3, "{again}");
    assert_recorded_once(preset, &sandbox.messages(), &numbered(&recipients), &again);
    assert_eq!(sandbox.stats(), stats(3, 0, 0, 1), "{again}");
    sandbox.shutdown().await;
}

mod a_wrong_token_stops_the_account_and_resume_sends_everything {
    each_preset!(super::a_wrong_token_stops_the_account_and_resume_sends_everything);
}
