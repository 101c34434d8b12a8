//! The compatibility report: for each IdP connection (token), which clients it saw and which
//! departures from the RFC scimbox accepted, how often and when last (issue: "no silent drift"
//! means telling the admin what was smoothed over).
//!
//! Requests only add to an in-memory tally; a background task writes it through the writer every
//! [`FLUSH_EVERY`], so observation never adds a write to a request; a flush whose write fails
//! puts its tallies back for the next. Counts still in memory when the process is killed are
//! lost; they are statistics, not data.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use crate::quirks::Quirk;

use crate::db::compat::{self, Tally};
use crate::db::{Db, StoreError};
use crate::{clock, stamp};

/// How often tallies are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The most distinct clients per token held between two flushes (see [`Recorder`]).
pub const PENDING_CLIENTS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(String),
    Quirk(Quirk),
}

/// One tally not yet written: its moments as read, formatted only when flushed.
#[derive(Debug, Clone, Copy)]
struct Pending {
    count: i64,
    first: OffsetDateTime,
    last: OffsetDateTime,
}

impl Pending {
    fn new(now: OffsetDateTime) -> Self {
        Self { count: 0, first: now, last: now }
    }

    fn bump(&mut self, now: OffsetDateTime) {
        self.count += 1;
        self.last = now;
    }

    fn tally(&self) -> Tally {
        Tally {
            key: String::new(),
            count: self.count,
            first_seen: stamp::timestamp(self.first),
            last_seen: stamp::timestamp(self.last),
        }
    }
}

/// One connection's tallies not yet written.
#[derive(Debug, Default)]
struct Connection {
    clients: HashMap<String, Pending>,
    quirks: HashMap<Quirk, Pending>,
}

/// Tallies not yet written.
///
/// Per token, at most [`PENDING_CLIENTS`] distinct clients are kept apart between two flushes;
/// others are counted as "other clients" at once, so a flood of made-up User-Agents cannot grow
/// the map either. The flush then keeps the [`compat::MAX_CLIENTS`] most frequent.
///
/// A request's tallies are counted under one lock, looked up by the names it borrows (a token and
/// a client already seen allocate nothing) and stamped with the clock's reading, formatted once
/// per tally at the flush rather than once per request (issue 17).
#[derive(Default)]
pub struct Recorder {
    pending: Mutex<HashMap<String, Connection>>,
}

/// `user_agent` as tallied: trimmed, its first 200 characters.
fn client_key(user_agent: Option<&str>) -> &str {
    let ua = user_agent.unwrap_or("").trim();
    ua.char_indices().nth(200).map_or(ua, |(at, _)| &ua[..at])
}

impl Recorder {
    /// Counts one request from `user_agent` on `token`, and the quirks it showed.
    pub fn request(&self, token: &str, user_agent: Option<&str>, quirks: &[Quirk]) {
        let now = clock::now();
        let Ok(mut pending) = self.pending.lock() else { return };
        let conn = connection(&mut pending, token);
        count_client(conn, client_key(user_agent), now);
        for q in quirks {
            conn.quirks.entry(*q).or_insert_with(|| Pending::new(now)).bump(now);
        }
    }

    /// Counts one request from `user_agent` on `token`.
    pub fn client(&self, token: &str, user_agent: Option<&str>) {
        self.request(token, user_agent, &[]);
    }

    /// Counts the quirks one request showed.
    pub fn quirks(&self, token: &str, quirks: &[Quirk]) {
        if quirks.is_empty() {
            return;
        }
        let now = clock::now();
        let Ok(mut pending) = self.pending.lock() else { return };
        let conn = connection(&mut pending, token);
        for q in quirks {
            conn.quirks.entry(*q).or_insert_with(|| Pending::new(now)).bump(now);
        }
    }

    /// Writes what is pending.
    pub async fn flush(&self, db: &Db) -> Result<(), StoreError> {
        let batch: Vec<(String, Key, Pending)> = match self.pending.lock() {
            Ok(mut p) => p
                .drain()
                .flat_map(|(token, conn)| {
                    let clients = conn.clients.into_iter().map(|(ua, t)| (Key::Client(ua), t));
                    let quirks = conn.quirks.into_iter().map(|(q, t)| (Key::Quirk(q), t));
                    let all: Vec<(Key, Pending)> = clients.chain(quirks).collect();
                    all.into_iter().map(move |(k, t)| (token.clone(), k, t))
                })
                .collect(),
            Err(_) => return Ok(()),
        };
        if batch.is_empty() {
            return Ok(());
        }
        let kept = batch.clone();
        let written = db
            .write(move |c| {
                let mut touched = std::collections::BTreeSet::new();
                for (token, key, t) in &batch {
                    match key {
                        Key::Client(ua) => {
                            compat::add_client(c, token, ua, &t.tally())?;
                            touched.insert(token.as_str());
                        }
                        Key::Quirk(q) => compat::add_quirk(c, token, q.code(), &t.tally())?,
                    }
                }
                for token in touched {
                    compat::cap_clients(c, token)?;
                }
                Ok(())
            })
            .await;
        if written.is_err() {
            self.put_back(kept);
        }
        written
    }

    /// Adds tallies whose write failed back into the pending ones, for the next flush.
    fn put_back(&self, batch: Vec<(String, Key, Pending)>) {
        let Ok(mut pending) = self.pending.lock() else { return };
        for (token, key, t) in batch {
            let conn = connection(&mut pending, &token);
            let slot = match key {
                Key::Client(ua) => conn.clients.entry(ua),
                Key::Quirk(q) => {
                    merge(conn.quirks.entry(q), t);
                    continue;
                }
            };
            merge(slot, t);
        }
    }
}

/// Adds a tally put back to what was counted since.
fn merge<K>(slot: std::collections::hash_map::Entry<'_, K, Pending>, t: Pending) {
    slot.and_modify(|p| {
        p.count += t.count;
        p.first = t.first;
    })
    .or_insert(t);
}

/// `token`'s tallies, made on its first request.
fn connection<'a>(pending: &'a mut HashMap<String, Connection>, token: &str) -> &'a mut Connection {
    if !pending.contains_key(token) {
        pending.insert(token.to_owned(), Connection::default());
    }
    pending.get_mut(token).unwrap_or_else(|| unreachable!("inserted above"))
}

/// Counts one request of client `ua`: under its own name while the connection has fewer than
/// [`PENDING_CLIENTS`] pending, else as "other clients".
fn count_client(conn: &mut Connection, ua: &str, now: OffsetDateTime) {
    if let Some(p) = conn.clients.get_mut(ua) {
        p.bump(now);
        return;
    }
    let key = if conn.clients.len() >= PENDING_CLIENTS { compat::OTHER_CLIENTS } else { ua };
    conn.clients.entry(key.to_owned()).or_insert_with(|| Pending::new(now)).bump(now);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(r: &Recorder) -> Vec<(String, Key, i64)> {
        let p = r.pending.lock().expect("lock");
        let mut out: Vec<(String, Key, i64)> = p
            .iter()
            .flat_map(|(t, c)| {
                let clients = c.clients.iter().map(|(ua, n)| (t.clone(), Key::Client(ua.clone()), n.count));
                let quirks = c.quirks.iter().map(|(q, n)| (t.clone(), Key::Quirk(*q), n.count));
                clients.chain(quirks).collect::<Vec<_>>()
            })
            .collect();
        out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out
    }

    /// Clients are tallied trimmed and cut to 200 characters, per token, with the quirks; past
    /// PENDING_CLIENTS distinct ones, as "other clients"; a failed flush's tallies come back.
    #[test]
    fn requests_are_tallied_per_token_client_and_quirk() {
        let r = Recorder::default();
        let long = "é".repeat(250);
        r.request("okta", Some("  Okta 1.0 "), &[Quirk::BareToken]);
        r.request("okta", Some("Okta 1.0"), &[]);
        r.request("entra", None, &[Quirk::BareToken, Quirk::BareToken]);
        r.client("entra", Some(&long));
        r.quirks("okta", &[Quirk::BareToken]);
        let cut: String = long.chars().take(200).collect();
        assert_eq!(
            pending(&r),
            [
                ("entra".to_owned(), Key::Client(String::new()), 1),
                ("entra".to_owned(), Key::Client(cut), 1),
                ("entra".to_owned(), Key::Quirk(Quirk::BareToken), 2),
                ("okta".to_owned(), Key::Client("Okta 1.0".into()), 2),
                ("okta".to_owned(), Key::Quirk(Quirk::BareToken), 2),
            ]
        );
        for n in 0..PENDING_CLIENTS + 5 {
            r.client("flood", Some(&format!("ua {n}")));
        }
        let flood: Vec<_> = pending(&r).into_iter().filter(|(t, ..)| t == "flood").collect();
        assert_eq!(flood.len(), PENDING_CLIENTS + 1, "the first ones, and \"other clients\"");
        let other = flood.iter().find(|(_, k, _)| *k == Key::Client(compat::OTHER_CLIENTS.into()));
        assert_eq!(other.map(|o| o.2), Some(5));
        let batch: Vec<(String, Key, Pending)> = vec![("okta".into(), Key::Quirk(Quirk::BareToken), {
            let mut p = Pending::new(clock::now());
            p.count = 3;
            p
        })];
        r.put_back(batch);
        assert!(pending(&r).contains(&("okta".into(), Key::Quirk(Quirk::BareToken), 5)));
    }
}
