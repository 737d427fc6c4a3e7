//! What the suite knows about each preset: the settings a user writes, the
//! recipients its provider accepts, one it refuses and in which words, and
//! whether its messages carry a subject. One entry per preset, so a
//! scenario is written once and run for all of them; [`every_preset_is_covered`]
//! fails when a preset is added without an entry here.

use outreach::sandbox::Provider;

/// Where the sandbox's URL goes in `[channel]`.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// `base_url = "<sandbox>"`: the preset adds the provider's path.
    BaseUrl,
    /// `url = "<sandbox><path>"`: the preset posts to the URL as written.
    Url(&'static str),
}

/// How the provider refuses a recipient.
#[derive(Debug, Clone, Copy)]
pub enum Refusal {
    /// `recipient` is refused (it contains "invalid", or matches one of
    /// `reject`, the sandbox's patterns), and the run's `failed` reason
    /// carries the provider's `words`.
    Recipient {
        recipient: &'static str,
        reject: &'static [&'static str],
        words: &'static str,
    },
    /// The recipient is not part of the request (a Discord webhook posts to
    /// its own channel): refusing the webhook refuses every message.
    NotPerRecipient,
}

/// How the provider tells a sender about its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limits {
    /// Every answer carries the remaining quota and its reset (SendGrid's
    /// `X-RateLimit-*`, Resend's `ratelimit-*`, Discord's): a lone sender
    /// pauses when it runs out, before any refusal.
    Quota,
    /// Only a refusal says so, with when to retry (`Retry-After`, a body's
    /// `retry_after`).
    Wait,
    /// A refusal with no wait: the sender backs off.
    Bare,
    /// A daily quota that resets at 00:00 UTC (LinkedIn).
    Daily,
}

/// One preset as the suite drives it.
#[derive(Debug)]
pub struct Preset {
    /// The `[channel] type`.
    pub name: &'static str,
    /// The sandbox personality that speaks the preset's provider.
    pub provider: Provider,
    pub place: Place,
    /// The preset's other settings, as TOML lines of `[channel]`.
    pub settings: &'static str,
    /// The `n`-th recipient (from 1) the provider accepts.
    pub recipient: fn(usize) -> String,
    pub refusal: Refusal,
    /// Whether the provider's messages carry the rendered subject.
    pub subject: bool,
    pub limits: Limits,
    /// Every message is recorded for this id instead of its recipient (a
    /// Discord webhook's id).
    pub recorded_as: Option<&'static str>,
}

impl Preset {
    /// The first `n` recipients.
    pub fn recipients(&self, n: usize) -> Vec<String> {
        (1..=n).map(self.recipient).collect()
    }

    /// What the sandbox records as the recipient of a message to `recipient`.
    pub fn recorded(&self, recipient: &str) -> String {
        self.recorded_as.unwrap_or(recipient).to_string()
    }
}

fn email(n: usize) -> String {
    format!("r{n:02}@example.test")
}

fn member(n: usize) -> String {
    format!("urn:li:person:member{n:02}")
}

fn phone(n: usize) -> String {
    format!("+1555000{n:04}")
}

fn slack_channel(n: usize) -> String {
    format!("C0SANDBOX{n:02}")
}

fn discord_channel(n: usize) -> String {
    format!("1100000000000000{n:03}")
}

/// Anything: a Discord webhook posts to its own channel.
fn webhook_member(n: usize) -> String {
    format!("member{n:02}")
}

fn chat(n: usize) -> String {
    (100_200_300 + n).to_string()
}

/// The id in the Discord webhook's URL.
pub const WEBHOOK_ID: &str = "223344556677889900";

pub const LINKEDIN: Preset = Preset {
    name: "linkedin",
    provider: Provider::LinkedIn,
    place: Place::BaseUrl,
    settings: "",
    recipient: member,
    refusal: Refusal::Recipient {
        recipient: "urn:li:person:invalid",
        reject: &[],
        words: "cannot receive messages from this member",
    },
    subject: true,
    limits: Limits::Daily,
    recorded_as: None,
};

pub const SENDGRID: Preset = Preset {
    name: "sendgrid",
    provider: Provider::SendGrid,
    place: Place::BaseUrl,
    settings: "from_email = \"ann@acme.test\"\nfrom_name = \"Ann\"\n",
    recipient: email,
    refusal: Refusal::Recipient {
        recipient: "gone@bounce.test",
        reject: &["*@bounce.test"],
        words: "Does not contain a valid address.",
    },
    subject: true,
    limits: Limits::Quota,
    recorded_as: None,
};

pub const MAILGUN: Preset = Preset {
    name: "mailgun",
    provider: Provider::Mailgun,
    place: Place::BaseUrl,
    settings: "domain = \"mg.acme.test\"\nfrom = \"Ann <ann@mg.acme.test>\"\n",
    recipient: email,
    refusal: Refusal::Recipient {
        recipient: "invalid@example.test",
        reject: &[],
        words: "to parameter is not a valid address",
    },
    subject: true,
    limits: Limits::Wait,
    recorded_as: None,
};

pub const POSTMARK: Preset = Preset {
    name: "postmark",
    provider: Provider::Postmark,
    place: Place::BaseUrl,
    settings: "from = \"Ann <ann@acme.test>\"\n",
    recipient: email,
    refusal: Refusal::Recipient {
        recipient: "gone@bounce.test",
        reject: &["*@bounce.test"],
        words: "marked as inactive",
    },
    subject: true,
    limits: Limits::Bare,
    recorded_as: None,
};

pub const RESEND: Preset = Preset {
    name: "resend",
    provider: Provider::Resend,
    place: Place::BaseUrl,
    settings: "from = \"Ann <ann@acme.test>\"\n",
    recipient: email,
    refusal: Refusal::Recipient {
        recipient: "invalid@example.test",
        reject: &[],
        words: "Invalid `to` field",
    },
    subject: true,
    limits: Limits::Quota,
    recorded_as: None,
};

pub const TWILIO: Preset = Preset {
    name: "twilio",
    provider: Provider::Twilio,
    place: Place::BaseUrl,
    settings: "account_sid = \"AC0123456789abcdef0123456789abcdef\"\nfrom = \"+15550006789\"\n",
    recipient: phone,
    refusal: Refusal::Recipient {
        recipient: "+15559990001",
        reject: &["+1555999*"],
        words: "Invalid 'To' Phone Number",
    },
    subject: false,
    limits: Limits::Bare,
    recorded_as: None,
};

pub const SLACK: Preset = Preset {
    name: "slack",
    provider: Provider::Slack,
    place: Place::BaseUrl,
    settings: "",
    recipient: slack_channel,
    refusal: Refusal::Recipient {
        recipient: "C0GONE",
        reject: &["C0GONE"],
        words: "channel_not_found",
    },
    subject: false,
    limits: Limits::Wait,
    recorded_as: None,
};

pub const DISCORD_WEBHOOK: Preset = Preset {
    name: "discord-webhook",
    provider: Provider::Discord,
    place: Place::BaseUrl,
    // The id is WEBHOOK_ID.
    settings: "webhook_id = \"223344556677889900\"\n",
    recipient: webhook_member,
    refusal: Refusal::NotPerRecipient,
    subject: false,
    limits: Limits::Quota,
    recorded_as: Some(WEBHOOK_ID),
};

pub const DISCORD_BOT: Preset = Preset {
    name: "discord-bot",
    provider: Provider::Discord,
    place: Place::BaseUrl,
    settings: "",
    recipient: discord_channel,
    refusal: Refusal::Recipient {
        recipient: "invalid-channel",
        reject: &[],
        words: "Unknown Channel",
    },
    subject: false,
    limits: Limits::Quota,
    recorded_as: None,
};

pub const TELEGRAM: Preset = Preset {
    name: "telegram",
    provider: Provider::Telegram,
    place: Place::BaseUrl,
    settings: "",
    recipient: chat,
    refusal: Refusal::Recipient {
        recipient: "@invalid_chat",
        reject: &[],
        words: "Bad Request: chat not found",
    },
    subject: false,
    limits: Limits::Wait,
    recorded_as: None,
};

pub const WEBHOOK: Preset = Preset {
    name: "webhook",
    provider: Provider::Webhook,
    place: Place::Url("/hooks/outreach"),
    settings: "",
    recipient: email,
    refusal: Refusal::Recipient {
        recipient: "gone@bounce.test",
        reject: &["gone@*"],
        words: "rejected_recipient",
    },
    subject: true,
    limits: Limits::Wait,
    recorded_as: None,
};

/// Every preset, in the order of `presets::names()`. A new one also goes
/// into the default list of `each_preset!` (presets.rs).
pub const ALL: [&Preset; 11] = [
    &LINKEDIN,
    &SENDGRID,
    &MAILGUN,
    &POSTMARK,
    &RESEND,
    &TWILIO,
    &SLACK,
    &DISCORD_WEBHOOK,
    &DISCORD_BOT,
    &TELEGRAM,
    &WEBHOOK,
];

#[test]
fn every_preset_is_covered() {
    let mut shipped: Vec<&str> = outreach::channel::http::presets::names().collect();
    let mut covered: Vec<&str> = ALL.iter().map(|preset| preset.name).collect();
    shipped.sort();
    covered.sort();
    assert_eq!(
        covered, shipped,
        "each preset needs an entry in tests/channels/presets/catalog.rs"
    );
}
