//! The provisioning journal: every request to the protected SCIM API, recorded for the status
//! page with its connection, client, outcome and (redacted) body.
//!
//! Recording never adds a write to a request, as for [`crate::compat`]: the [`record`]
//! middleware only pushes an entry onto an in-memory list; [`background`] writes the list through
//! the writer every [`FLUSH_EVERY`] (redacting and cutting bodies there, off the request path)
//! and prunes by age and count every [`PRUNE_EVERY`]. Entries still in memory when the process
//! is killed are lost; so, when the writer falls far behind, are entries over [`MAX_PENDING`].
//!
//! The body is captured as the handler reads it (a copy of its first [`CAPTURE_MAX`] bytes), so
//! handlers, their size limits and their 413s are unchanged, and nothing is read for a request
//! whose token is refused. The middleware sits outside the token check, so refused requests are
//! recorded too; the token check tells it the connection name through [`identify`].

mod capture;
mod explain;
pub mod redact;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use crate::db::journal::{self, Entry};
use crate::db::{Db, StoreError, changes};
use crate::error::{ErrorInfo, InternalCause};
use crate::http::{AppState, OriginalPath};
use crate::{clock, db};
pub use capture::CAPTURE_MAX;
use capture::Captured;
pub use explain::explain;

/// How often pending entries are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often old entries are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// The most entries kept in memory waiting for the writer; more are dropped (and counted).
pub const MAX_PENDING: usize = 20_000;
/// The most captured body bytes kept in memory; past it, entries are kept without their body.
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;
/// Rows written (or pruned) per write job, so the writer stays responsive.
const BATCH: usize = 500;

/// An entry waiting to be written: its body still raw.
struct Pending {
    entry: Entry,
    body: Option<Captured>,
}

#[derive(Default)]
struct Queue {
    items: Vec<Pending>,
    bytes: usize,
    dropped: u64,
}

/// Entries not yet written.
#[derive(Default)]
pub struct Recorder {
    queue: Mutex<Queue>,
}

impl Recorder {
    fn push(&self, entry: Entry, mut body: Option<Captured>) {
        let Ok(mut q) = self.queue.lock() else { return };
        if q.items.len() >= MAX_PENDING {
            q.dropped += 1;
            return;
        }
        let size = body.as_ref().map_or(0, |b| b.bytes.len());
        if q.bytes + size > MAX_PENDING_BYTES {
            body = body.map(Captured::without_bytes);
        } else {
            q.bytes += size;
        }
        q.items.push(Pending { entry, body });
    }

    /// Writes what is pending.
    pub async fn flush(&self, db: &Db) -> Result<(), StoreError> {
        let (items, dropped) = match self.queue.lock() {
            Ok(mut q) => {
                q.bytes = 0;
                (std::mem::take(&mut q.items), std::mem::take(&mut q.dropped))
            }
            Err(_) => return Ok(()),
        };
        if dropped > 0 {
            tracing::warn!(dropped, "the journal fell behind; some requests were not recorded");
        }
        let mut entries: Vec<Entry> = items.into_iter().map(finish_body).collect();
        while !entries.is_empty() {
            let rest = entries.split_off(entries.len().min(BATCH));
            let batch = std::mem::replace(&mut entries, rest);
            db.write(move |c| batch.iter().try_for_each(|e| journal::insert(c, e).map(drop))).await?;
        }
        Ok(())
    }
}

/// Redacts and cuts the captured body into the entry.
fn finish_body(p: Pending) -> Entry {
    let Pending { mut entry, body } = p;
    entry.body = body.and_then(|b| match b.bytes.is_empty() && b.total > 0 {
        true => Some(format!("[not recorded: {} bytes; the journal was busy]", b.total)),
        false => redact::body(&b.bytes, b.total),
    });
    entry
}

/// The middleware on the protected SCIM routes: records each request once it is answered (or
/// abandoned: timed out, or the client went away).
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut req, sink) = capture::tee(req);
    let token = TokenSlot::default();
    req.extensions_mut().insert(token.clone());
    let entry = Some(start(&req));
    let mut flight = InFlight { recorder: Arc::clone(&state.journal), entry, sink, token, began: Instant::now() };
    let resp = next.run(req).await;
    flight.finish(&resp);
    resp
}

/// The connection (token name) of a request, once the token check has accepted it.
#[derive(Clone, Default)]
struct TokenSlot(Arc<Mutex<Option<String>>>);

impl TokenSlot {
    fn name(&self) -> Option<String> {
        self.0.lock().ok()?.clone()
    }
}

/// Called by the token check when it accepts a request: the journal records the connection.
pub fn identify(req: &Request, token_name: &str) {
    if let Some(TokenSlot(slot)) = req.extensions().get::<TokenSlot>()
        && let Ok(mut slot) = slot.lock()
    {
        *slot = Some(token_name.to_owned());
    }
}

/// A request being answered; recorded as abandoned if dropped before [`InFlight::finish`].
struct InFlight {
    recorder: Arc<Recorder>,
    entry: Option<Entry>,
    sink: capture::Sink,
    token: TokenSlot,
    began: Instant,
}

impl InFlight {
    fn finish(&mut self, resp: &Response) {
        let Some(mut e) = self.entry.take() else { return };
        e.status = resp.status().as_u16();
        e.duration_ms = self.began.elapsed().as_secs_f64() * 1000.0;
        e.token_name = self.token.name();
        if let Some(info) = resp.extensions().get::<ErrorInfo>() {
            e.scim_type = info.scim_type.map(str::to_owned);
            e.detail = Some(info.detail.clone());
        }
        if let Some(InternalCause(cause)) = resp.extensions().get::<InternalCause>() {
            e.detail = Some(format!("internal error: {cause}"));
        }
        if e.resource_id.is_none() && e.resource_type.is_some() && resp.status().as_u16() == 201 {
            e.resource_id = created_id(resp.headers());
        }
        self.recorder.push(e, self.sink.take());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(mut e) = self.entry.take() {
            e.status = 408;
            e.token_name = self.token.name();
            e.duration_ms = self.began.elapsed().as_secs_f64() * 1000.0;
            e.detail = Some("no answer: the request timed out or the client closed the connection".into());
            self.recorder.push(e, self.sink.take());
        }
    }
}

/// What is known of a request when it arrives.
fn start(req: &Request) -> Entry {
    let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let full = req.extensions().get::<OriginalUri>().map_or(req.uri(), |u| &u.0);
    let path = req.extensions().get::<OriginalPath>().map_or(full.path(), |p| p.0.as_str());
    let (resource_type, resource_id) = resource_of(req.uri().path());
    Entry {
        at: clock::now_stamp(),
        client: h(header::USER_AGENT).map(|ua| ua.trim().chars().take(200).collect()),
        method: req.method().as_str().to_owned(),
        path: path.chars().take(2000).collect(),
        query: full.query().map(|q| redact::query(&q.chars().take(4000).collect::<String>())),
        resource_type: resource_type.map(str::to_owned),
        resource_id,
        ..Entry::default()
    }
}

/// `User`/`Group` and the id, from a path relative to the SCIM base (`/Users/{id}`).
fn resource_of(path: &str) -> (Option<&'static str>, Option<String>) {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let kind = match segs.next() {
        Some("Users") => "User",
        Some("Groups") => "Group",
        _ => return (None, None),
    };
    let id = segs
        .next()
        .filter(|s| !s.starts_with('.'))
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().chars().take(200).collect::<String>());
    (Some(kind), id)
}

/// The id at the end of a 201's `Location`.
fn created_id(headers: &HeaderMap) -> Option<String> {
    let loc = headers.get(header::LOCATION)?.to_str().ok()?;
    loc.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Writes the journal every [`FLUSH_EVERY`] and prunes it (and the change history) every
/// [`PRUNE_EVERY`], starting with a prune; runs until aborted.
pub async fn background(state: AppState) {
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let mut prune_tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = flush.tick() => {
                if let Err(e) = state.journal.flush(&state.db).await {
                    tracing::warn!(error = %e, "could not write the journal");
                }
            }
            _ = prune_tick.tick() => {
                if let Err(e) = prune(&state.db, &state.config).await {
                    tracing::warn!(error = %e, "could not prune the journal");
                }
            }
        }
    }
}

/// Deletes journal entries and changes older than `journal_max_age` or beyond the newest
/// `journal_max_rows`, a batch per write; returns how many rows went.
pub async fn prune(db: &Db, config: &Config) -> Result<usize, StoreError> {
    let before = db::timestamp(clock::now() - config.journal_max_age);
    let keep = config.journal_max_rows;
    let mut total = 0;
    for table in [Table::Journal, Table::Changes] {
        loop {
            let before = before.clone();
            let n = db
                .write(move |c| match table {
                    Table::Journal => journal::prune(c, &before, keep, BATCH as u32),
                    Table::Changes => changes::prune(c, &before, keep, BATCH as u32),
                })
                .await?;
            total += n;
            if n < BATCH {
                break;
            }
        }
    }
    Ok(total)
}

#[derive(Clone, Copy)]
enum Table {
    Journal,
    Changes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_from_paths() {
        assert_eq!(resource_of("/Users"), (Some("User"), None));
        assert_eq!(resource_of("/Users/.search"), (Some("User"), None));
        assert_eq!(resource_of("/Groups/a%20b"), (Some("Group"), Some("a b".into())));
        assert_eq!(resource_of("/Bulk"), (None, None));
        let mut h = HeaderMap::new();
        h.insert(
            header::LOCATION,
            "http://x/scim/v2/Users/abc".parse().unwrap_or(header::HeaderValue::from_static("")),
        );
        assert_eq!(created_id(&h).as_deref(), Some("abc"));
    }
}
