//! Builds a big campaign journal, part of it already sent, for timing
//! `outreach status` and `outreach resume` on it.
//!
//! The journal is made exactly as `outreach send` makes it (the same
//! `Campaign::load`, plan and `state::start::new_campaign`, so its
//! `options_json`, input digests, keys and row digests are the real thing),
//! with the campaign's start set back in time so that the first `--sent N`
//! messages are due in the past. Those are then recorded as sent the way the
//! executor records them: a claim (`in_flight`) at the planned time, an
//! attempt with a 201 and rate-limit headers, and a `sent` outcome 20 ms
//! later. The rest stay pending, so a resume re-plans them from now with the
//! recent sends counted against the rate window.
//!
//! Run (see benches/journal_e2e.sh):
//! `cargo run --release --example big_journal -- big.csv t.txt big.outreach.db --rate 100/s --sent 500000`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{TimeDelta, Utc};
use outreach::campaign::Campaign;
use outreach::journal::{
    AttemptRecord, CampaignStore, JournalUpdate, Outcome, RateLimitSnapshot, SqliteStore,
};
use outreach::options::{self, CampaignFlags};
use outreach::rate::Rate;
use outreach::state::start::new_campaign;
use outreach::throttle::BackoffPolicy;

struct Args {
    csv: PathBuf,
    template: PathBuf,
    out: PathBuf,
    rate: String,
    sent: usize,
    endpoint: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let usage =
        "usage: big_journal CSV TEMPLATE OUT.db [--rate N/PERIOD] [--sent N] [--endpoint URL]";
    let mut positional = Vec::new();
    let (mut rate, mut sent, mut endpoint) = ("100/s".to_string(), None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{arg} needs a value; {usage}"))
        };
        match arg.as_str() {
            "--rate" => rate = value()?,
            "--sent" => sent = Some(value()?.parse().context("--sent: not a number")?),
            "--endpoint" => endpoint = Some(value()?),
            _ if arg.starts_with("--") => bail!("unknown flag {arg}; {usage}"),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let [csv, template, out] =
        <[PathBuf; 3]>::try_from(positional).map_err(|_| anyhow::anyhow!("{usage}"))?;
    Ok(Args {
        csv,
        template,
        out,
        rate,
        sent: sent.unwrap_or(usize::MAX),
        endpoint,
    })
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if args.out.exists() {
        bail!("{} exists; remove it first", args.out.display());
    }
    let rate: Rate = args.rate.parse().context("--rate")?;
    let started = Instant::now();
    let now = Utc::now();

    // First pass only to count the messages (duplicates and all), so the
    // start can be set back by exactly `sent` intervals.
    let mut flags = CampaignFlags {
        csv: args.csv.clone(),
        template: Some(args.template.clone()),
        rate: Some(args.rate.clone()),
        timezone: Some("UTC".into()),
        start: Some(now.to_rfc3339()),
        ..CampaignFlags::default()
    };
    let cwd = std::env::current_dir()?;
    let spec = options::resolve(&flags, now, &cwd, chrono_tz::UTC)?;
    let campaign = Campaign::load(spec)?;
    let accounts = campaign.accounts.len().max(1);
    let sent = args.sent.min(campaign.messages.len());
    let per_account = sent.div_ceil(accounts) as u32;
    let back = TimeDelta::from_std(rate.interval() * per_account)?;
    flags.start = Some((now - back).to_rfc3339());
    let spec = options::resolve(&flags, now, &cwd, chrono_tz::UTC)?;
    let campaign = Campaign::load(spec)?;
    let slots = campaign.plan();
    eprintln!(
        "loaded and planned {} messages in {:.1?}",
        slots.len(),
        started.elapsed()
    );

    let new = new_campaign(
        &campaign,
        &slots,
        &flags,
        &BackoffPolicy::default(),
        Duration::from_secs(30),
        args.endpoint.clone(),
        now - back,
    )?;
    drop(campaign);
    let mut store = SqliteStore::create(&args.out)?;
    store.create_campaign(&new.meta, &new.messages)?;
    eprintln!(
        "stored the campaign ({} messages) in {:.1?}",
        new.messages.len(),
        started.elapsed()
    );

    // Record the messages due before `now` as sent, in plan order.
    let due: Vec<_> = new
        .messages
        .iter()
        .filter(|m| m.planned_at < now)
        .take(sent)
        .collect();
    for chunk in due.chunks(50_000) {
        let mut batch = Vec::with_capacity(chunk.len() * 3);
        for message in chunk {
            let at = message.planned_at;
            let done = at + TimeDelta::milliseconds(20);
            batch.push(JournalUpdate::InFlight {
                seq: message.seq,
                at,
            });
            batch.push(JournalUpdate::Attempt(AttemptRecord {
                seq: message.seq,
                at: done,
                status: Some(201),
                rate_limit: Some(RateLimitSnapshot {
                    limit: Some(100_000),
                    remaining: Some(99_999),
                    reset_at: Some(done + TimeDelta::seconds(1)),
                }),
                error: None,
            }));
            batch.push(JournalUpdate::Outcome {
                seq: message.seq,
                outcome: Outcome::Sent {
                    at: done,
                    api_message_id: Some(format!("msg-{}", message.seq)),
                },
            });
        }
        let refused = store.record(&batch)?;
        if !refused.is_empty() {
            bail!("{} claims refused", refused.len());
        }
    }
    let summary = store.summary()?;
    eprintln!(
        "{}: {} messages, {} sent, {} pending; built in {:.1?}",
        args.out.display(),
        summary.counts.total,
        summary.counts.sent,
        summary.counts.pending,
        started.elapsed()
    );
    Ok(())
}
