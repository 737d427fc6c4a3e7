//! `outreach sandbox`: the flags, the startup banner, and running until Ctrl-C.
//!
//! The flags are parsed into a [`SandboxConfig`] here and nowhere else (the
//! `--smtp*` ones into an `SmtpConfig` by [`SmtpArgs`]); the servers know
//! nothing of the command line. The banner is built as a string so its exact
//! shape (the first line is what scripts wait for) is tested without
//! spawning the binary.

use std::io::Write as _;
use std::time::Duration;

use clap::Args;
use rand::RngExt as _;

use super::limiter::WindowKind;
use super::providers::{self, Provider};
use super::rate_headers::HeaderDialect;
use super::server::Sandbox;
use super::settings::{SandboxConfig, TokenSpec, accounts_from_specs};
use super::smtp::{SmtpArgs, SmtpSandbox, args::banner_lines};
use outreach_rate::Rate;

/// `outreach sandbox` options.
#[derive(Debug, Clone, Args)]
#[command(after_long_help = "Examples:\n  \
    outreach sandbox\n  \
    outreach sandbox --port 0 --limit 3/s --window fixed --headers ietf\n  \
    outreach sandbox --token alice=tok-a --token bob=tok-b --limit 20/h\n  \
    outreach sandbox --fail-rate 0.1 --drop-rate 0.05 --latency 200ms --seed 42\n  \
    outreach sandbox --provider slack --token bot=xoxb-local --limit 1/s\n  \
    outreach sandbox --provider sendgrid --reject '*@bounce.test'\n  \
    outreach sandbox --smtp --smtp-user alice=s3cret --smtp-reject '*@bounce.test' --limit 3/s")]
pub struct SandboxArgs {
    /// Port to listen on, on 127.0.0.1 only; 0 picks a free port.
    #[arg(
        long,
        default_value_t = 8080,
        long_help = "Port to listen on, on 127.0.0.1 only; 0 picks a free port.\n\nExample: outreach sandbox --port 0"
    )]
    pub port: u16,

    /// Messages allowed per token: N/PERIOD, e.g. 100/min, 3/s, 20/h, 5/10s.
    #[arg(
        long,
        value_name = "N/PERIOD",
        default_value = "100/min",
        long_help = "Messages allowed per token: N/PERIOD, e.g. 100/min, 3/s, 20/h, 5/10s.\n\nExample: outreach sandbox --limit 5/10s"
    )]
    pub limit: Rate,

    /// How sends are counted: `rolling` (any span of PERIOD) or `fixed`
    /// (windows of PERIOD starting with their first send).
    #[arg(long, value_enum, default_value_t = WindowKind::Rolling, long_help = "How sends are counted: `rolling` (any span of PERIOD) or `fixed` (windows of PERIOD starting with their first send).\n\nExample: outreach sandbox --window fixed --limit 20/h")]
    pub window: WindowKind,

    /// Which rate-limit headers to send.
    #[arg(long = "headers", value_name = "DIALECT", value_enum, default_value_t = HeaderDialect::XRateLimit, long_help = "Which rate-limit headers to send.\n\nExample: outreach sandbox --headers ietf")]
    pub dialect: HeaderDialect,

    /// An accepted bearer token, optionally named: `TOKEN` or `NAME=TOKEN`.
    /// Repeat for several accounts, each with its own limit. Unnamed tokens
    /// are accounts `token1`, `token2`... by position. Default: one demo
    /// token, `sandbox-demo-token`, account `demo`.
    #[arg(
        long = "token",
        value_name = "[NAME=]TOKEN",
        long_help = "An accepted bearer token, optionally named: `TOKEN` or `NAME=TOKEN`. Repeat for several accounts, each with its own limit. Unnamed tokens are accounts `token1`, `token2`... by position. Default: one demo token, `sandbox-demo-token`, account `demo`.\n\nExample: outreach sandbox --token alice=tok-a --token bob=tok-b"
    )]
    pub tokens: Vec<TokenSpec>,

    /// Probability (0..1) of answering 503 without accepting the message.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability, long_help = "Probability (0..1) of answering 503 without accepting the message.\n\nExample: outreach sandbox --fail-rate 0.1 --seed 42")]
    pub fail_rate: f64,

    /// Probability (0..1) of accepting the message, then closing the
    /// connection without any response.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability, long_help = "Probability (0..1) of accepting the message, then closing the connection without any response.\n\nExample: outreach sandbox --drop-rate 0.05 --seed 42")]
    pub drop_rate: f64,

    /// Delay each request by a random time up to D, e.g. 50ms, 1s.
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration, long_help = "Delay each request by a random time up to D, e.g. 50ms, 1s.\n\nExample: outreach sandbox --latency 200ms")]
    pub latency: Option<Duration>,

    /// Seed for the fault sequence; the same seed replays the same faults.
    /// Default: random, printed at start when faults are on.
    #[arg(
        long,
        value_name = "N",
        long_help = "Seed for the fault sequence; the same seed replays the same faults. Default: random, printed at start when faults are on.\n\nExample: outreach sandbox --fail-rate 0.2 --seed 7"
    )]
    pub seed: Option<u64>,

    /// Do not print a line per accepted message.
    #[arg(
        long,
        short,
        long_help = "Do not print a line per accepted message.\n\nExample: outreach sandbox --quiet"
    )]
    pub quiet: bool,

    /// Speak a provider's API instead of the sandbox's own: its paths,
    /// authentication, success bodies, errors and throttle signals.
    #[arg(
        long,
        value_name = "NAME",
        value_enum,
        default_value_t = Provider::Default,
        long_help = "Speak a provider's API instead of the sandbox's own: its paths, authentication, success bodies, errors and throttle signals. Point the preset of the same name at the sandbox with base_url = <the sandbox URL>. `--headers` does not apply: each provider sends its own rate-limit headers (or none).\n\nExample: outreach sandbox --provider telegram --token bot=123:abc"
    )]
    pub provider: Provider,

    /// Under --provider: refuse recipients matching PATTERN (`*` any text,
    /// `?` one character, case-insensitive) as the provider refuses a bad
    /// recipient. Repeatable. Recipients containing "invalid" are always refused.
    #[arg(
        long,
        value_name = "PATTERN",
        long_help = "Under --provider: refuse recipients matching PATTERN (`*` any text, `?` one character, case-insensitive, over the whole recipient) as the provider refuses a bad recipient (SendGrid 400, Postmark 422 ErrorCode 406, Twilio 21211, Slack channel_not_found, ...). Repeatable. Recipients containing \"invalid\" are always refused under a provider.\n\nExample: outreach sandbox --provider postmark --reject '*@bounce.test'"
    )]
    pub reject: Vec<String>,

    /// Under --provider mailgun: answer 429 instead of the older 420 when
    /// over the limit.
    #[arg(
        long = "mailgun-429",
        long_help = "Under --provider mailgun: answer 429 instead of Mailgun's older 420 when over the limit.\n\nExample: outreach sandbox --provider mailgun --mailgun-429"
    )]
    pub mailgun_429: bool,

    #[command(flatten)]
    pub smtp: SmtpArgs,
}

fn probability(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number; expected a probability such as 0.1"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` is not between 0 and 1"))
    }
}

impl SandboxArgs {
    /// The configuration these flags describe; `seed` fills in `--seed`
    /// when it was not given.
    pub fn to_config(&self, seed: u64) -> SandboxConfig {
        SandboxConfig {
            limit: self.limit,
            window: self.window,
            dialect: self.dialect,
            tokens: accounts_from_specs(&self.tokens),
            fail_rate: self.fail_rate,
            drop_rate: self.drop_rate,
            latency: self.latency,
            seed: self.seed.unwrap_or(seed),
            quiet: self.quiet,
            provider: self.provider,
            reject: self.reject.clone(),
            mailgun_429: self.mailgun_429,
        }
    }
}

/// The lines printed at start. The first is always `listening on URL`;
/// `smtp_lines` (those of `--smtp`) come before the last, the Ctrl-C hint.
pub fn banner(base_url: &str, config: &SandboxConfig, smtp_lines: &[String]) -> String {
    let mut lines = vec![format!("listening on {base_url}")];
    if config.provider == Provider::Default {
        lines.push(format!(
            "send: POST {base_url}/v2/messages; inspect: GET {base_url}/_sandbox/messages, {base_url}/_sandbox/stats"
        ));
        lines.push(format!(
            "limit: {} per token, {} window; headers: {}",
            config.limit,
            config.window.name(),
            config.dialect.name()
        ));
    } else {
        lines.extend(providers::banner::lines(base_url, config));
    }
    if config.has_faults() {
        let latency = config.latency.map_or_else(
            || "no added latency".to_string(),
            |d| format!("latency up to {}", humantime::format_duration(d)),
        );
        lines.push(format!(
            "faults: fail {}, drop {}, {latency}, seed {} (rerun with --seed {} for the same faults)",
            config.fail_rate, config.drop_rate, config.seed, config.seed
        ));
    }
    for (account, token) in &config.tokens {
        lines.push(format!("token {account}: {token}"));
    }
    lines.extend(smtp_lines.iter().cloned());
    lines.push("press Ctrl-C to stop".to_string());
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Run the sandbox from the command line until Ctrl-C (or SIGTERM).
pub async fn run_cli(args: SandboxArgs) -> anyhow::Result<()> {
    let config = args.to_config(rand::rng().random());
    let smtp_config = args.smtp.to_config(&config);
    let sandbox = Sandbox::start(config, args.port).await?;
    // Beside the HTTP API, sharing its message list.
    let smtp = match smtp_config {
        Some(smtp_config) => {
            Some(SmtpSandbox::start_with_log(smtp_config, sandbox.message_log()).await?)
        }
        None => None,
    };
    let smtp_lines = smtp.as_ref().map_or_else(Vec::new, |smtp| {
        banner_lines(
            smtp.addr(),
            smtp.config(),
            smtp.config().cert_out.as_deref(),
        )
    });
    {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(banner(&sandbox.base_url(), sandbox.config(), &smtp_lines).as_bytes())?;
        stdout.flush()?;
    }
    wait_for_stop().await?;
    let stats = sandbox.stats();
    let smtp_stats = match smtp {
        Some(smtp) => {
            let stats = smtp.stats();
            smtp.shutdown().await;
            Some(stats)
        }
        None => None,
    };
    sandbox.shutdown().await;
    // As the main crate's `say!`: a closed stderr is no reason to fail at exit.
    let _ = writeln!(
        std::io::stderr().lock(),
        "sandbox stopped: {} accepted, {} throttled, {} replayed, {} faults, {} dropped, {} rejected, {} unauthorized",
        stats.accepted,
        stats.throttled,
        stats.replayed,
        stats.faults,
        stats.dropped,
        stats.rejected,
        stats.unauthorized
    );
    if let Some(smtp) = smtp_stats {
        let _ = writeln!(
            std::io::stderr().lock(),
            "smtp stopped: {} accepted ({} duplicates), {} throttled, {} faults, {} dropped, {} recipients rejected, {} failed logins",
            smtp.accepted,
            smtp.duplicates,
            smtp.throttled,
            smtp.faults,
            smtp.dropped,
            smtp.rejected_recipients,
            smtp.auth_failures
        );
    }
    Ok(())
}

#[cfg(unix)]
async fn wait_for_stop() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_stop() -> anyhow::Result<()> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SandboxArgs,
    }

    fn parse(args: &[&str]) -> Result<SandboxArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("sandbox").chain(args.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.port, 8080);
        let config = args.to_config(9);
        assert_eq!(config.limit, "100/min".parse().unwrap());
        assert_eq!(config.window, WindowKind::Rolling);
        assert_eq!(config.dialect, HeaderDialect::XRateLimit);
        assert_eq!(config.tokens, SandboxConfig::default().tokens);
        assert_eq!(
            (config.fail_rate, config.drop_rate, config.latency),
            (0.0, 0.0, None)
        );
        assert_eq!(config.seed, 9);
        assert!(!config.quiet);
    }

    #[test]
    fn every_flag() {
        let args = parse(&[
            "--port",
            "0",
            "--limit",
            "3/s",
            "--window",
            "fixed",
            "--headers",
            "x-ratelimit-epoch",
            "--token",
            "alice=a1",
            "--token",
            "b2",
            "--fail-rate",
            "0.25",
            "--drop-rate",
            "1",
            "--latency",
            "50ms",
            "--seed",
            "42",
            "--quiet",
        ])
        .unwrap();
        let config = args.to_config(9);
        assert_eq!(args.port, 0);
        assert_eq!(config.limit, Rate::new(3, Duration::from_secs(1)));
        assert_eq!(config.window, WindowKind::Fixed);
        assert_eq!(config.dialect, HeaderDialect::XRateLimitEpoch);
        assert_eq!(
            config.tokens,
            vec![
                ("alice".to_string(), "a1".to_string()),
                ("token2".to_string(), "b2".to_string())
            ]
        );
        assert_eq!((config.fail_rate, config.drop_rate), (0.25, 1.0));
        assert_eq!(config.latency, Some(Duration::from_millis(50)));
        assert_eq!(config.seed, 42);
        assert!(config.quiet);
    }

    #[test]
    fn every_dialect_parses_by_its_name() {
        for dialect in HeaderDialect::ALL {
            let args = parse(&["--headers", dialect.name()]).unwrap();
            assert_eq!(args.dialect, dialect);
        }
    }

    #[test]
    fn bad_values_name_the_problem() {
        let error = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert!(error(&["--fail-rate", "1.5"]).contains("not between 0 and 1"));
        assert!(error(&["--drop-rate", "x"]).contains("not a number"));
        assert!(error(&["--limit", "fast"]).contains("expected N/PERIOD"));
        assert!(error(&["--headers", "github"]).contains("x-ratelimit"));
        assert!(error(&["--window", "sliding"]).contains("rolling"));
        assert!(error(&["--token", "=x"]).contains("account name is empty"));
        assert!(error(&["--latency", "soon"]).contains("--latency"));
    }

    #[test]
    fn banner_starts_with_listening_and_lists_tokens() {
        let config = SandboxConfig {
            tokens: vec![("alice".into(), "a1".into()), ("bob".into(), "b2".into())],
            fail_rate: 0.1,
            seed: 7,
            ..SandboxConfig::default()
        };
        let text = banner("http://127.0.0.1:4321", &config, &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "listening on http://127.0.0.1:4321");
        assert_eq!(
            lines[2],
            "limit: 100/min per token, rolling window; headers: x-ratelimit"
        );
        assert!(
            lines[3].starts_with("faults: fail 0.1, drop 0, no added latency, seed 7"),
            "{}",
            lines[3]
        );
        assert_eq!(lines[4], "token alice: a1");
        assert_eq!(lines[5], "token bob: b2");
        let quiet = banner("http://127.0.0.1:1", &SandboxConfig::default(), &[]);
        assert!(!quiet.contains("faults"));
        assert!(quiet.contains("token demo: sandbox-demo-token"));
        let with_smtp = banner(
            "http://127.0.0.1:1",
            &SandboxConfig::default(),
            &["smtp: listening on 127.0.0.1:2525".to_string()],
        );
        let lines: Vec<&str> = with_smtp.lines().collect();
        assert_eq!(lines[0], "listening on http://127.0.0.1:1");
        assert_eq!(lines[lines.len() - 2], "smtp: listening on 127.0.0.1:2525");
        assert_eq!(lines[lines.len() - 1], "press Ctrl-C to stop");
    }

    #[test]
    fn provider_flags() {
        let args = parse(&[
            "--provider",
            "mailgun",
            "--reject",
            "*@bounce.test",
            "--reject",
            "+1555*",
            "--mailgun-429",
        ])
        .unwrap();
        let config = args.to_config(1);
        assert_eq!(config.provider, Provider::Mailgun);
        assert_eq!(config.reject, ["*@bounce.test", "+1555*"]);
        assert!(config.mailgun_429);
        assert_eq!(parse(&[]).unwrap().to_config(1).provider, Provider::Default);
        for provider in Provider::ALL {
            assert_eq!(
                parse(&["--provider", provider.name()]).unwrap().provider,
                provider
            );
        }
        let error = parse(&["--provider", "gmail"]).unwrap_err().to_string();
        assert!(
            error.contains("sendgrid") && error.contains("telegram"),
            "{error}"
        );
    }
}
