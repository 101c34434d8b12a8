//! The provisioning journal: every request to the protected SCIM API, recorded for the status
//! page with its connection, client, outcome and (redacted) body.
//!
//! Recording never adds a write to a request, as for [`crate::compat`]: the HTTP middleware
//! (`crate::http::journal`) builds a plain [`Entry`] and hands it to [`Recorder::record`], which
//! only pushes it onto an in-memory list; [`background`] writes the list through
//! the writer every [`FLUSH_EVERY`] (redacting and cutting bodies there, off the request path)
//! and prunes by age and count every [`PRUNE_EVERY`]. A batch whose write fails (a full disk, a
//! removed file) goes back to the front of the queue and is retried on the next flush. Entries
//! still in memory when the process is killed are lost; so, when the writer falls far behind or
//! cannot write, are entries over [`MAX_PENDING`]: those are counted, logged once, and the status
//! page says how many since when.
//!
//! Successful reads (GET, and POST `.search`, answered below 400) are listed up to
//! [`READS_PER_SECOND`] a second; past that, within the same second, they are only counted, and
//! the next flush writes one entry saying how many were left out. Writes and failures are always
//! listed. An IdP's lookups at its usual pace are all listed, while a burst of reads (an import,
//! a load test) can neither push the writes and failures an admin is looking for out of the
//! retained rows nor turn every read into a database write.
//!
//! The body is captured as the handler reads it (a copy of its first [`CAPTURE_MAX`] bytes), so
//! handlers, their size limits and their 413s are unchanged, and nothing is read for a request
//! whose token is refused. The middleware sits outside the token check, so refused requests are
//! recorded too; the token check tells it the connection name.
//!
//! Nothing here knows HTTP: the middleware, the body capture and the connection slot live in
//! `crate::http::journal`; this module takes plain data ([`Entry`], [`Body`]) and the store.

mod explain;
pub mod redact;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock;
use crate::config::Config;
use crate::db::journal as store;
use crate::db::{Db, StoreError, events, rollup};
pub use explain::explain;

/// How often pending entries are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often old entries are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// The most entries kept in memory waiting for the writer (or for a failed write's retry); more
/// are shed, counted and shown on the status page ([`Recorder::shed`]).
pub const MAX_PENDING: usize = 20_000;
/// The most captured body bytes kept in memory; past it, entries are kept without their body.
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;
/// Rows written (or pruned) per write job, so the writer stays responsive.
const BATCH: usize = 500;
/// How long the hourly counts behind the overview's trends are kept (`db::rollup`): the 7-day
/// trend reaches back at most 7 days; a day more spares the edge.
pub const ROLLUP_KEEP: Duration = Duration::from_secs(8 * 86_400);
/// Successful reads listed per second at most; the rest are counted (see the module docs).
pub const READS_PER_SECOND: u32 = 50;

/// The most body bytes the middleware keeps: enough to redact any body up to 4x the stored size
/// as whole JSON.
pub const CAPTURE_MAX: usize = 64 * 1024;

/// One answered (or abandoned) request, as the HTTP middleware saw it: plain data (storage's
/// row type, so the journal needs nothing from `http` and nothing is copied field by field). The
/// middleware leaves `seq` and `body` empty: the row's order comes from the insert, and its body
/// from [`Body`], redacted by the writer.
pub use crate::db::journal::Entry;

/// What the middleware captured of a request body.
#[derive(Debug, Default)]
pub struct Body {
    /// Its first bytes (at most [`CAPTURE_MAX`]).
    pub bytes: Vec<u8>,
    /// The body's size: what the handler read, or the declared `Content-Length` when the
    /// handler stopped early (a 413, say).
    pub total: usize,
}

impl Body {
    /// The same, without the bytes (when memory is short).
    pub fn without_bytes(self) -> Self {
        Self { bytes: Vec::new(), total: self.total }
    }
}

/// An entry waiting to be written: its body still raw.
struct Pending {
    entry: Entry,
    body: Option<Body>,
}

#[derive(Default)]
struct Queue {
    /// Oldest first; entries whose write failed come back to the front.
    items: VecDeque<Pending>,
    bytes: usize,
    /// Entries shed because the queue was full, since the process started, and when the first
    /// went: shown on the status page ([`Recorder::shed`]).
    shed: u64,
    shed_since: Option<String>,
    /// Whether entries have been shed since the last successful flush (for the log).
    shedding: bool,
    /// The second (of [`Instant`]s since the recorder began) `reads` counts in.
    read_second: u64,
    /// Successful reads listed in `read_second`.
    reads: u32,
    /// Successful reads left out since the last flush, and when the first of them arrived.
    reads_left_out: u64,
    first_left_out: Option<String>,
}

impl Queue {
    /// Appends an entry, or sheds it when the queue is full; keeps its body while memory allows.
    fn enqueue(&mut self, entry: Entry, mut body: Option<Body>) {
        if self.items.len() >= MAX_PENDING {
            self.shed_one(&entry.at);
            return;
        }
        let size = body.as_ref().map_or(0, |b| b.bytes.len());
        if self.bytes + size > MAX_PENDING_BYTES {
            body = body.map(Body::without_bytes);
        } else {
            self.bytes += size;
        }
        self.items.push_back(Pending { entry, body });
    }

    /// Whether one more successful read at `second` may be listed.
    fn admit_read(&mut self, second: u64) -> bool {
        if second != self.read_second {
            (self.read_second, self.reads) = (second, 0);
        }
        self.reads += 1;
        self.reads <= READS_PER_SECOND
    }
}

/// Entries not yet written.
pub struct Recorder {
    queue: Mutex<Queue>,
    began: Instant,
}

impl Default for Recorder {
    fn default() -> Self {
        Self { queue: Mutex::default(), began: Instant::now() }
    }
}

impl Recorder {
    /// Queues one request for the next flush (see the module docs for what is listed).
    pub fn record(&self, entry: Entry, body: Option<Body>) {
        self.push(entry, body);
    }

    /// Whether a successful read arriving at `at` (formatted only if it is the first left out)
    /// is listed; if not, it is counted as left out here. The middleware asks this before it
    /// builds the read's [`Entry`], so a read past [`READS_PER_SECOND`] costs a count and no
    /// copies of its path, query and client (issue 17: most of the journal's cost per GET). An
    /// admitted read is then handed to [`Recorder::record_admitted`].
    pub fn admit_read(&self, at: impl FnOnce() -> String) -> bool {
        let Ok(mut q) = self.queue.lock() else { return false };
        if q.admit_read(self.began.elapsed().as_secs()) {
            return true;
        }
        q.reads_left_out += 1;
        if q.first_left_out.is_none() {
            q.first_left_out = Some(at());
        }
        false
    }

    /// Queues one request that [`Recorder::admit_read`] already admitted, or that is no
    /// successful read.
    pub fn record_admitted(&self, entry: Entry, body: Option<Body>) {
        let Ok(mut q) = self.queue.lock() else { return };
        q.enqueue(entry, body);
    }

    fn push(&self, entry: Entry, body: Option<Body>) {
        let Ok(mut q) = self.queue.lock() else { return };
        if is_successful_read(&entry) && !q.admit_read(self.began.elapsed().as_secs()) {
            q.reads_left_out += 1;
            q.first_left_out.get_or_insert(entry.at);
            return;
        }
        q.enqueue(entry, body);
    }

    /// Writes what is pending. When a write fails, the batch that failed and everything after
    /// it go back to the front of the queue, to be retried on the next flush: a journal row is
    /// never dropped because a write failed, only shed (and counted) when the queue is full.
    pub async fn flush(&self, db: &Db) -> Result<(), StoreError> {
        let (items, left_out) = match self.queue.lock() {
            Ok(mut q) => {
                q.bytes = 0;
                let left_out = q.first_left_out.take().map(|at| (std::mem::take(&mut q.reads_left_out), at));
                (std::mem::take(&mut q.items), left_out)
            }
            Err(_) => return Ok(()),
        };
        let mut entries: VecDeque<Entry> = items.into_iter().map(finish_body).collect();
        if let Some((count, at)) = left_out {
            entries.push_back(reads_left_out(count, at));
        }
        while !entries.is_empty() {
            // Shared with the write, not copied: a failed batch comes back from it for the retry.
            let batch: Arc<Vec<Entry>> = Arc::new(entries.drain(..entries.len().min(BATCH)).collect());
            let written = Arc::clone(&batch);
            let hours = hours(&batch);
            let write = move |c: &crate::db::sql::Connection| {
                written.iter().try_for_each(|e| store::insert(c, e))?;
                rollup::add(c, &hours)
            };
            if let Err(e) = db.write(write).await {
                let batch = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
                self.requeue(batch.into_iter().chain(entries));
                return Err(e);
            }
        }
        if let Ok(mut q) = self.queue.lock()
            && std::mem::take(&mut q.shedding)
        {
            let since = q.shed_since.clone().unwrap_or_default();
            tracing::warn!(shed = q.shed, since = %since, "the journal caught up; some requests were not recorded");
        }
        Ok(())
    }

    /// Puts finished entries back at the front of the queue (oldest first), shedding the newest
    /// past [`MAX_PENDING`].
    fn requeue(&self, failed: impl DoubleEndedIterator<Item = Entry>) {
        let Ok(mut q) = self.queue.lock() else { return };
        for entry in failed.rev() {
            q.bytes += entry.body.as_ref().map_or(0, String::len);
            q.items.push_front(Pending { entry, body: None });
        }
        while q.items.len() > MAX_PENDING {
            if let Some(p) = q.items.pop_back() {
                q.shed_one(&p.entry.at);
            }
        }
    }

    /// How many entries wait to be written (for the metrics' queue depth).
    pub fn depth(&self) -> usize {
        self.queue.lock().map(|q| q.items.len()).unwrap_or(0)
    }

    /// How many entries were shed since the process started, and when the first was: `None`
    /// when every request so far was recorded.
    pub fn shed(&self) -> Option<(u64, String)> {
        let q = self.queue.lock().ok()?;
        q.shed_since.clone().map(|since| (q.shed, since))
    }
}

impl Queue {
    /// Counts one entry shed (the queue was full); logs once per episode.
    fn shed_one(&mut self, at: &str) {
        self.shed += 1;
        self.shed_since.get_or_insert_with(|| at.to_owned());
        if !std::mem::replace(&mut self.shedding, true) {
            tracing::warn!(
                pending = MAX_PENDING,
                "the journal cannot keep up (or cannot write); requests are no longer recorded until it catches up"
            );
        }
    }
}

/// A batch's counts per connection and hour, for the overview's trends and rate-limit
/// refusals (`db::rollup`), written with the batch.
fn hours(batch: &[Entry]) -> Vec<rollup::Hour> {
    let mut out: Vec<rollup::Hour> = Vec::new();
    for e in batch {
        let hour = rollup::hour_of(&e.at);
        let i = match out.iter().position(|h| h.hour == hour && h.token == e.token_name) {
            Some(i) => i,
            None => {
                out.push(rollup::Hour { token: e.token_name.clone(), hour, ..rollup::Hour::default() });
                out.len() - 1
            }
        };
        let h = &mut out[i];
        h.requests += 1;
        h.failures += u64::from(e.status >= 400);
        h.limited += u64::from(rate_limited(e));
    }
    out
}

/// Whether an entry was refused by the rate limiter (`http::ratelimit`): a 429 that is not the
/// deprovisioning guard holding a deactivation or deletion, the other 429 of the SCIM API (as
/// `explain` tells them apart; V16's back-fill counts the same way).
fn rate_limited(e: &Entry) -> bool {
    e.status == 429 && !e.detail.as_deref().unwrap_or_default().contains("deprovisioning guard")
}

/// A successful read: GET, or a POST to `.search`, answered below 400.
fn is_successful_read(e: &Entry) -> bool {
    is_read(&e.method, &e.path, e.status)
}

/// Whether a request is a successful read (as its listing counts it), before it is made an
/// [`Entry`]: `method`, the `path` as the client sent it, and the answer's `status`.
pub fn is_read(method: &str, path: &str, status: u16) -> bool {
    status < 400 && (method == "GET" || (method == "POST" && path.ends_with("/.search")))
}

/// The entry standing for `count` successful reads that were not listed, the first at `at`.
fn reads_left_out(count: u64, at: String) -> Entry {
    Entry {
        at,
        method: "GET".into(),
        path: "(successful reads)".into(),
        status: 200,
        detail: Some(format!(
            "{count} more successful read(s) answered, counted here but not listed: the journal lists at most \
             {READS_PER_SECOND} a second"
        )),
        ..Entry::default()
    }
}

/// Redacts and cuts the captured body into the entry (an entry already finished, waiting for a
/// retry, keeps its body). Should the redactor ever panic, the entry is kept without its body:
/// a body that cannot be shown safely is not shown, and the entry and the task go on.
fn finish_body(p: Pending) -> Entry {
    let Pending { mut entry, body } = p;
    let Some(b) = body else { return entry };
    entry.body = match b.bytes.is_empty() && b.total > 0 {
        true => Some(format!("[not recorded: {} bytes; the journal was busy]", b.total)),
        false => std::panic::catch_unwind(|| redact::body(&b.bytes, b.total)).unwrap_or_else(|_| {
            tracing::error!("the journal's redactor failed on a body; the entry is kept without it");
            Some(format!("[not recorded: {} bytes; the redactor failed]", b.total))
        }),
    };
    entry
}

/// Writes `recorder`'s entries every [`FLUSH_EVERY`] and prunes the journal (and the change
/// history) every [`PRUNE_EVERY`] as `config` says, starting with a prune; runs until aborted.
pub async fn background(recorder: Arc<Recorder>, db: Db, config: Arc<Config>) {
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut prune_tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = flush.tick() => {
                if let Err(e) = recorder.flush(&db).await {
                    tracing::warn!(error = %e, "could not write the journal");
                }
            }
            _ = prune_tick.tick() => {
                if let Err(e) = prune(&db, &config).await {
                    tracing::warn!(error = %e, "could not prune the journal");
                }
            }
        }
    }
}

/// Deletes journal entries and changes older than `journal_max_age` or beyond the newest
/// `journal_max_rows`, a batch per write; returns how many rows went.
pub async fn prune(db: &Db, config: &Config) -> Result<usize, StoreError> {
    let before = crate::stamp::timestamp(clock::now() - config.journal_max_age);
    let keep = config.journal_max_rows;
    let mut total = 0;
    for table in ["journal", "changes"] {
        // Rows at or below the cut are beyond the newest `keep`. Read once per pass, on a reader:
        // rows added meanwhile are newer, so the cut still keeps at least `keep` rows.
        let cut = db.read(move |c| store::nth_newest(c, table, keep)).await?;
        loop {
            let before = before.clone();
            let n = db.write(move |c| store::prune_through(c, table, &before, cut, BATCH as u32)).await?;
            total += n;
            if n < BATCH {
                break;
            }
        }
    }
    // The hourly counts, by age only: the trends' week (and the hour being counted) and a day.
    let before = crate::stamp::timestamp(clock::now() - ROLLUP_KEEP);
    total += db.write(move |c| rollup::prune(c, &before)).await?;
    // The change feed's events, by age only (`--events-days`); the horizon moves with them.
    let before = crate::stamp::timestamp(clock::now() - config.events_max_age);
    loop {
        let before = before.clone();
        let n = db.write(move |c| events::prune(c, &before, BATCH as u32)).await?;
        total += n;
        if n < BATCH {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str, status: u16) -> Entry {
        Entry {
            at: "2026-11-30T00:00:00Z".into(),
            method: method.into(),
            path: path.into(),
            status,
            ..Entry::default()
        }
    }

    /// The middleware's order (admit a read first, then record it) lists and counts as
    /// [`Recorder::record`] does, and formats the first left-out read's time only once.
    #[test]
    fn reads_admitted_before_their_entry_is_built_are_counted_alike() {
        let recorder = Recorder::default();
        let mut stamped = 0;
        for _ in 0..READS_PER_SECOND + 5 {
            if recorder.admit_read(|| {
                stamped += 1;
                "2026-11-30T00:00:01.000Z".into()
            }) {
                recorder.record_admitted(request("GET", "/scim/v2/Users/x", 200), None);
            }
        }
        recorder.record_admitted(request("GET", "/scim/v2/Users/y", 404), None);
        let q = recorder.queue.lock().expect("queue");
        let listed = q.items.iter().filter(|p| is_successful_read(&p.entry)).count() as u64;
        assert_eq!(listed + q.reads_left_out, u64::from(READS_PER_SECOND) + 5);
        assert!(q.reads_left_out > 0 && listed >= u64::from(READS_PER_SECOND));
        assert_eq!(stamped, 1, "only the first left-out read's time is formatted");
        assert_eq!(q.first_left_out.as_deref(), Some("2026-11-30T00:00:01.000Z"));
        assert_eq!(q.items.back().map(|p| p.entry.status), Some(404));
        assert!(is_read("POST", "/scim/v2/Users/.search", 200) && !is_read("POST", "/scim/v2/Users", 201));
        assert!(!is_read("GET", "/scim/v2/Users/x", 404));
    }

    #[test]
    fn a_burst_of_successful_reads_is_counted_past_the_rate_writes_and_failures_never() {
        let recorder = Recorder::default();
        for _ in 0..READS_PER_SECOND + 7 {
            recorder.push(request("GET", "/scim/v2/Users/x", 200), None);
        }
        recorder.push(request("POST", "/scim/v2/Users/.search", 200), None);
        recorder.push(request("GET", "/scim/v2/Users/y", 404), None);
        recorder.push(request("PATCH", "/scim/v2/Users/x", 200), None);
        recorder.push(request("POST", "/scim/v2/Users", 201), None);
        let q = recorder.queue.lock().expect("queue");
        // Unless the second turned over mid-test, exactly READS_PER_SECOND reads are listed.
        let listed_reads = q.items.iter().filter(|p| is_successful_read(&p.entry)).count() as u64;
        assert_eq!(listed_reads + q.reads_left_out, u64::from(READS_PER_SECOND) + 8);
        assert!(q.reads_left_out > 0 && listed_reads >= u64::from(READS_PER_SECOND));
        let kept: Vec<(&str, u16)> = q
            .items
            .iter()
            .filter(|p| !is_successful_read(&p.entry))
            .map(|p| (p.entry.method.as_str(), p.entry.status))
            .collect();
        assert_eq!(kept, [("GET", 404), ("PATCH", 200), ("POST", 201)]);
        let summary = reads_left_out(q.reads_left_out, q.first_left_out.clone().expect("first left out"));
        assert!(summary.detail.as_deref().is_some_and(|d| d.contains("not listed")), "{summary:?}");
    }

    #[tokio::test]
    async fn a_failed_write_is_retried_not_dropped_and_overflow_is_counted() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = Db::open(&dir.path().join("j.db")).unwrap_or_else(|e| panic!("{e}"));
        let recorder = Recorder::default();
        for i in 0..3 {
            recorder.push(request("POST", &format!("/scim/v2/Users/{i}"), 201), None);
        }
        // A real write failure: the table is away.
        db.write(|c| Ok(c.execute_batch("ALTER TABLE journal RENAME TO journal_away")?)).await.unwrap_or(());
        assert!(recorder.flush(&db).await.is_err());
        recorder.push(request("PATCH", "/scim/v2/Users/0", 200), None);
        assert!(recorder.flush(&db).await.is_err(), "still failing");
        db.write(|c| Ok(c.execute_batch("ALTER TABLE journal_away RENAME TO journal")?)).await.unwrap_or(());
        recorder.flush(&db).await.unwrap_or_else(|e| panic!("{e}"));
        let rows = db.read(|c| store::count(c).map(|(all, _)| all)).await.ok();
        assert_eq!(rows, Some(4), "every entry written once the write works");
        let order = db.read(|c| store::recent(c, 10, 0, false)).await.unwrap_or_default();
        let paths: Vec<&str> = order.iter().rev().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/scim/v2/Users/0", "/scim/v2/Users/1", "/scim/v2/Users/2", "/scim/v2/Users/0"]);
        assert_eq!(recorder.shed(), None);

        // Overflow while the writes fail: the queue stays bounded and the excess is counted.
        db.write(|c| Ok(c.execute_batch("ALTER TABLE journal RENAME TO journal_away")?)).await.unwrap_or(());
        for i in 0..MAX_PENDING + 5 {
            recorder.push(request("POST", &format!("/scim/v2/Users/n{i}"), 201), None);
        }
        assert!(recorder.flush(&db).await.is_err());
        assert_eq!(recorder.queue.lock().map(|q| q.items.len()).unwrap_or(0), MAX_PENDING);
        assert_eq!(recorder.shed().map(|(n, _)| n), Some(5));
    }
}
