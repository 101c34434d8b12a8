//! The journal's views: the list of recorded requests (newest first, or failures first, a page
//! at a time, narrowed by connection, outcome, user and time: [`Filters`]) and one request, each
//! failure with its reason in plain words and a suggested fix.

use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime};

use super::Entry;
use crate::clock;
use crate::db::journal as store;
use crate::db::ui::{self, JournalFilter};
use crate::db::users::{self, Lookup};
use crate::db::{Db, StoreError};
use crate::journal::{Recorder, explain};
use crate::service::{Error, Result};
use crate::stamp::timestamp;

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
    /// The userName or displayName of what it was about, when known (as stored now, else as
    /// sent in its body): the list shows it instead of a bare id.
    pub subject: Option<String>,
}

impl Request {
    /// Explains `entry` if it failed.
    pub fn new(entry: Entry) -> Self {
        let explanation = entry.failed().then(|| {
            let (reason, fix) = explain(&entry);
            Explanation { reason, fix }
        });
        Self { entry, explanation, subject: None }
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

/// Whether a request succeeded or failed (status 400 or more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Status 400 or more.
    Failed,
    /// Below 400.
    Succeeded,
}

/// What narrows the list, as an admin typed it (the page's query parameters), so a filtered view
/// is a link to share. Empty fields do not narrow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// A connection (token name); `-` for the requests that had no valid token.
    pub connection: String,
    /// Only failures or only successes.
    pub outcome: Option<Outcome>,
    /// A user's userName (any case) or id: the requests about that user, and those whose body
    /// names it (such as a refused create).
    pub user: String,
    /// From: `2026-12-07`, `2026-12-07T09:30` (UTC, as a `datetime-local` field sends it), or a
    /// duration back from now (`1h`, `7d`).
    pub from: String,
    /// Until (inclusive): `2026-12-07` (to the end of that day) or `2026-12-07T09:30` (to the
    /// end of that minute), UTC.
    pub to: String,
}

impl Filters {
    /// Whether anything narrows the list.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// One page of the journal.
#[derive(Debug, Clone)]
pub struct JournalList {
    /// When it was read.
    pub at: OffsetDateTime,
    /// The query, its page clamped to 1 and up.
    pub query: JournalQuery,
    /// The filters, trimmed.
    pub filters: Filters,
    /// Entries kept.
    pub recorded: u64,
    /// Of which failures.
    pub failed: u64,
    /// Entries the filters let through, and how many of those failed.
    pub matched: (u64, u64),
    /// Every connection the journal has entries of (the filter's choices).
    pub connections: Vec<String>,
    /// Requests not recorded because the journal's queue was full, and since when.
    pub shed: Option<(u64, String)>,
    /// This page's requests.
    pub requests: Vec<Request>,
    /// Whether there is a next page.
    pub more: bool,
}

/// One page of the journal as `q` asks, narrowed by `f` (in SQL). A time that cannot be read is
/// `Invalid`, saying which field and what forms it takes.
pub async fn journal(db: &Db, recorder: &Recorder, q: JournalQuery, f: Filters) -> Result<JournalList> {
    let query = JournalQuery { page: q.page.max(1), ..q };
    let offset = (query.page - 1).saturating_mul(PER_PAGE);
    let at = clock::now();
    let filters = Filters {
        connection: f.connection.trim().to_owned(),
        user: f.user.trim().to_owned(),
        from: f.from.trim().to_owned(),
        to: f.to.trim().to_owned(),
        ..f
    };
    let from = moment(&filters.from, at, false).map_err(|e| Error::invalid(format!("from: {e}")))?;
    let until = moment(&filters.to, at, true).map_err(|e| Error::invalid(format!("to: {e}")))?;
    let f2 = filters.clone();
    let (found, matched, counts, connections) = db
        .read(move |c| {
            let filter = JournalFilter {
                connection: match f2.connection.as_str() {
                    "" => None,
                    "-" => Some(None),
                    name => Some(Some(name.to_owned())),
                },
                failed: f2.outcome.map(|o| o == Outcome::Failed),
                user: user_of(c, &f2.user)?,
                from: from.map(timestamp),
                until: until.map(timestamp),
            };
            let page = ui::journal_page(c, &filter, query.failures_first, PER_PAGE + 1, offset)?;
            Ok((page.rows, (page.matched, page.failed), store::count(c)?, ui::journal_connections(c)?))
        })
        .await?;
    let more = found.len() > PER_PAGE as usize;
    let requests = found
        .into_iter()
        .take(PER_PAGE as usize)
        .map(|(entry, subject)| Request { subject, ..Request::new(entry) })
        .collect();
    Ok(JournalList {
        at,
        query,
        filters,
        recorded: counts.0,
        failed: counts.1,
        matched,
        connections,
        shed: recorder.shed(),
        requests,
        more,
    })
}

/// The user filter: the id of the user named `text` (by userName, any case, or by id), if
/// there is one, and the name to look for in request bodies.
fn user_of(c: &crate::db::sql::Connection, text: &str) -> Result<Option<(Option<String>, String)>, StoreError> {
    if text.is_empty() {
        return Ok(None);
    }
    let by_name = users::lookup(c, &Lookup::UserName(text.to_owned()))?;
    let found = match by_name.into_iter().next() {
        Some(u) => Some(u),
        None => users::lookup(c, &Lookup::Id(text.to_owned()))?.into_iter().next(),
    };
    Ok(Some(match found {
        Some(u) => {
            let name = u.doc.get("userName").and_then(|v| v.as_str()).unwrap_or(text).to_owned();
            (Some(u.id), name)
        }
        None => (None, text.to_owned()),
    }))
}

/// A moment an admin typed, UTC: a date, a date and time to the minute (or second), or, for a
/// start, a duration back from `now`. With `end`, the end of the day or minute it names (the
/// first moment after it), so that "to 2026-12-07" includes all of that day.
fn moment(text: &str, now: OffsetDateTime, end: bool) -> Result<Option<OffsetDateTime>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let minute = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let second = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let day = format_description!("[year]-[month]-[day]");
    let t = text.trim_end_matches('Z').replace(' ', "T");
    let found = if let Ok(d) = Date::parse(&t, day) {
        Some((d.midnight(), Duration::DAY))
    } else if let Ok(p) = PrimitiveDateTime::parse(&t, minute) {
        Some((p, Duration::MINUTE))
    } else if let Ok(p) = PrimitiveDateTime::parse(&t, second) {
        Some((p, Duration::SECOND))
    } else {
        None
    };
    match found {
        Some((p, step)) => {
            let at = p.assume_utc();
            Ok(Some(if end { at.checked_add(step).unwrap_or(at) } else { at }))
        }
        None if !end => match crate::duration::parse(text) {
            Ok(back) => Ok(Some(now.checked_sub(Duration::try_from(back).unwrap_or(Duration::MAX)).unwrap_or(now))),
            Err(_) => Err(format!(
                "\"{text}\" is not a time: use 2026-12-07, 2026-12-07T09:30 (UTC) or a duration back from now such as 1h or 7d"
            )),
        },
        None => Err(format!("\"{text}\" is not a time: use 2026-12-07 or 2026-12-07T09:30 (UTC)")),
    }
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

        let first = journal(&db, &recorder, JournalQuery { failures_first: true, page: 0 }, Filters::default()).await;
        let first = first.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((first.query.page, first.recorded, first.failed, first.more), (1, PER_PAGE as u64 + 3, 1, true));
        assert_eq!(first.requests.len(), PER_PAGE as usize);
        let top = &first.requests[0];
        assert_eq!(top.entry.status, 409);
        assert!(top.explanation.as_ref().is_some_and(|x| !x.reason.is_empty() && !x.fix.is_empty()), "{top:?}");
        assert!(first.requests[1..].iter().all(|r| r.explanation.is_none()));

        let second = journal(&db, &recorder, JournalQuery { failures_first: false, page: 2 }, Filters::default()).await;
        let second = second.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((second.requests.len(), second.more), (3, false));
        // Newest first: the last page holds the oldest three, the failure (seq 2) among them.
        let seqs: Vec<i64> = second.requests.iter().map(|r| r.entry.seq).collect();
        assert_eq!(seqs, [3, 2, 1]);
    }

    #[test]
    fn moments_are_days_minutes_or_durations_back() {
        let now = time::macros::datetime!(2026-12-07 12:00 UTC);
        let at = |text: &str, end: bool| moment(text, now, end).map(|t| t.map(timestamp));
        assert_eq!(at("", false), Ok(None));
        assert_eq!(at("2026-12-07", false).unwrap().as_deref(), Some("2026-12-07T00:00:00.000Z"));
        assert_eq!(at("2026-12-07", true).unwrap().as_deref(), Some("2026-12-08T00:00:00.000Z"), "the whole day");
        assert_eq!(at("2026-12-07T09:30", true).unwrap().as_deref(), Some("2026-12-07T09:31:00.000Z"));
        assert_eq!(at("2026-12-07 09:30:15Z", false).unwrap().as_deref(), Some("2026-12-07T09:30:15.000Z"));
        assert_eq!(at("2h", false).unwrap().as_deref(), Some("2026-12-07T10:00:00.000Z"));
        assert!(at("2h", true).unwrap_err().contains("is not a time"), "an end is a moment, not a duration");
        assert!(at("2026-13-01", false).is_err() && at("yesterday", false).is_err());
    }

    #[tokio::test]
    async fn one_request_is_found_by_seq_until_pruned() {
        let (_dir, db) = db_with(&[409]).await;
        let found = request(&db, 1).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(found.is_some_and(|v| v.request.explanation.is_some()));
        assert!(request(&db, 2).await.unwrap_or_else(|e| panic!("{e}")).is_none());
    }
}
