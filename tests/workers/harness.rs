//! What only the `workers` suite adds to the shared harness (`tests/common`):
//! a campaign of many accounts recorded with `send --detach` in a schema of
//! the test's own, workers started against it (each with its own events
//! file), and the reads the assertions need: the journal's rows by SQL,
//! the sandbox's arrivals by recipient and account, and the rolling-window
//! check copied from `tests/resume/harness.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use outreach::sandbox::{AcceptedMessage, HeaderDialect, SandboxConfig, WindowKind};

pub use crate::common::postgres::TestSchema;
pub use crate::common::{Cmd, Outcome, Rng, Running, Workdir, start};

/// The one token every account of these campaigns sends with.
pub const TOKEN: &str = "tok-workers-7e2a";

/// The campaign `data.csv` makes.
pub const CAMPAIGN: &str = "data";

/// The kill -9 test takes this for writing, every other test for reading:
/// it runs alone, so its arrival times measure the workers, not the CPU
/// its neighbours use (and the timing bounds of the others hold).
pub static GATE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// One sandbox account for all the campaign's accounts, with a limit far
/// above any test's rate: it never throttles, so every pacing seen is the
/// workers' own.
pub fn roomy_config() -> SandboxConfig {
    SandboxConfig {
        limit: "100000/s".parse().expect("valid sandbox limit"),
        window: WindowKind::Rolling,
        dialect: HeaderDialect::XRateLimit,
        tokens: vec![("shared".to_string(), TOKEN.to_string())],
        quiet: true,
        ..SandboxConfig::default()
    }
}

/// A campaign for workers: its work dir, its schema, where it sends.
pub struct Shared {
    pub work: Workdir,
    pub db: TestSchema,
    /// Recipient -> account, from the CSV.
    pub accounts: BTreeMap<String, String>,
}

impl Shared {
    /// `data.csv` with `accounts` accounts (`acct00`, ...) of `each`
    /// recipients, interleaved as a real list would be.
    pub fn new(db: TestSchema, accounts: usize, each: usize) -> Shared {
        let work = Workdir::new();
        let mut text = String::from("recipient,first_name,account\n");
        let mut map = BTreeMap::new();
        for i in 0..accounts * each {
            let (recipient, account) =
                (format!("w{i:05}@example.test"), account_name(i % accounts));
            text.push_str(&format!("{recipient},N{i},{account}\n"));
            map.insert(recipient, account);
        }
        work.write("data.csv", text).write(
            "message.txt",
            "Subject: Hello {{ first_name }}\n\nHi {{ first_name }}, a short note.\n",
        );
        Shared {
            work,
            db,
            accounts: map,
        }
    }

    pub fn recipients(&self) -> Vec<String> {
        self.accounts.keys().cloned().collect()
    }

    /// `send data.csv --detach` to `endpoint` at `rate` per account.
    pub fn send_detached(&self, endpoint: &str, rate: &str) -> Cmd {
        self.send(endpoint, rate).flag("--detach")
    }

    /// `send data.csv` (a sender of its own, no `--detach`).
    pub fn send(&self, endpoint: &str, rate: &str) -> Cmd {
        let events = format!("send-{}.jsonl", self.work.next_run());
        self.work
            .cmd(&["send", "data.csv"])
            .opt("--template", "message.txt")
            .opt("--state", &self.db.url_text)
            .delivery(endpoint, &events)
            .opt("--rate", rate)
            .token(TOKEN)
    }

    /// `worker` on this schema with a lease of `lease`, its own events file
    /// and the token; add `--until-idle` and the like.
    pub fn worker(&self, lease: &str) -> Cmd {
        self.worker_on(&self.db.url_text, lease)
    }

    /// `worker` as above, reaching the database at `state` (a proxy, say).
    pub fn worker_on(&self, state: &str, lease: &str) -> Cmd {
        let events = format!("worker-{}.jsonl", self.work.next_run());
        self.work
            .cmd(&["worker"])
            .opt("--state", state)
            .opt("--lease", lease)
            .opt("--poll", "500ms")
            .opt("--events", &events)
            .token(TOKEN)
    }

    /// The journal's messages, in file order.
    pub fn messages(&self) -> Vec<Message> {
        self.query(
            "SELECT recipient, state, failure_reason, idempotency_key FROM messages ORDER BY seq",
        )
        .into_iter()
        .map(|row| Message {
            recipient: row.get(0),
            state: row.get(1),
            reason: row.get(2),
            key: row.get(3),
        })
        .collect()
    }

    /// How many messages are in each state.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for message in self.messages() {
            *counts.entry(message.state).or_default() += 1;
        }
        counts
    }

    /// The accounts rows: (account, lease holder).
    pub fn holders(&self) -> Vec<(String, Option<String>)> {
        self.query("SELECT account, lease_holder FROM accounts ORDER BY account")
            .into_iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect()
    }

    /// Rows of `sql` run in the test's schema.
    pub fn query(&self, sql: &str) -> Vec<postgres::Row> {
        query(&self.db.url_text, sql)
    }

    /// Polls `ready` every 5 ms for up to `limit`; false if it never held.
    pub async fn wait_for(&self, limit: Duration, ready: impl Fn(&Shared) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if ready(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        false
    }
}

/// `acct00`, `acct01`, ...
pub fn account_name(i: usize) -> String {
    format!("acct{i:02}")
}

/// One row of the journal's `messages`.
#[derive(Debug, Clone)]
pub struct Message {
    pub recipient: String,
    pub state: String,
    pub reason: Option<String>,
    pub key: String,
}

/// Rows of `sql` on a connection of its own, on a thread of its own: the
/// synchronous client cannot run inside the tests' tokio runtimes.
pub fn query(url: &str, sql: &str) -> Vec<postgres::Row> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client.query(&sql, &[]).expect("query")
    })
    .join()
    .expect("the query thread does not panic")
}

/// How many times each recipient arrived at the sandbox.
pub fn arrivals(messages: &[AcceptedMessage]) -> BTreeMap<String, usize> {
    let mut arrivals = BTreeMap::new();
    for message in messages {
        for recipient in &message.recipients {
            *arrivals.entry(recipient.clone()).or_default() += 1;
        }
    }
    arrivals
}

/// Arrival times by account, the account read from the CSV (the sandbox
/// sees one token for all).
pub fn times_by_account(
    messages: &[AcceptedMessage],
    accounts: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<DateTime<Utc>>> {
    let mut times: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    for message in messages {
        let account = &accounts[&message.recipients[0]];
        times
            .entry(account.clone())
            .or_default()
            .push(message.received_at);
    }
    times
}

/// The first pair of times `count` apart (in sorted order) that are closer
/// than `period - tolerance`: more than `count` inside one window (as in
/// `tests/resume/harness.rs`).
pub fn breach(
    times: &[DateTime<Utc>],
    count: usize,
    period: TimeDelta,
    tolerance: TimeDelta,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let mut times = times.to_vec();
    times.sort();
    times
        .windows(count + 1)
        .map(|w| (w[0], w[count]))
        .find(|(first, last)| *last - *first < period - tolerance)
}

#[test]
fn the_window_check_finds_a_burst_and_passes_an_even_pace() {
    let at = |ms: i64| DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(ms);
    let even: Vec<_> = (0..10).map(|i| at(i * 50)).collect();
    let second = TimeDelta::seconds(1);
    let tolerance = TimeDelta::milliseconds(5);
    assert_eq!(breach(&even, 20, second, tolerance), None);
    assert_eq!(
        breach(&even, 2, TimeDelta::milliseconds(100), tolerance),
        None
    );
    // Three in 100 ms where two are allowed.
    assert_eq!(
        breach(
            &even,
            2,
            TimeDelta::milliseconds(101) + tolerance,
            tolerance
        ),
        Some((at(0), at(100)))
    );
}
