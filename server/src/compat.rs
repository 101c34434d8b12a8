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

use crate::quirks::Quirk;

use crate::clock;
use crate::db::compat::{self, Tally};
use crate::db::{Db, StoreError};

/// How often tallies are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The most distinct clients per token held between two flushes (see [`Recorder`]).
pub const PENDING_CLIENTS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(String),
    Quirk(Quirk),
}

/// Tallies not yet written.
///
/// Per token, at most [`PENDING_CLIENTS`] distinct clients are kept apart between two flushes;
/// others are counted as "other clients" at once, so a flood of made-up User-Agents cannot grow
/// the map either. The flush then keeps the [`compat::MAX_CLIENTS`] most frequent.
#[derive(Default)]
pub struct Recorder {
    pending: Mutex<HashMap<(String, Key), Tally>>,
}

impl Recorder {
    /// Counts one request from `user_agent` on `token`.
    pub fn client(&self, token: &str, user_agent: Option<&str>) {
        self.bump(token, Key::Client(user_agent.unwrap_or("").trim().chars().take(200).collect()));
    }

    /// Counts the quirks one request showed.
    pub fn quirks(&self, token: &str, quirks: &[Quirk]) {
        for q in quirks {
            self.bump(token, Key::Quirk(*q));
        }
    }

    fn bump(&self, token: &str, mut key: Key) {
        let now = clock::now_stamp();
        let Ok(mut pending) = self.pending.lock() else { return };
        if matches!(key, Key::Client(_)) && !pending.contains_key(&(token.to_owned(), key.clone())) {
            let distinct = pending.keys().filter(|(t, k)| t == token && matches!(k, Key::Client(_))).count();
            if distinct >= PENDING_CLIENTS {
                key = Key::Client(compat::OTHER_CLIENTS.to_owned());
            }
        }
        let t = pending.entry((token.to_owned(), key.clone())).or_insert_with(|| Tally {
            key: String::new(),
            count: 0,
            first_seen: now.clone(),
            last_seen: now.clone(),
        });
        t.count += 1;
        t.last_seen = now;
    }

    /// Writes what is pending.
    pub async fn flush(&self, db: &Db) -> Result<(), StoreError> {
        let batch: Vec<((String, Key), Tally)> = match self.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => return Ok(()),
        };
        if batch.is_empty() {
            return Ok(());
        }
        let kept = batch.clone();
        let written = db
            .write(move |c| {
                let mut touched = std::collections::BTreeSet::new();
                for ((token, key), t) in &batch {
                    match key {
                        Key::Client(ua) => {
                            compat::add_client(c, token, ua, t)?;
                            touched.insert(token.as_str());
                        }
                        Key::Quirk(q) => compat::add_quirk(c, token, q.code(), t)?,
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
    fn put_back(&self, batch: Vec<((String, Key), Tally)>) {
        let Ok(mut pending) = self.pending.lock() else { return };
        for (key, t) in batch {
            match pending.get_mut(&key) {
                Some(p) => {
                    p.count += t.count;
                    p.first_seen = t.first_seen;
                }
                None => {
                    pending.insert(key, t);
                }
            }
        }
    }
}
