//! The group-commit writer: the executor's only way to write the journal
//! while sending.
//!
//! The rule it keeps: a message is `in_flight` in a durable commit before its
//! request leaves the process. One fsync per message would cap a sender at a
//! few hundred messages a second, so a dedicated thread owns the store and
//! commits in groups:
//!
//! ```text
//!  senders ──begin_send / record / flush──► channel ──► writer thread
//!     ▲                                                   │ drains everything queued,
//!     └────────── acks (after the commit) ◄───────────────┘ commits it as ONE transaction
//! ```
//!
//! Every caller of [`JournalHandle::begin_send`] waiting at the same time
//! shares one commit, and [`JournalHandle::record`] updates ride along in it,
//! in the order they were queued. A claim is acknowledged only after the
//! commit containing it returned, i.e. is on disk. While the writer is busy,
//! updates that nobody waits on are gathered for up to [`OUTCOME_LINGER`]
//! before they commit on their own, so a fast sender's outcomes share
//! commits too.
//!
//! Failures are never swallowed: when a commit fails, every claim in it and
//! every later claim fails with [`JournalError::WriterFailed`] (so the
//! executor stops sending), and `flush`/`close` report it. The updates of the
//! failed batch are then retried one by one, so one bad update does not turn
//! every other outcome in its batch into an uncertain message.
//!
//! A store that rides out a lost database connection (PostgreSQL) simply
//! takes longer to answer: the writer waits, and so does every claim, with
//! no timeout. [`JournalHandle::give_up_waiting`] (Ctrl-C) ends such a wait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::journal::error::JournalError;
use crate::journal::store::{CampaignStore, JournalUpdate};

/// The most requests one transaction takes, to bound a claim's latency.
const MAX_BATCH: usize = 4096;

/// How long a batch of attempts and outcomes alone waits for more before it
/// commits, while the writer is busy ([`BUSY_AT`]). Nobody waits on those (a
/// claim, a flush or a close ends the wait at once), so gathering them costs
/// no request any time, while committing them as they came made a fast
/// sender pay a commit (an fsync) for every two or three messages. A writer
/// that is not busy (a campaign at any real rate) commits an outcome at
/// once, as before. The price, only while busy: a `kill -9` can lose up to
/// this long's outcomes, whose messages `resume` then counts uncertain,
/// never sends again.
const OUTCOME_LINGER: Duration = Duration::from_millis(2);

/// The writer is busy when this many requests came in while it wrote its
/// last commit: more than one message's worth (its claim, attempt and
/// outcome), which a sender at any campaign's rate never makes.
const BUSY_AT: usize = 4;

type Ack = oneshot::Sender<Result<(), JournalError>>;

enum Request {
    Begin {
        seq: u64,
        at: DateTime<Utc>,
        ack: Ack,
    },
    Update(JournalUpdate),
    Flush(Ack),
    Close(Ack),
}

/// Counters for tests, benchmarks and `--verbose` output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: u64,
    /// Claims granted (`begin_send` calls that returned `Ok`).
    pub claims: u64,
    /// Updates written (attempts and outcomes).
    pub updates: u64,
}

#[derive(Default)]
struct Shared {
    failure: Mutex<Option<Arc<JournalError>>>,
    lost_updates: AtomicU64,
    commits: AtomicU64,
    claims: AtomicU64,
    updates: AtomicU64,
}

impl Shared {
    fn failure(&self) -> Option<Arc<JournalError>> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Keeps the first failure: it is the cause, later ones are consequences.
    fn fail(&self, error: JournalError) -> Arc<JournalError> {
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failure.get_or_insert_with(|| Arc::new(error)).clone()
    }

    fn closed(&self) -> JournalError {
        JournalError::WriterClosed {
            lost_updates: self.lost_updates.load(Ordering::Relaxed),
        }
    }
}

/// A cheap, cloneable handle on the writer thread. Send + Sync: give a clone
/// to every sender task.
#[derive(Clone)]
pub struct JournalHandle {
    requests: Sender<Request>,
    shared: Arc<Shared>,
    give_up: Option<crate::journal::GiveUp>,
}

impl std::fmt::Debug for JournalHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalHandle")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl JournalHandle {
    /// Starts the writer thread, which owns `store` until [`close`](Self::close)
    /// (or until every handle is dropped).
    pub fn spawn(store: impl CampaignStore + 'static) -> Result<JournalHandle, JournalError> {
        Self::spawn_with_linger(store, OUTCOME_LINGER)
    }

    /// [`spawn`](Self::spawn) with attempts and outcomes gathered for up to
    /// `linger` instead of [`OUTCOME_LINGER`] (tests, benchmarks).
    pub fn spawn_with_linger(
        store: impl CampaignStore + 'static,
        linger: Duration,
    ) -> Result<JournalHandle, JournalError> {
        let (requests, queue) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let give_up = store.give_up_handle();
        let store: Box<dyn CampaignStore> = Box::new(store);
        std::thread::Builder::new()
            .name("outreach-journal".to_string())
            .spawn(move || run(store, &queue, &thread_shared, linger))
            .map_err(JournalError::io(
                std::path::Path::new("<journal writer>"),
                "starting the writer thread",
            ))?;
        Ok(JournalHandle {
            requests,
            shared,
            give_up,
        })
    }

    /// Stops waiting for an unreachable database (Ctrl-C): the store's
    /// current and later writes fail at once with
    /// [`JournalError::GaveUpReconnecting`] instead of waiting for it.
    pub fn give_up_waiting(&self) {
        if let Some(give_up) = &self.give_up {
            give_up.give_up();
        }
    }

    /// Claims message `seq` for sending at `at`. Resolves only once the
    /// commit marking it `in_flight` is durable; send the request only after
    /// `Ok`. Concurrent callers share one commit.
    ///
    /// Fails if the message is not pending ([`JournalError::NotClaimable`]),
    /// or if this or any earlier commit failed ([`JournalError::WriterFailed`]):
    /// then stop sending.
    pub async fn begin_send(&self, seq: u64, at: DateTime<Utc>) -> Result<(), JournalError> {
        if let Some(failure) = self.shared.failure() {
            return Err(JournalError::WriterFailed(failure));
        }
        let (ack, done) = oneshot::channel();
        self.send(Request::Begin { seq, at, ack })?;
        done.await.unwrap_or_else(|_| Err(self.shared.closed()))
    }

    /// [`begin_send`](Self::begin_send) for several messages, queued together
    /// so they share a commit; one result per claim, in order.
    pub async fn begin_send_many(
        &self,
        claims: &[(u64, DateTime<Utc>)],
    ) -> Vec<Result<(), JournalError>> {
        if let Some(failure) = self.shared.failure() {
            return claims
                .iter()
                .map(|_| Err(JournalError::WriterFailed(Arc::clone(&failure))))
                .collect();
        }
        let queued: Vec<_> = claims
            .iter()
            .map(|&(seq, at)| {
                let (ack, done) = oneshot::channel();
                self.send(Request::Begin { seq, at, ack }).map(|()| done)
            })
            .collect();
        let mut results = Vec::with_capacity(queued.len());
        for done in queued {
            results.push(match done {
                Ok(done) => done.await.unwrap_or_else(|_| Err(self.shared.closed())),
                Err(error) => Err(error),
            });
        }
        results
    }

    /// Queues an attempt or outcome for the next commit and returns at once;
    /// it is durable within a commit (within [`OUTCOME_LINGER`] more while
    /// the writer is busy, or with the next claim). [`flush`](Self::flush) waits until it is durable. If the writer has
    /// stopped, the update is counted as lost and `flush`/`close` report it.
    pub fn record(&self, update: JournalUpdate) {
        if self.requests.send(Request::Update(update)).is_err() {
            self.shared.lost_updates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until everything queued so far is durable. Fails if any commit
    /// has failed since the writer started.
    pub async fn flush(&self) -> Result<(), JournalError> {
        let (ack, done) = oneshot::channel();
        self.send(Request::Flush(ack))?;
        done.await.unwrap_or_else(|_| Err(self.shared.closed()))
    }

    /// Commits everything queued, stops the writer and closes the store
    /// (releasing the journal's lock) before returning. Call it once every
    /// sender is done; requests from other clones after it fail with
    /// [`JournalError::WriterClosed`].
    pub async fn close(self) -> Result<(), JournalError> {
        let (ack, done) = oneshot::channel();
        self.send(Request::Close(ack))?;
        done.await.unwrap_or_else(|_| Err(self.shared.closed()))
    }

    /// The first commit failure, if any.
    pub fn failure(&self) -> Option<Arc<JournalError>> {
        self.shared.failure()
    }

    pub fn stats(&self) -> WriterStats {
        WriterStats {
            commits: self.shared.commits.load(Ordering::Relaxed),
            claims: self.shared.claims.load(Ordering::Relaxed),
            updates: self.shared.updates.load(Ordering::Relaxed),
        }
    }

    fn send(&self, request: Request) -> Result<(), JournalError> {
        self.requests
            .send(request)
            .map_err(|_| self.shared.closed())
    }
}

/// One group commit's worth of requests, in queue order.
#[derive(Default)]
struct Batch {
    updates: Vec<JournalUpdate>,
    claims: Vec<(u64, Ack)>,
    flushes: Vec<Ack>,
    close: Option<Ack>,
    requests: usize,
}

impl Batch {
    /// Whether somebody waits on this batch's commit.
    fn awaited(&self) -> bool {
        !self.claims.is_empty() || !self.flushes.is_empty() || self.close.is_some()
    }

    fn full(&self) -> bool {
        self.close.is_some() || self.requests >= MAX_BATCH
    }

    fn push(&mut self, request: Request) {
        self.requests += 1;
        match request {
            Request::Begin { seq, at, ack } => {
                self.updates.push(JournalUpdate::InFlight { seq, at });
                self.claims.push((seq, ack));
            }
            Request::Update(update) => self.updates.push(update),
            Request::Flush(ack) => self.flushes.push(ack),
            Request::Close(ack) => self.close = Some(ack),
        }
    }
}

fn run(
    mut store: Box<dyn CampaignStore>,
    queue: &Receiver<Request>,
    shared: &Shared,
    linger: Duration,
) {
    let mut close = None;
    // Requests that came in while the last commit was written.
    let mut came_in: Vec<Request> = Vec::new();
    while close.is_none() {
        let busy = came_in.len() >= BUSY_AT;
        let mut batch = Batch::default();
        if came_in.is_empty() {
            // Every handle dropped: commit nothing more and stop.
            let Ok(first) = queue.recv() else { break };
            batch.push(first);
        }
        came_in.drain(..).for_each(|request| batch.push(request));
        let linger_until = Instant::now() + if busy { linger } else { Duration::ZERO };
        while !batch.full() {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) if batch.awaited() => break,
                Err(TryRecvError::Empty) => {
                    let now = Instant::now();
                    if now >= linger_until {
                        break;
                    }
                    match queue.recv_timeout(linger_until - now) {
                        Ok(request) => batch.push(request),
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    }
                }
            }
        }
        close = batch.close.take();
        came_in = commit(&mut *store, batch, shared, queue);
    }
    drop(store);
    if let Some(ack) = close {
        let result = match shared.failure() {
            Some(failure) => Err(JournalError::WriterFailed(failure)),
            None => Ok(()),
        };
        let _ = ack.send(result);
    }
}

/// Commits `batch` and answers its claims and flushes. Returns up to
/// [`BUSY_AT`] requests that came in while the store was writing, taken
/// from `queue` before the answers go out (so a sender's reaction to its
/// answer never counts).
fn commit(
    store: &mut dyn CampaignStore,
    batch: Batch,
    shared: &Shared,
    queue: &Receiver<Request>,
) -> Vec<Request> {
    let Batch {
        updates,
        claims,
        flushes,
        ..
    } = batch;
    let failed = |failure: &Arc<JournalError>| Err(JournalError::WriterFailed(Arc::clone(failure)));

    if let Some(failure) = shared.failure() {
        // Stopped: grant no claim, but still record what happened to
        // requests already sent.
        salvage(store, &updates, shared);
        for (_, ack) in claims {
            let _ = ack.send(failed(&failure));
        }
        for ack in flushes {
            let _ = ack.send(failed(&failure));
        }
        return Vec::new();
    }
    let mut came_in = Vec::new();
    if !updates.is_empty() {
        let written = store.record(&updates);
        while came_in.len() < BUSY_AT {
            match queue.try_recv() {
                Ok(request) => came_in.push(request),
                Err(_) => break,
            }
        }
        match written {
            Ok(refusals) => {
                shared.commits.fetch_add(1, Ordering::Relaxed);
                let granted = claims.len() - refusals.len();
                shared.claims.fetch_add(granted as u64, Ordering::Relaxed);
                let written = updates.len() - claims.len();
                shared.updates.fetch_add(written as u64, Ordering::Relaxed);
                for (seq, ack) in claims {
                    let result = match refusals.iter().find(|refusal| refusal.seq == seq) {
                        Some(refusal) => Err(refusal.into_error()),
                        None => Ok(()),
                    };
                    let _ = ack.send(result);
                }
            }
            Err(error) => {
                let failure = shared.fail(error);
                for (_, ack) in claims {
                    let _ = ack.send(failed(&failure));
                }
                salvage(store, &updates, shared);
            }
        }
    }
    let result = || match shared.failure() {
        Some(failure) => failed(&failure),
        None => Ok(()),
    };
    for ack in flushes {
        let _ = ack.send(result());
    }
    came_in
}

/// Writes the attempts and outcomes of `updates` one transaction each, never
/// the claims; errors are already reported through the first failure.
fn salvage(store: &mut dyn CampaignStore, updates: &[JournalUpdate], shared: &Shared) {
    for update in updates {
        if matches!(update, JournalUpdate::InFlight { .. }) {
            continue;
        }
        if store.record(std::slice::from_ref(update)).is_ok() {
            shared.commits.fetch_add(1, Ordering::Relaxed);
            shared.updates.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_cross_tasks() {
        fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync_clone::<JournalHandle>();
    }
}
