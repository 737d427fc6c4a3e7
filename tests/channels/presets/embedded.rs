//! `endpoint = "sandbox"` with a preset: a user's config as they would
//! write it for the real provider, without `base_url` and without a token,
//! sends through a sandbox the binary runs in-process speaking that
//! provider.

use super::catalog::{ALL, Place};
use super::harness::{Outcome, Workdir, sent_ids, sorted};

const MESSAGES: usize = 3;

/// Every preset, side by side: `base_url`, or the webhook's own `url`, is
/// replaced by the embedded sandbox's (nothing leaves the machine).
#[test]
fn endpoint_sandbox_sends_through_each_preset_without_base_url_or_token() {
    let runs: Vec<(&str, Vec<String>, Workdir, _)> = ALL
        .iter()
        .map(|preset| {
            let work = Workdir::new();
            let recipients = preset.recipients(MESSAGES);
            let rows: Vec<String> = recipients
                .iter()
                .enumerate()
                .map(|(i, recipient)| format!("{recipient},Name{i}"))
                .collect();
            work.csv("recipient,first_name", &rows);
            work.write(
                "outreach.toml",
                format!(
                    "endpoint = \"sandbox\"\n\n[channel]\ntype = \"{}\"\n{}{}",
                    preset.name,
                    preset.settings,
                    // The webhook's own URL, as a user writes it: the
                    // sandbox must take its place.
                    match preset.place {
                        Place::Url(_) => "url = \"https://hooks.example.test/outreach\"\n",
                        Place::BaseUrl => "",
                    }
                ),
            );
            let running = work
                .cmd(&["send", "data.csv", "--template", "message.txt"])
                .opt("--rate", "20/s")
                .flag("--no-progress")
                .opt("--events", "events.jsonl")
                .spawn();
            (preset.name, recipients, work, running)
        })
        .collect();
    assert_eq!(runs.len(), ALL.len());

    for (name, recipients, _work, running) in runs {
        let out: Outcome = running.wait_blocking();
        out.expect_code(0)
            .expect_stderr(&format!(
                "endpoint: the embedded sandbox speaking {name} at http://127.0.0.1:"
            ))
            .expect_stderr(&format!("Sent {MESSAGES} of {MESSAGES} messages"));
        // Each message got its own id from the provider's answer.
        let mut ids = sent_ids(&out);
        ids.dedup();
        assert_eq!(ids.len(), MESSAGES, "{name}\n{out}");
        assert_eq!(out.recipients("sent"), sorted(&recipients), "{out}");
    }
}
