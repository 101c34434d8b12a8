//! The journal's views: the list of recorded requests (newest first, or failures first, a page
//! at a time) and one request, each failure with its reason in plain words and a suggested fix.

use time::OffsetDateTime;

use super::Entry;
use crate::clock;
use crate::db::Db;
use crate::db::journal as store;
use crate::journal::{Recorder, explain};
use crate::service::Result;

/// Entries on a page.
pub const PER_PAGE: u32 = 50;

/// Why a request failed and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The reason, in plain words.
    pub reason: String,
    /// What to change, and where.
    pub fix: String,
}

/// A recorded request, with its explanation when it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// As recorded.
    pub entry: Entry,
    /// Why it failed; `None` for a success.
    pub explanation: Option<Explanation>,
}

impl Request {
    /// Explains `entry` if it failed.
    pub fn new(entry: Entry) -> Self {
        let explanation = entry.failed().then(|| {
            let (reason, fix) = explain(&entry);
            Explanation { reason, fix }
        });
        Self { entry, explanation }
    }

    /// `User` or `Group` and the id, when the request was about one.
    pub fn resource(&self) -> Option<(&str, &str)> {
        self.entry.resource_type.as_deref().zip(self.entry.resource_id.as_deref())
    }
}

/// What the list asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalQuery {
    /// Every failure (status >= 400) before every success.
    pub failures_first: bool,
    /// 1-based (0 is taken as 1).
    pub page: u32,
}

/// One page of the journal.
#[derive(Debug, Clone)]
pub struct JournalList {
    /// When it was read.
    pub at: OffsetDateTime,
    /// The query, its page clamped to 1 and up.
    pub query: JournalQuery,
    /// Entries kept.
    pub recorded: u64,
    /// Of which failures.
    pub failed: u64,
    /// Requests not recorded because the journal's queue was full, and since when.
    pub shed: Option<(u64, String)>,
    /// This page's requests.
    pub requests: Vec<Request>,
    /// Whether there is a next page.
    pub more: bool,
}

/// One page of the journal as `q` asks.
pub async fn journal(db: &Db, recorder: &Recorder, q: JournalQuery) -> Result<JournalList> {
    let query = JournalQuery { page: q.page.max(1), ..q };
    let offset = (query.page - 1).saturating_mul(PER_PAGE);
    let (mut found, (recorded, failed)) =
        db.read(move |c| Ok((store::recent(c, PER_PAGE + 1, offset, query.failures_first)?, store::count(c)?))).await?;
    let more = found.len() > PER_PAGE as usize;
    found.truncate(PER_PAGE as usize);
    Ok(JournalList {
        at: clock::now(),
        query,
        recorded,
        failed,
        shed: recorder.shed(),
        requests: found.into_iter().map(Request::new).collect(),
        more,
    })
}

/// One recorded request, as of when it was read.
#[derive(Debug, Clone)]
pub struct RequestView {
    /// When it was read.
    pub at: OffsetDateTime,
    /// The request.
    pub request: Request,
}

/// The request recorded as `seq`, if it is still kept.
pub async fn request(db: &Db, seq: i64) -> Result<Option<RequestView>> {
    let found = db.read(move |c| store::get(c, seq)).await?;
    Ok(found.map(|e| RequestView { at: clock::now(), request: Request::new(e) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize, status: u16) -> Entry {
        Entry {
            at: format!("2026-01-01T00:00:{i:02}.000Z"),
            method: "POST".into(),
            path: "/scim/v2/Users".into(),
            status,
            scim_type: (status == 409).then(|| "uniqueness".into()),
            detail: (status >= 400).then(|| "userName ann is already taken".into()),
            ..Entry::default()
        }
    }

    async fn db_with(statuses: &[u16]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = Db::open(&dir.path().join("j.db")).unwrap_or_else(|e| panic!("{e}"));
        let entries: Vec<Entry> = statuses.iter().enumerate().map(|(i, s)| entry(i, *s)).collect();
        db.write(move |c| entries.iter().try_for_each(|e| store::insert(c, e).map(drop)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, db)
    }

    #[tokio::test]
    async fn the_list_puts_failures_first_pages_and_explains_failures_only() {
        let mut statuses = vec![201; PER_PAGE as usize + 3];
        statuses[1] = 409;
        let (_dir, db) = db_with(&statuses).await;
        let recorder = Recorder::default();

        let first = journal(&db, &recorder, JournalQuery { failures_first: true, page: 0 }).await;
        let first = first.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((first.query.page, first.recorded, first.failed, first.more), (1, PER_PAGE as u64 + 3, 1, true));
        assert_eq!(first.requests.len(), PER_PAGE as usize);
        let top = &first.requests[0];
        assert_eq!(top.entry.status, 409);
        assert!(top.explanation.as_ref().is_some_and(|x| !x.reason.is_empty() && !x.fix.is_empty()), "{top:?}");
        assert!(first.requests[1..].iter().all(|r| r.explanation.is_none()));

        let second = journal(&db, &recorder, JournalQuery { failures_first: false, page: 2 }).await;
        let second = second.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((second.requests.len(), second.more), (3, false));
        // Newest first: the last page holds the oldest three, the failure (seq 2) among them.
        let seqs: Vec<i64> = second.requests.iter().map(|r| r.entry.seq).collect();
        assert_eq!(seqs, [3, 2, 1]);
    }

    #[tokio::test]
    async fn one_request_is_found_by_seq_until_pruned() {
        let (_dir, db) = db_with(&[409]).await;
        let found = request(&db, 1).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(found.is_some_and(|v| v.request.explanation.is_some()));
        assert!(request(&db, 2).await.unwrap_or_else(|e| panic!("{e}")).is_none());
    }
}
