//! The `--smtp*` flags of `outreach sandbox`, and the banner lines they add.
//!
//! `--smtp` runs the SMTP server beside the HTTP API rather than instead of
//! it: the API's `GET /_sandbox/messages` is where received e-mails are
//! listed, and one process serving both lets a campaign mix channels. The
//! limit, window, faults, seed and `--quiet` are the sandbox's shared flags;
//! only what is SMTP's own is here. Parsed once, into an [`SmtpConfig`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;

use super::pattern::AddressPattern;
use super::settings::{DEFAULT_SMTP_PORT, SmtpConfig, SmtpUser, ThrottleReply};
use crate::settings::SandboxConfig;

/// The SMTP options of `outreach sandbox`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "SMTP server (with --smtp)")]
pub struct SmtpArgs {
    /// Also run an SMTP server on 127.0.0.1, beside the HTTP API. It shares
    /// --limit, --window, the faults, --seed, --quiet and the message list.
    #[arg(
        long,
        long_help = "Also run an SMTP server on 127.0.0.1, beside the HTTP API. It shares --limit, --window, the faults, --seed, --quiet and the message list (GET /_sandbox/messages).\n\nExample: outreach sandbox --smtp"
    )]
    pub smtp: bool,

    /// SMTP port, on 127.0.0.1 only; 0 picks a free port.
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = DEFAULT_SMTP_PORT,
        requires = "smtp",
        long_help = "SMTP port, on 127.0.0.1 only; 0 picks a free port.\n\nExample: outreach sandbox --smtp --smtp-port 0"
    )]
    pub smtp_port: u16,

    /// A user that may log in (AUTH PLAIN or LOGIN): NAME=PASSWORD.
    /// Repeatable; each has its own limit. None: no AUTH, and the limit is
    /// per envelope sender.
    #[arg(
        long = "smtp-user",
        value_name = "NAME=PASSWORD",
        requires = "smtp",
        long_help = "A user that may log in (AUTH PLAIN or LOGIN): NAME=PASSWORD. Repeatable; each has its own limit. With users, logging in is required; a wrong password gets 535 5.7.8. None: no AUTH, and the limit is per envelope sender.\n\nExample: outreach sandbox --smtp --smtp-user alice=s3cret"
    )]
    pub users: Vec<SmtpUser>,

    /// Refuse recipients matching PATTERN with 550 5.1.1 User unknown.
    #[arg(
        id = "smtp_reject",
        long = "smtp-reject",
        value_name = "PATTERN",
        requires = "smtp",
        long_help = "Refuse recipients matching PATTERN (`*` any characters, `?` one; case-insensitive) with 550 5.1.1 User unknown. Repeatable.\n\nExample: outreach sandbox --smtp --smtp-reject '*@bounce.test'"
    )]
    pub reject: Vec<AddressPattern>,

    /// Record a message to a recipient matching PATTERN, then drop the
    /// connection without replying to its DATA.
    #[arg(
        long = "smtp-drop",
        value_name = "PATTERN",
        requires = "smtp",
        long_help = "Record a message to a recipient matching PATTERN, then drop the connection without replying to its DATA: the client cannot tell whether it was sent. Deterministic, unlike --drop-rate. Repeatable.\n\nExample: outreach sandbox --smtp --smtp-drop 'lost-*@example.com'"
    )]
    pub drop: Vec<AddressPattern>,

    /// The reply over the limit: 421 (4.7.0, closes the connection) or
    /// 451 (4.7.1, keeps it open).
    #[arg(
        long = "smtp-throttle-reply",
        value_name = "CODE",
        value_enum,
        default_value_t = ThrottleReply::Close421,
        requires = "smtp",
        long_help = "The reply to MAIL FROM over the limit: 421 (`421 4.7.0 Try again later, closing connection`, as Gmail; the connection is closed) or 451 (`451 4.7.1 Try again later`; the connection stays open).\n\nExample: outreach sandbox --smtp --smtp-throttle-reply 451"
    )]
    pub throttle_reply: ThrottleReply,

    /// Write the STARTTLS certificate (PEM) to PATH for clients to trust.
    #[arg(
        long = "smtp-cert-out",
        value_name = "PATH",
        requires = "smtp",
        long_help = "Write the STARTTLS certificate (PEM, made at start, valid for localhost and 127.0.0.1) to PATH for clients to trust.\n\nExample: outreach sandbox --smtp --smtp-cert-out sandbox-cert.pem"
    )]
    pub cert_out: Option<PathBuf>,
}

impl SmtpArgs {
    /// The SMTP configuration, sharing limit, window, faults, seed and
    /// quietness with the HTTP sandbox's; `None` without `--smtp`.
    pub fn to_config(&self, shared: &SandboxConfig) -> Option<SmtpConfig> {
        self.smtp.then(|| SmtpConfig {
            port: self.smtp_port,
            limit: shared.limit,
            window: shared.window,
            users: self.users.clone(),
            throttle_reply: self.throttle_reply,
            reject: self.reject.clone(),
            drop: self.drop.clone(),
            fail_rate: shared.fail_rate,
            drop_rate: shared.drop_rate,
            latency: shared.latency,
            seed: shared.seed,
            cert_out: self.cert_out.clone(),
            quiet: shared.quiet,
        })
    }
}

/// The banner lines of the SMTP server, each starting with `smtp:`.
pub fn banner_lines(addr: SocketAddr, config: &SmtpConfig, cert_out: Option<&Path>) -> Vec<String> {
    let certificate = match cert_out {
        Some(path) => format!("certificate in {}", path.display()),
        None => "certificate not saved (--smtp-cert-out PATH)".to_string(),
    };
    let login = if config.users.is_empty() {
        "no login (leave username and password unset)".to_string()
    } else {
        let names: Vec<&str> = config.users.iter().map(|u| u.name.as_str()).collect();
        format!(
            "log in as {} with the password given to --smtp-user",
            names.join(", ")
        )
    };
    let per = if config.requires_auth() {
        "user"
    } else {
        "sender"
    };
    let throttle = config.throttle_reply.reply();
    let mut lines = vec![
        format!("smtp: listening on {addr} (STARTTLS offered for localhost; {certificate})"),
        format!(
            "smtp: point an account at host 127.0.0.1, port {}, TLS none or starttls; {login}",
            addr.port()
        ),
        format!(
            "smtp: limit {} per {per}, {} window, then {} {}",
            config.limit,
            config.window.name(),
            throttle.code,
            throttle.text
        ),
    ];
    let patterns = |patterns: &[AddressPattern]| {
        patterns
            .iter()
            .map(AddressPattern::as_text)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !config.reject.is_empty() {
        lines.push(format!("smtp: 550 5.1.1 for {}", patterns(&config.reject)));
    }
    if !config.drop.is_empty() {
        lines.push(format!(
            "smtp: no reply after DATA (connection dropped) for {}",
            patterns(&config.drop)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SmtpArgs,
    }

    fn parse(args: &[&str]) -> Result<SmtpArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("sandbox").chain(args.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn off_by_default_and_options_need_smtp() {
        let args = parse(&[]).unwrap();
        assert!(!args.smtp);
        assert_eq!(args.smtp_port, DEFAULT_SMTP_PORT);
        assert!(args.to_config(&SandboxConfig::default()).is_none());
        let error = parse(&["--smtp-port", "0"]).unwrap_err().to_string();
        assert!(error.contains("--smtp"), "{error}");
    }

    #[test]
    fn every_flag_and_the_shared_ones() {
        let args = parse(&[
            "--smtp",
            "--smtp-port",
            "0",
            "--smtp-user",
            "alice=pw-a",
            "--smtp-user",
            "bob=pw-b",
            "--smtp-reject",
            "*@bounce.test",
            "--smtp-drop",
            "lost@x.io",
            "--smtp-throttle-reply",
            "451",
            "--smtp-cert-out",
            "cert.pem",
        ])
        .unwrap();
        let shared = SandboxConfig {
            limit: "3/s".parse().unwrap(),
            drop_rate: 0.5,
            seed: 9,
            quiet: true,
            ..SandboxConfig::default()
        };
        let config = args.to_config(&shared).unwrap();
        assert_eq!(config.port, 0);
        assert_eq!(config.limit, shared.limit);
        assert_eq!(
            (config.drop_rate, config.seed, config.quiet),
            (0.5, 9, true)
        );
        assert_eq!(
            config.users,
            [SmtpUser::new("alice", "pw-a"), SmtpUser::new("bob", "pw-b")]
        );
        assert!(config.reject[0].matches("x@bounce.test"));
        assert!(config.drop[0].matches("LOST@x.io"));
        assert_eq!(config.throttle_reply, ThrottleReply::Defer451);
        assert_eq!(config.cert_out.as_deref(), Some(Path::new("cert.pem")));
    }

    #[test]
    fn bad_values_name_the_flag() {
        let error = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert!(error(&["--smtp", "--smtp-user", "alice"]).contains("NAME=PASSWORD"));
        assert!(error(&["--smtp", "--smtp-reject", ""]).contains("address pattern"));
        assert!(error(&["--smtp", "--smtp-throttle-reply", "429"]).contains("421"));
    }

    #[test]
    fn banner_names_address_login_limit_and_patterns_but_no_password() {
        let config = SmtpConfig {
            users: vec![SmtpUser::new("alice", "s3cret")],
            reject: vec!["*@bounce.test".parse().unwrap()],
            ..SmtpConfig::default()
        };
        let addr: SocketAddr = "127.0.0.1:2525".parse().unwrap();
        let lines = banner_lines(addr, &config, Some(Path::new("/tmp/c.pem")));
        assert_eq!(
            lines[0],
            "smtp: listening on 127.0.0.1:2525 (STARTTLS offered for localhost; certificate in /tmp/c.pem)"
        );
        assert!(lines[1].contains("port 2525") && lines[1].contains("log in as alice"));
        assert_eq!(
            lines[2],
            "smtp: limit 100/min per user, rolling window, then 421 4.7.0 Try again later, closing connection"
        );
        assert_eq!(lines[3], "smtp: 550 5.1.1 for *@bounce.test");
        assert_eq!(lines.len(), 4);
        assert!(lines.iter().all(|line| !line.contains("s3cret")));
        let open = banner_lines(addr, &SmtpConfig::default(), None);
        assert!(open[1].contains("no login"), "{}", open[1]);
        assert!(open[2].contains("per sender"), "{}", open[2]);
    }
}
