//! `outreach send`: plan the campaign, then execute it against the API.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use super::args::{CampaignArgs, PlanOutputArgs};
use super::plan_cmd::{load_campaign, print_plan};
use crate::account::Account;
use crate::campaign::Campaign;
use crate::exit_codes;
use crate::journal::{CampaignStore, JournalHandle, JournalLock, NewMessage, SqliteStore};
use crate::options::OptionsError;
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::send::account::{AccountWork, Job};
use crate::send::api::{
    AccountToken, HttpApi, MessageApi, MessagePayload, OutgoingMessage, Token, endpoint_label,
};
use crate::send::clock::Clock;
use crate::send::events::{EventSink, FanOut, JsonLinesSink};
use crate::send::executor::{ExecSettings, RunContext, StopHandle, execute};
use crate::send::journal_recorder::JournalRecorder;
use crate::send::progress::{LiveProgress, PlainLog};
use crate::send::recorder::Recorder;
use crate::send::summary;
use crate::state::changes::match_campaign;
use crate::state::paths::{archive_path, default_state_path, explain_open_error};
use crate::state::saved::SavedOptions;
use crate::state::start;
use crate::throttle::BackoffPolicy;

/// The API used when neither `--endpoint` nor the config names one.
pub const DEFAULT_ENDPOINT: &str = "https://api.linkedin.com/v2/messages";
/// The endpoint value that runs the local sandbox in-process.
pub const SANDBOX_ENDPOINT: &str = "sandbox";

/// Flags of `send` and `resume` that shape how messages go out.
#[derive(Debug, Clone, Args)]
pub struct DeliveryArgs {
    /// The messages endpoint, or `sandbox` for a local demo API.
    ///
    /// The URL of POST /v2/messages, or `sandbox` to run a local rate-limited API inside
    /// outreach (no account or token needed) [default: the config's `endpoint`, else
    /// https://api.linkedin.com/v2/messages].
    ///
    /// Example: --endpoint http://127.0.0.1:8080/v2/messages
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Append every event as JSON Lines to FILE.
    ///
    /// Events: planned, sending, sent, throttled, retrying, failed, account paused/resumed,
    /// finished; one JSON object per line, with timestamps.
    ///
    /// Example: --events events.jsonl, then: tail -f events.jsonl | jq .
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,

    /// Log one line per event instead of progress bars.
    ///
    /// Example: outreach send recipients.csv --no-progress 2> send.log
    #[arg(long)]
    pub no_progress: bool,

    /// First retry delay; later ones double (full jitter) [default: 2s].
    ///
    /// Example: --retry-base 5s
    #[arg(long, value_name = "DURATION", hide_short_help = true)]
    pub retry_base: Option<String>,

    /// Longest retry delay [default: 10m].
    ///
    /// Example: --retry-cap 30m
    #[arg(long, value_name = "DURATION", hide_short_help = true)]
    pub retry_cap: Option<String>,

    /// Attempts per message before it fails [default: 6].
    ///
    /// Example: --retry-attempts 10
    #[arg(
        long,
        value_name = "N",
        hide_short_help = true,
        value_parser = super::args::count::<u32>
    )]
    pub retry_attempts: Option<u32>,

    /// Request timeout [default: 30s].
    ///
    /// Example: --timeout 1m
    #[arg(long, value_name = "DURATION", hide_short_help = true)]
    pub timeout: Option<String>,
}

/// `outreach send`.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Print the plan exactly as `outreach plan` does and send nothing.
    ///
    /// Example: outreach send recipients.csv --dry-run --format json
    #[arg(long)]
    pub dry_run: bool,
    /// The campaign journal [default: <csv name>.outreach.db beside the CSV].
    ///
    /// An SQLite file that records every message and attempt so the campaign can be resumed.
    ///
    /// Example: --state campaigns/q4.outreach.db
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Begin a new campaign even though this CSV already has one (the old journal is kept).
    ///
    /// Example: outreach send recipients.csv --restart
    #[arg(long)]
    pub restart: bool,
    #[command(flatten)]
    pub output: PlanOutputArgs,
}

impl SendArgs {
    /// Flag values `send` cannot use, found before any file is read.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if !self.dry_run
            && let Some(flag) = self.output.first_given()
        {
            return Err(OptionsError::OnlyWithDryRun { flag });
        }
        self.delivery.validate()
    }
}

impl DeliveryArgs {
    /// The duration flags, checked before anything is read or sent.
    pub fn validate(&self) -> Result<(), OptionsError> {
        for (flag, value) in [
            ("--retry-base", &self.retry_base),
            ("--retry-cap", &self.retry_cap),
            ("--timeout", &self.timeout),
        ] {
            duration_flag(flag, value.as_deref(), Duration::ZERO)?;
        }
        Ok(())
    }
}

fn duration_flag(
    flag: &'static str,
    value: Option<&str>,
    fallback: Duration,
) -> Result<Duration, OptionsError> {
    match value {
        Some(text) => humantime::parse_duration(text.trim()).map_err(|_| OptionsError::Duration {
            flag,
            input: text.to_string(),
        }),
        None => Ok(fallback),
    }
}

/// The `--retry-*` and `--timeout` flags applied over a fallback policy
/// (the config's for `send`, the saved one for `resume`).
pub fn apply_retry_flags(
    delivery: &DeliveryArgs,
    fallback: BackoffPolicy,
    fallback_timeout: Duration,
) -> anyhow::Result<(BackoffPolicy, Duration)> {
    let policy = BackoffPolicy {
        base: duration_flag(
            "--retry-base",
            delivery.retry_base.as_deref(),
            fallback.base,
        )?,
        cap: duration_flag("--retry-cap", delivery.retry_cap.as_deref(), fallback.cap)?,
        max_attempts: delivery
            .retry_attempts
            .unwrap_or(fallback.max_attempts)
            .max(1),
    };
    let timeout = duration_flag("--timeout", delivery.timeout.as_deref(), fallback_timeout)?;
    Ok((policy, timeout))
}

/// Retry policy from flags, then the config's `[retry]`, then defaults.
pub fn backoff_policy(
    delivery: &DeliveryArgs,
    campaign: &Campaign,
) -> anyhow::Result<(BackoffPolicy, Duration)> {
    let retry = &campaign.spec.config.config.retry;
    let defaults = BackoffPolicy::default();
    let fallback = BackoffPolicy {
        base: retry.base.map_or(defaults.base, |d| d.0),
        cap: retry.cap.map_or(defaults.cap, |d| d.0),
        max_attempts: retry.attempts.unwrap_or(defaults.max_attempts),
    };
    let timeout = retry.timeout.map_or(Duration::from_secs(30), |d| d.0);
    apply_retry_flags(delivery, fallback, timeout)
}

/// Where messages go, and the tokens to use for each account.
pub struct Target {
    pub api: Arc<dyn MessageApi>,
    pub tokens: Vec<AccountToken>,
    pub sandbox: Option<Sandbox>,
    pub endpoint: String,
}

/// Resolve the endpoint and every account's token, before anything is sent.
pub async fn connect(
    accounts: &[Account],
    configured_endpoint: Option<&str>,
    delivery: &DeliveryArgs,
    timeout: Duration,
) -> anyhow::Result<Target> {
    let endpoint = delivery
        .endpoint
        .clone()
        .or_else(|| configured_endpoint.map(str::to_string))
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    if endpoint == SANDBOX_ENDPOINT {
        let tokens: Vec<(String, String)> = accounts
            .iter()
            .map(|account| {
                (
                    account.name.clone(),
                    format!("sandbox-{}", blake3::hash(account.name.as_bytes()).to_hex()),
                )
            })
            .collect();
        let fastest = accounts
            .iter()
            .map(|a| a.rate)
            .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
            .unwrap_or(crate::rate::Rate::DEFAULT);
        let config = SandboxConfig {
            limit: fastest,
            tokens: tokens.clone(),
            quiet: true,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config, 0)
            .await
            .context("cannot start the embedded sandbox")?;
        let api = HttpApi::new(&sandbox.url(), timeout)?;
        say!(
            "endpoint: the embedded sandbox at {} (nothing leaves this machine)",
            sandbox.url()
        );
        return Ok(Target {
            api: Arc::new(api),
            tokens: tokens
                .into_iter()
                .map(|(account, token)| AccountToken {
                    account,
                    token: Token::new(token),
                    source: "the embedded sandbox".to_string(),
                })
                .collect(),
            sandbox: Some(sandbox),
            endpoint: SANDBOX_ENDPOINT.to_string(),
        });
    }
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        bail!(
            "endpoint `{endpoint}` is not a URL; use https://host/v2/messages, or `sandbox` for the local demo API"
        );
    }
    let mut tokens = Vec::new();
    let mut missing = Vec::new();
    for account in accounts {
        match std::env::var(&account.token_env) {
            Ok(value) if !value.trim().is_empty() => tokens.push(AccountToken {
                account: account.name.clone(),
                token: Token::new(value.trim().to_string()),
                source: format!("the environment variable {}", account.token_env),
            }),
            _ => missing.push(format!(
                "{} (account `{}`)",
                account.token_env, account.name
            )),
        }
    }
    if !missing.is_empty() {
        bail!(
            "no API token: set the environment variable {} before sending; nothing was sent. \
             Tokens are read only from the environment, never from flags or files",
            missing.join(", ")
        );
    }
    let api = HttpApi::new(&endpoint, timeout)?;
    say!("endpoint: {}", endpoint_label(&endpoint));
    Ok(Target {
        api: Arc::new(api),
        tokens,
        sandbox: None,
        endpoint,
    })
}

/// Per-account work from a new campaign's journal rows, in plan order.
pub fn work_from_new(
    campaign: &Campaign,
    messages: &[NewMessage],
    tokens: &[AccountToken],
) -> Vec<AccountWork> {
    // `connect` resolved a token for every account, or failed.
    let mut work: Vec<AccountWork> = campaign
        .accounts
        .iter()
        .filter_map(|account| {
            let token = tokens.iter().find(|t| t.account == account.name)?;
            Some(AccountWork {
                rules: account.clone(),
                token: token.token.clone(),
                token_source: token.source.clone(),
                jobs: Vec::new(),
                history: Vec::new(),
            })
        })
        .collect();
    for message in messages {
        let Some(account) = work.iter_mut().find(|w| w.rules.name == message.account) else {
            continue;
        };
        account.jobs.push(Job {
            seq: message.seq,
            recipient: message.recipient.clone(),
            message: OutgoingMessage {
                payload: MessagePayload {
                    recipients: vec![message.recipient.clone()],
                    subject: message.subject.clone(),
                    body: message.body.clone(),
                },
                idempotency_key: message.idempotency_key.clone(),
            },
            planned_at: message.planned_at,
            timezone: message
                .timezone
                .as_deref()
                .and_then(|zone| zone.parse().ok()),
        });
    }
    work
}

/// `send` on a CSV whose campaign exists: never send anyone again by accident,
/// and never take another campaign's journal for this one's.
/// Returns `Some(exit code)` when `send` must stop here.
fn existing_campaign(
    state: &Path,
    restart: bool,
    campaign: &Campaign,
) -> anyhow::Result<Option<i32>> {
    // A campaign being sent right now: say so, whatever else is true.
    drop(JournalLock::acquire(state)?);
    if restart {
        let archive = archive_path(state, chrono::Utc::now());
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let from = PathBuf::from(format!("{}{suffix}", state.display()));
            if from.exists() {
                let to = PathBuf::from(format!("{}{suffix}", archive.display()));
                std::fs::rename(&from, &to)
                    .with_context(|| format!("cannot move {} aside", from.display()))?;
            }
        }
        say!(
            "--restart: the previous journal is kept as {}",
            archive.display()
        );
        return Ok(None);
    }
    let store = SqliteStore::open_read_only(state).map_err(|e| explain_open_error(e, state))?;
    let Some(meta) = store.campaign()? else {
        return Err(explain_open_error(
            crate::journal::JournalError::NoCampaign {
                path: state.to_path_buf(),
            },
            state,
        ));
    };
    let saved_config = SavedOptions::of(&meta)
        .ok()
        .and_then(|saved| saved.flags.config);
    let config = campaign.spec.config.path.as_deref().map(start::absolute);
    match_campaign(
        state,
        &meta.inputs,
        saved_config.as_deref(),
        &start::input_digests(campaign),
        config.as_deref(),
    )?;
    let counts = store.summary()?.counts;
    let resume = format!("outreach resume --state {}", state.display());
    if counts.is_settled() {
        say!(
            "This campaign is already complete ({} sent, {} failed, {} skipped, journal {}); nothing was sent again.\n\
             To send to the same recipients again on purpose, use `outreach send --restart` (the old journal is kept).",
            counts.sent,
            counts.failed,
            counts.skipped,
            state.display()
        );
        return Ok(Some(exit_codes::SUCCESS));
    }
    bail!(
        "this CSV's campaign is already under way ({} sent, {} pending, {} uncertain, {} failed; journal {}); \
         nothing was sent. Continue it with `{resume}`, or begin a new campaign on purpose with --restart",
        counts.sent,
        counts.pending + counts.in_flight,
        counts.uncertain,
        counts.failed,
        state.display()
    )
}

/// Progress on a terminal, plain lines otherwise; plus the events file.
pub fn event_sinks(
    delivery: &DeliveryArgs,
    clock: Clock,
    zone: chrono_tz::Tz,
) -> anyhow::Result<Arc<dyn EventSink>> {
    let mut fan_out = FanOut::new();
    let live = !delivery.no_progress
        && io::stderr().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb");
    if live {
        fan_out.add(Box::new(ArcSink(LiveProgress::new(clock))));
    } else {
        fan_out.add(Box::new(PlainLog::new(Box::new(io::stderr()), zone)));
    }
    if let Some(path) = &delivery.events {
        let sink = JsonLinesSink::create(path)
            .with_context(|| format!("cannot open the events file {}", path.display()))?;
        fan_out.add(Box::new(sink));
    }
    Ok(Arc::new(fan_out))
}

struct ArcSink<T>(Arc<T>);

impl<T: EventSink> EventSink for ArcSink<T> {
    fn emit(&self, event: &crate::send::events::Event) {
        self.0.emit(event);
    }
    fn finish(&self) {
        self.0.finish();
    }
}

/// Ctrl-C / SIGTERM: the first stops gracefully, the second exits at once.
pub fn watch_signals(stop: StopHandle) {
    tokio::spawn(async move {
        let mut presses = 0;
        loop {
            wait_for_signal().await;
            presses += 1;
            if presses == 1 {
                // Stop first: the line below may go nowhere (stderr closed).
                stop.stop();
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

/// Execute `work` with progress, signals and a summary; returns the exit code.
pub async fn run_work(
    delivery: &DeliveryArgs,
    target: Target,
    work: Vec<AccountWork>,
    recorder: Arc<dyn Recorder>,
    settings: ExecSettings,
    resume_hint: &str,
) -> anyhow::Result<i32> {
    let clock = Clock::system();
    let events = event_sinks(delivery, clock, settings.timezone)?;
    let (context, stop) =
        RunContext::new(Arc::clone(&target.api), clock, recorder, events, settings);
    watch_signals(stop);
    let report = execute(context, work).await;
    let mut text = Vec::new();
    summary::write_summary(&mut text, &report, resume_hint)?;
    crate::console::bytes(&text);
    if let Some(sandbox) = target.sandbox {
        sandbox.shutdown().await;
    }
    Ok(summary::exit_code(&report))
}

pub fn run(args: SendArgs) -> anyhow::Result<i32> {
    args.validate()?;
    let campaign = load_campaign(&args.campaign)?;
    let slots = campaign.plan();
    if args.dry_run {
        print_plan(&campaign, &slots, &args.output)?;
        return Ok(exit_codes::SUCCESS);
    }
    let (backoff, timeout) = backoff_policy(&args.delivery, &campaign)?;
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| default_state_path(&args.campaign.csv));
    if state.exists()
        && let Some(code) = existing_campaign(&state, args.restart, &campaign)?
    {
        return Ok(code);
    }
    let endpoint = args
        .delivery
        .endpoint
        .clone()
        .or_else(|| campaign.spec.endpoint.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = connect(
            &campaign.accounts,
            endpoint.as_deref(),
            &args.delivery,
            timeout,
        )
        .await?;
        let new = start::new_campaign(
            &campaign,
            &slots,
            &args.campaign.flags(),
            &backoff,
            timeout,
            endpoint,
            chrono::Utc::now(),
        )?;
        let mut store = SqliteStore::create(&state)?;
        store.create_campaign(&new.meta, &new.messages)?;
        let journal = JournalHandle::spawn(store)?;
        let mut work = work_from_new(&campaign, &new.messages, &target.tokens);
        // A campaign that starts "now" starts when sending can begin: storing
        // a large plan takes a moment, and slots planned during it would all
        // be late at once.
        if args.campaign.start.is_none() {
            let setup = chrono::Utc::now() - campaign.spec.start;
            if setup > chrono::TimeDelta::zero() {
                for account in &mut work {
                    for job in &mut account.jobs {
                        job.planned_at += setup;
                    }
                }
            }
        }
        let settings = ExecSettings {
            windows: campaign.spec.windows.clone(),
            timezone: campaign.spec.timezone,
            backoff,
            claim_lead: crate::send::executor::CLAIM_LEAD,
        };
        let recorder = Arc::new(JournalRecorder::new(journal.clone()));
        let hint = format!("outreach resume --state {}", state.display());
        let code = run_work(&args.delivery, target, work, recorder, settings, &hint).await?;
        journal
            .close()
            .await
            .context("cannot finish writing the journal")?;
        Ok(code)
    })
}
