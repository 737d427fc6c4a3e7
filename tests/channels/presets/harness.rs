//! What the preset scenarios add to the shared harness (`tests/common`): a
//! sandbox speaking a preset's provider on 127.0.0.1, a campaign whose
//! outreach.toml points that preset at it, and `send` / `resume` / `status`
//! runs of the real binary with fast retries and an events file per run.
//!
//! The one account is `alice`, whose token is read from
//! [`TOKEN_ENV`]; the sandbox knows her as [`TOKEN`].

use outreach::sandbox::{AcceptedMessage, Sandbox, SandboxConfig, Stats};
use serde_json::Value;

use super::catalog::{Place, Preset, Refusal};
pub use crate::common::{Cmd, Outcome, Workdir, sorted, start};

/// The account every scenario sends from.
pub const ACCOUNT: &str = "alice";
/// The variable outreach.toml names for her token.
pub const TOKEN_ENV: &str = "OUTREACH_TEST_ALICE_TOKEN";
/// The token the sandbox accepts for her.
pub const TOKEN: &str = "tok-alice-5e0c91";
/// The campaign's journal, relative to the work dir.
pub const STATE: &str = "data.outreach.db";

/// A quiet sandbox speaking `preset`'s provider: `limit` per token,
/// [`TOKEN`] for [`ACCOUNT`], and the preset's reject patterns.
pub fn sandbox_config(preset: &Preset, limit: &str) -> SandboxConfig {
    let reject = match preset.refusal {
        Refusal::Recipient { reject, .. } => reject.iter().map(|p| p.to_string()).collect(),
        Refusal::NotPerRecipient => Vec::new(),
    };
    SandboxConfig {
        limit: limit.parse().expect("valid sandbox limit"),
        tokens: vec![(ACCOUNT.to_string(), TOKEN.to_string())],
        provider: preset.provider,
        reject,
        quiet: true,
        ..SandboxConfig::default()
    }
}

/// A limit no scenario's `--rate` reaches.
pub const ROOMY: &str = "100/s";

/// The body the default template renders for the `i`-th row (from 0).
pub fn rendered_body(i: usize) -> String {
    format!("Hi Name{i}, a short note.")
}

/// The subject the default template renders for the `i`-th row (from 0).
pub fn rendered_subject(i: usize) -> String {
    format!("Hello Name{i}")
}

/// `outreach.toml` with `[channel]` set to `preset` at `sandbox`, and
/// `accounts` whose tokens are all read from [`TOKEN_ENV`].
pub fn config(preset: &Preset, sandbox: &Sandbox, accounts: &[&str]) -> String {
    let place = match preset.place {
        Place::BaseUrl => format!("base_url = \"{}\"", sandbox.base_url()),
        Place::Url(path) => format!("url = \"{}{path}\"", sandbox.base_url()),
    };
    let mut text = format!(
        "[channel]\ntype = \"{}\"\n{place}\n{}\n",
        preset.name, preset.settings
    );
    for account in accounts {
        text.push_str(&format!(
            "[[accounts]]\nname = \"{account}\"\ntoken_env = \"{TOKEN_ENV}\"\n"
        ));
    }
    text
}

/// The suite's conveniences on a work dir holding one campaign
/// (`data.csv`, `message.txt`, `outreach.toml`) and its journal.
impl Workdir {
    /// A campaign to `recipients` through `preset` at `sandbox`, all sent
    /// by [`ACCOUNT`].
    pub fn preset_campaign(&self, preset: &Preset, sandbox: &Sandbox, recipients: &[String]) {
        self.preset_campaign_for(preset, sandbox, recipients, &[ACCOUNT]);
    }

    /// As [`Workdir::preset_campaign`], the rows dealt to `accounts` in
    /// turn.
    pub fn preset_campaign_for(
        &self,
        preset: &Preset,
        sandbox: &Sandbox,
        recipients: &[String],
        accounts: &[&str],
    ) {
        let rows: Vec<String> = recipients
            .iter()
            .enumerate()
            .map(|(i, recipient)| {
                let account = accounts[i % accounts.len()];
                format!("{recipient},Name{i},{account}")
            })
            .collect();
        self.csv("recipient,first_name,account", &rows);
        self.write("outreach.toml", config(preset, sandbox, accounts));
    }

    /// `outreach send data.csv` with fast retries, its own events file and
    /// `token` in [`TOKEN_ENV`]; the channel is outreach.toml's.
    pub fn send_with(&self, rate: &str, token: &str) -> Cmd {
        let run = self
            .cmd(&["send", "data.csv"])
            .opt("--template", "message.txt")
            .opt("--rate", rate);
        self.fast(run).env(TOKEN_ENV, token)
    }

    /// `outreach resume` of the campaign, as [`Workdir::send_with`].
    pub fn resume_with(&self, token: &str) -> Cmd {
        let run = self.cmd(&["resume"]).opt("--state", STATE);
        self.fast(run).env(TOKEN_ENV, token)
    }

    fn fast(&self, run: Cmd) -> Cmd {
        run.flag("--no-progress")
            .opt("--events", &format!("events-{}.jsonl", self.next_run()))
            .opt("--retry-base", "50ms")
            .opt("--retry-cap", "500ms")
            .opt("--retry-attempts", "4")
            .opt("--timeout", "2s")
    }

    /// `outreach status --json`, parsed; panics unless exit 0.
    pub fn status(&self) -> Value {
        let out = self
            .cmd(&["status", "--json", "--state", STATE])
            .run_blocking();
        out.expect_code(0);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("status --json is not JSON: {e}\n{out}"))
    }
}

/// Asserts that the sandbox recorded exactly one message for each of
/// `recipients` (the `i`-th from row `rows[i]`), from [`ACCOUNT`], with the
/// text rendered for its row, and the subject where the provider has one.
#[track_caller]
pub fn assert_recorded_once(
    preset: &Preset,
    messages: &[AcceptedMessage],
    recipients: &[(usize, String)],
    out: &Outcome,
) {
    assert_eq!(
        messages.len(),
        recipients.len(),
        "{} recorded {} messages for {} recipients: {messages:#?}\n{out}",
        preset.name,
        messages.len(),
        recipients.len()
    );
    for (row, recipient) in recipients {
        let body = rendered_body(*row);
        // A Discord webhook records its own id for every message: the
        // rendered text tells them apart.
        let found: Vec<&AcceptedMessage> = messages
            .iter()
            .filter(|m| m.recipients == [preset.recorded(recipient)] && m.body == body)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{}: {recipient} should be recorded once with {body:?}: {messages:#?}\n{out}",
            preset.name
        );
        let message = found[0];
        assert_eq!(message.account, ACCOUNT, "{message:?}");
        let subject = preset.subject.then(|| rendered_subject(*row));
        assert_eq!(message.subject, subject, "{}: {message:?}", preset.name);
    }
}

/// Rows `0..n` and their recipients, for [`assert_recorded_once`].
pub fn numbered(recipients: &[String]) -> Vec<(usize, String)> {
    recipients.iter().cloned().enumerate().collect()
}

/// The sandbox's counters with only these set.
pub fn stats(accepted: u64, throttled: u64, rejected: u64, unauthorized: u64) -> Stats {
    Stats {
        accepted,
        throttled,
        rejected,
        unauthorized,
        ..Stats::default()
    }
}

/// The `ids` of `messages`, sorted.
pub fn message_ids(messages: &[AcceptedMessage]) -> Vec<String> {
    let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    sorted(&ids)
}

/// The `message_id` of every `sent` event, sorted.
pub fn sent_ids(out: &Outcome) -> Vec<String> {
    let ids: Vec<String> = out
        .events("sent")
        .iter()
        .map(|e| {
            e["message_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no message_id in {e}\n{out}"))
                .to_string()
        })
        .collect();
    sorted(&ids)
}

/// What the suite asks of a run beyond the shared harness.
impl Outcome {
    /// The one `finished` event.
    #[track_caller]
    pub fn finished(&self) -> &Value {
        let finished = self.events("finished");
        assert_eq!(finished.len(), 1, "one `finished` event\n{self}");
        finished[0]
    }
}
