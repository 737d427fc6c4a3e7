//! A PostgreSQL schema of a test's own, on the server named by
//! `OUTREACH_TEST_DATABASE_URL`, dropped when the test ends (even when it
//! fails), so tests run in parallel and leave nothing behind.
//!
//! Without the variable (or with an unreachable server) the PostgreSQL
//! tests skip, saying so in ONE line per test binary on stderr (written past
//! the test harness's capture); with `OUTREACH_REQUIRE_POSTGRES=1` that is a
//! failure instead, as in CI.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use outreach::journal::DbUrl;

pub const URL_VAR: &str = "OUTREACH_TEST_DATABASE_URL";
pub const REQUIRE_VAR: &str = "OUTREACH_REQUIRE_POSTGRES";

/// The server's URL when the PostgreSQL tests can run.
pub fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let required = std::env::var(REQUIRE_VAR).is_ok_and(|value| value == "1");
            let why = match std::env::var(URL_VAR) {
                Err(_) => format!("{URL_VAR} is not set"),
                Ok(url) => match admin(&url, "SELECT 1") {
                    Ok(_) => return Some(url),
                    Err(error) => format!(
                        "the server in {URL_VAR} ({}) is unreachable: {error}",
                        outreach::journal::pg_url::redact(&url)
                    ),
                },
            };
            if required {
                panic!("{REQUIRE_VAR}=1 but {why}");
            }
            // Past the harness's capture: one visible line per test binary.
            let _ = writeln!(
                std::io::stderr(),
                "note: PostgreSQL tests of `{}` skipped: {why} (e.g. {URL_VAR}=postgres://postgres@127.0.0.1:5432/test)",
                env!("CARGO_CRATE_NAME")
            );
            None
        })
        .as_deref()
}

/// A schema of the test's own; `url` reaches it.
pub struct TestSchema {
    pub url: DbUrl,
    /// The same as text, for `--state` and the environment.
    pub url_text: String,
    server: String,
    name: String,
}

impl TestSchema {
    /// A new empty schema, or `None` when the PostgreSQL tests skip.
    pub fn create() -> Option<TestSchema> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let server = server()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "outreach_t_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin(server, &format!("CREATE SCHEMA {name}")).unwrap();
        let url = DbUrl::parse(server).unwrap().with_schema(&name);
        let separator = if server.contains('?') { '&' } else { '?' };
        let url_text = format!("{server}{separator}options=-csearch_path%3D{name}");
        Some(TestSchema {
            url,
            url_text,
            server: server.to_string(),
            name,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sql` in the schema (to look at or damage what a test made).
    pub fn execute(&self, sql: &str) {
        admin(&self.url_text, sql).unwrap();
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let _ = admin(
            &self.server,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        );
    }
}

/// Runs `sql` on a connection of its own, on a thread of its own: the
/// synchronous client cannot run inside the tests' tokio runtimes.
fn admin(url: &str, sql: &str) -> Result<(), postgres::Error> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        client.batch_execute(&sql)
    })
    .join()
    .expect("the admin thread does not panic")
}
