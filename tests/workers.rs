//! `outreach worker` (issue 14), the real binary against the sandbox and a
//! real PostgreSQL: workers sharing campaigns through account leases.
//!
//! - `basics`: `send --detach`, two workers finishing a campaign, the
//!   errors that name what to fix;
//! - `kill`: three workers, one killed with kill -9 every two seconds: no
//!   duplicate, nothing lost, no rolling window over its limit;
//! - `takeover`: what a killed worker left in flight, uncertain or sent
//!   again with its Idempotency-Key (`--resend-uncertain`);
//! - `fencing`: a lease taken away stops its account at once;
//! - `exclusion`: a `send` of its own keeps workers off its campaign until
//!   it dies;
//! - `interrupt`: Ctrl-C gives the leases back;
//! - `outage`: every connection to the database cut for a while (a TCP
//!   proxy): the workers pause, keep running and finish, losing nothing;
//! - `leases`: the lease statements under concurrent journal transactions.
//!
//! Each test works in a PostgreSQL schema of its own on the server named by
//! `OUTREACH_TEST_DATABASE_URL` (tests/common/postgres.rs); without it the
//! tests that need a server skip with one line saying so.

#[path = "workers/basics.rs"]
mod basics;
mod common;
#[path = "workers/domains.rs"]
mod domains;
#[path = "workers/exclusion.rs"]
mod exclusion;
#[path = "workers/fencing.rs"]
mod fencing;
#[path = "workers/harness.rs"]
mod harness;
#[path = "workers/interrupt.rs"]
mod interrupt;
#[path = "workers/kill.rs"]
mod kill;
#[path = "workers/leases.rs"]
mod leases;
#[path = "workers/outage.rs"]
mod outage;
#[path = "workers/takeover.rs"]
mod takeover;
