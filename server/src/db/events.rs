//! SQL for the application's change feed (`migrations/V11__events.sql`): events are inserted by
//! the service inside the write of the change they describe, read back in `seq` order, and
//! pruned from the oldest end, which moves the recorded horizon.
//!
//! Order: one writer assigns every `seq` and commits in that order, so a reader that sees event
//! `n` sees every event below `n` too; the feed can therefore hand out "everything up to the
//! highest number assigned" as its cursor without ever skipping a late commit. (A CLI process
//! writing the same file takes SQLite's write lock, so the same holds.)
//!
//! The writer tells waiting feed requests that events committed through [`Notifier`]: a job
//! marks the batch (`wrote`), and after the batch's commit (never before) the writer publishes
//! the highest `seq`.

use std::cell::Cell;

use super::sql::{Connection, OptionalExtension, params};
use tokio::sync::watch;

use super::StoreError;

/// One event to insert.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Its uuid.
    pub id: &'a str,
    /// `user.created`, ...
    pub kind: &'a str,
    /// The write's stamp.
    pub at: &'a str,
    /// `User` or `Group`.
    pub resource_type: &'a str,
    /// The resource's id.
    pub resource_id: &'a str,
    /// The token name, `cli` or `status-page`.
    pub actor: &'a str,
    /// The event's `data`, serialised.
    pub data: &'a str,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its place in the feed.
    pub seq: i64,
    /// Its uuid.
    pub id: String,
    /// `user.created`, ...
    pub kind: String,
    /// When the write happened (RFC 3339 UTC).
    pub occurred_at: String,
    /// `User` or `Group`.
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// Who made the change.
    pub actor: String,
    /// JSON.
    pub data: String,
    /// The seq of the first event of the write that recorded it (its own for that one).
    pub txn: i64,
}

/// Inserts one event; returns its seq. Marks the batch as having events (`wrote`). The first
/// event of a write job starts its transaction (`txn` NULL); the later ones carry its seq.
pub fn insert(c: &Connection, e: &NewEvent<'_>) -> Result<i64, StoreError> {
    let txn = JOB_FIRST.with(Cell::get);
    let seq = c
        .prepare_cached(
            "INSERT INTO events (id, type, occurred_at, resource_type, resource_id, actor, data, txn)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .insert_seq(params![e.id, e.kind, e.at, e.resource_type, e.resource_id, e.actor, e.data, txn])?;
    wrote();
    if txn.is_none() {
        JOB_FIRST.with(|f| f.set(Some(seq)));
    }
    Ok(seq)
}

/// Starts a write job: its first event will start a new transaction (see [`insert`]).
pub(super) fn begin_job() {
    JOB_FIRST.with(|f| f.set(None));
}

/// What one read of the feed found.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// The matching events after the cursor, in order, at most the limit.
    pub events: Vec<Event>,
    /// The position to continue from: the last event returned when the limit was reached,
    /// else the highest seq ever assigned (every event up to it was looked at).
    pub through: i64,
    /// Events up to this seq were pruned.
    pub pruned_through: i64,
    /// The highest seq ever assigned.
    pub newest: i64,
}

/// The highest seq ever assigned (0 before the first event).
pub fn newest(c: &Connection) -> Result<i64, StoreError> {
    // PostgreSQL's identity sequence runs ahead of what has committed (other instances' batches
    // take numbers before they commit), so the highest committed seq is read from the rows,
    // and after a prune that emptied the table, from the horizon.
    let sql = match c.dialect() {
        super::sql::Dialect::Sqlite => "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
        super::sql::Dialect::Postgres => NEWEST_PG,
    };
    let n: Option<i64> = c.prepare_cached(sql)?.query_row([], |r| r.get(0)).optional()?;
    Ok(n.unwrap_or(0))
}

/// [`newest`] on PostgreSQL (also run by the listener of [`super::pg_listen`], which reads it on
/// a connection of its own after each reconnection).
pub(super) const NEWEST_PG: &str =
    "SELECT greatest((SELECT max(seq) FROM events), (SELECT pruned_through FROM events_horizon WHERE id = 1))";

/// Events up to this seq are gone (pruned).
pub fn pruned_through(c: &Connection) -> Result<i64, StoreError> {
    let n: Option<i64> = c
        .prepare_cached("SELECT pruned_through FROM events_horizon WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(n.unwrap_or(0))
}

/// Up to `limit` events after `after` whose type is one of `types` (all when `None`), read in
/// one snapshot with the horizon and the highest seq.
pub fn after(c: &Connection, after: i64, types: Option<&[String]>, limit: u32) -> Result<Window, StoreError> {
    super::rows::snapshot(c, || {
        let newest = newest(c)?;
        let pruned_through = pruned_through(c)?;
        let mut events = Vec::new();
        let cols = "seq, id, type, occurred_at, resource_type, resource_id, actor, data, coalesce(txn, seq)";
        let read = |r: &super::sql::Row<'_>| {
            Ok(Event {
                seq: r.get(0)?,
                id: r.get(1)?,
                kind: r.get(2)?,
                occurred_at: r.get(3)?,
                resource_type: r.get(4)?,
                resource_id: r.get(5)?,
                actor: r.get(6)?,
                data: r.get(7)?,
                txn: r.get(8)?,
            })
        };
        match types {
            None => {
                let sql = format!("SELECT {cols} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
                let mut stmt = c.prepare_cached(&sql)?;
                for e in stmt.query_map(params![after, limit], read)? {
                    events.push(e?);
                }
            }
            Some(types) => {
                // `type IN (...)` through the (type, seq) index: the types are few and known.
                let marks = (0..types.len()).map(|i| format!("?{}", i + 3)).collect::<Vec<_>>().join(", ");
                let sql =
                    format!("SELECT {cols} FROM events WHERE seq > ?1 AND type IN ({marks}) ORDER BY seq LIMIT ?2");
                let mut args: Vec<&dyn super::sql::ToSql> = vec![&after, &limit];
                args.extend(types.iter().map(|t| t as &dyn super::sql::ToSql));
                let mut stmt = c.prepare_cached(&sql)?;
                for e in stmt.query_map(args.as_slice(), read)? {
                    events.push(e?);
                }
            }
        }
        let full = u32::try_from(events.len()).unwrap_or(u32::MAX) >= limit;
        let through = match events.last() {
            Some(last) if full => last.seq,
            _ => newest.max(after),
        };
        Ok(Window { events, through, pruned_through, newest })
    })
}

/// Deletes up to `batch` of the oldest events that occurred before `before`, stopping at the
/// first younger one (so what is kept is always every event above the horizon), and records
/// the new horizon; returns how many went.
pub fn prune(c: &Connection, before: &str, batch: u32) -> Result<usize, StoreError> {
    let mut stmt = c.prepare_cached("SELECT seq, occurred_at FROM events ORDER BY seq LIMIT ?1")?;
    let mut rows = stmt.query([batch])?;
    let mut last = None;
    while let Some(r) = rows.next()? {
        let (seq, at): (i64, String) = (r.get(0)?, r.get(1)?);
        if at.as_str() >= before {
            break;
        }
        last = Some(seq);
    }
    drop(rows);
    let Some(last) = last else { return Ok(0) };
    let n = c.prepare_cached("DELETE FROM events WHERE seq <= ?1")?.execute([last])?;
    c.prepare_cached(match c.dialect() {
        super::sql::Dialect::Sqlite => {
            "UPDATE events_horizon SET pruned_through = max(pruned_through, ?1) WHERE id = 1"
        }
        super::sql::Dialect::Postgres => {
            "UPDATE events_horizon SET pruned_through = greatest(pruned_through, ?1) WHERE id = 1"
        }
    })?
    .execute([last])?;
    Ok(n)
}

/// The groups `member_id` is a direct member of: (id, displayName), for the membership events
/// of a deletion (read before the memberships go).
pub fn direct_groups(c: &Connection, member_id: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT g.id, g.display_name FROM group_members gm JOIN groups g ON g.seq = gm.group_seq
         WHERE gm.member_id = ?1 ORDER BY g.seq",
    )?;
    let rows = stmt.query_map([member_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// A membership change of the write in progress, netted (see [`super::changes`]): the member's
/// id, its type (`User`/`Group`, from the resource that has the id) and whether it was added.
pub fn pending_members(c: &Connection, group_seq: i64) -> Result<Vec<(String, String, bool)>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT p.member_id,
                CASE WHEN EXISTS (SELECT 1 FROM users u WHERE u.id = p.member_id) THEN 'User' ELSE 'Group' END,
                p.added
         FROM member_changes_pending p WHERE p.group_seq = ?1 ORDER BY p.added DESC, p.member_id",
    )?;
    let rows = stmt.query_map([group_seq], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

std::thread_local! {
    /// On the writer thread: whether a job of the current batch inserted an event.
    static WROTE: Cell<bool> = const { Cell::new(false) };
    /// On the writer thread (and a CLI's): the seq of the current write job's first event.
    static JOB_FIRST: Cell<Option<i64>> = const { Cell::new(None) };
}

/// Marks the current batch as having written events.
fn wrote() {
    WROTE.with(|w| w.set(true));
}

/// Takes the current batch's mark (the writer, after its commit or rollback).
pub(super) fn take_wrote() -> bool {
    WROTE.with(|w| w.replace(false))
}

/// Whether a job of the current batch inserted an event, leaving the mark (the PostgreSQL
/// writer, before its commit: see [`super::pg_listen`]).
pub(super) fn batch_wrote() -> bool {
    WROTE.with(Cell::get)
}

/// Publishes the highest committed event seq to the feed's waiting requests (and the webhook
/// workers): this instance's writer after each commit that wrote events, and on PostgreSQL also
/// the listener ([`super::pg_listen`]), with what every instance's writer commits. The value
/// only grows: a number lower than the one held (a notification overtaken by a later commit's)
/// changes nothing and wakes nobody.
#[derive(Debug)]
pub struct Notifier(watch::Sender<i64>);

impl Default for Notifier {
    fn default() -> Self {
        Self(watch::channel(0).0)
    }
}

impl Notifier {
    /// Called by the writer after a commit that included events.
    pub(super) fn committed(&self, c: &Connection) {
        match newest(c) {
            Ok(seq) => self.advance(seq),
            Err(e) => tracing::warn!(error = %e, "could not read the newest event after a commit"),
        }
    }

    /// Events up to `seq` are committed: wakes the receivers if that is more than was known.
    pub(super) fn advance(&self, seq: i64) {
        self.0.send_if_modified(|held| {
            let more = seq > *held;
            if more {
                *held = seq;
            }
            more
        });
    }

    /// A receiver that wakes when events commit.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        crate::db::scratch()
    }

    fn add(c: &Connection, n: i64, at: &str) -> i64 {
        let id = format!("e{n}");
        let e = NewEvent {
            id: &id,
            kind: "user.created",
            at,
            resource_type: "User",
            resource_id: "u",
            actor: "t",
            data: "{}",
        };
        insert(c, &e).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The notifier's number never goes back, and only a higher one wakes a receiver.
    #[test]
    fn the_notifier_only_moves_forward() {
        let n = Notifier::default();
        let mut rx = n.subscribe();
        n.advance(5);
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(*rx.borrow_and_update(), 5);
        n.advance(3);
        n.advance(5);
        assert!(!rx.has_changed().unwrap_or(true), "a lower or equal number wakes nobody");
        assert_eq!(*rx.borrow(), 5);
        n.advance(9);
        assert_eq!(*rx.borrow_and_update(), 9);
    }

    /// Pruning removes a prefix only (a younger event stops it, even if older ones follow), moves
    /// the horizon with it, and never lets a number be handed out again.
    #[test]
    fn pruning_takes_a_prefix_and_records_the_horizon() {
        let (_d, c) = db();
        for (n, at) in [(1, "2026-01-01"), (2, "2026-01-02"), (3, "2026-03-01"), (4, "2026-01-03")] {
            assert_eq!(add(&c, n, at), n);
        }
        assert_eq!(prune(&c, "2026-02-01", 100).ok(), Some(2));
        assert_eq!(pruned_through(&c).ok(), Some(2));
        let w = after(&c, 2, None, 10).unwrap_or_default();
        assert_eq!(w.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
        assert_eq!((w.through, w.pruned_through, w.newest), (4, 2, 4));
        assert_eq!(prune(&c, "2026-12-31", 1).ok(), Some(1));
        assert_eq!(prune(&c, "2026-12-31", 1).ok(), Some(1));
        assert_eq!((pruned_through(&c).ok(), newest(&c).ok()), (Some(4), Some(4)));
        assert_eq!(add(&c, 5, "2026-12-31"), 5, "a pruned number is never reused");
    }
}
