//! The webhooks view (issue 16; webhooks are issue 14's, [`crate::service::webhooks`]): each
//! endpoint with its delivery state, how far it is behind the change feed (in events of its
//! types, and the age of the oldest it has not had), its last delivery, last error and next
//! attempt. Read in one snapshot with the feed's newest and oldest kept seq, so a page's numbers
//! agree with each other. The Replay action is `service::webhooks::replay`, the same operation
//! as `scimbox webhook replay`.

use time::OffsetDateTime;

use crate::clock;
use crate::db::rows::snapshot;
use crate::db::webhooks::{self as store, Webhook};
use crate::db::{Db, events, ui};
use crate::service::Result;
use crate::service::webhooks::{RETRY_SCHEDULE, wants};

/// Where an endpoint's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The last attempt succeeded (or none failed since the last replay).
    Ok,
    /// The next event failed and is being retried on the schedule.
    Retrying,
    /// The retry schedule ran out: tried once a day until it succeeds or is replayed.
    Failing,
}

impl State {
    /// `ok`, `retrying` or `failing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Retrying => "retrying",
            Self::Failing => "failing",
        }
    }

    /// The state after `attempts` failed attempts at the next event (the rule
    /// `service::webhooks` marks an endpoint failing by: past the whole schedule).
    pub fn of(attempts: i64) -> Self {
        match usize::try_from(attempts).unwrap_or(0) {
            0 => Self::Ok,
            n if n > RETRY_SCHEDULE.len() => Self::Failing,
            _ => Self::Retrying,
        }
    }
}

/// One endpoint as the page shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its name.
    pub name: String,
    /// Where events go.
    pub url: String,
    /// Its type patterns (`None`: every type).
    pub types: Option<String>,
    /// Its delivery state.
    pub state: State,
    /// Failed attempts at the next event.
    pub attempts: i64,
    /// The seq delivered (or passed over) through.
    pub cursor: i64,
    /// Events of its types recorded after the cursor.
    pub lag: u64,
    /// When the oldest of those was recorded (as stored), if any.
    pub oldest_undelivered: Option<String>,
    /// When an event was last delivered (as stored).
    pub last_delivered_at: Option<String>,
    /// The last failure's text.
    pub last_error: Option<String>,
    /// When it happened (as stored).
    pub last_error_at: Option<String>,
    /// When the next attempt is due while retrying or failing (as stored).
    pub next_attempt_at: Option<String>,
}

/// Every endpoint, by name, with the feed's bounds.
#[derive(Debug, Clone)]
pub struct Webhooks {
    /// When it was read.
    pub at: OffsetDateTime,
    /// The newest event's seq (0 before the first).
    pub newest: i64,
    /// The oldest seq a replay can still send (events below it were pruned).
    pub oldest_kept: i64,
    /// The endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// The view as of now.
pub async fn webhooks(db: &Db) -> Result<Webhooks> {
    let at = clock::now();
    let (newest, pruned, endpoints) = db
        .read(|c| {
            snapshot(c, || {
                let mut endpoints = Vec::new();
                for h in store::list(c)? {
                    let behind = ui::events_behind(c, h.cursor)?;
                    let wanted: Vec<_> = behind.iter().filter(|(t, ..)| wants(h.types.as_deref(), t)).collect();
                    let lag = wanted.iter().map(|(_, n, _)| n).sum();
                    let oldest = match wanted.iter().map(|(.., seq)| *seq).min() {
                        Some(seq) => ui::event_time(c, seq)?,
                        None => None,
                    };
                    endpoints.push(endpoint(h, lag, oldest));
                }
                Ok((events::newest(c)?, events::pruned_through(c)?, endpoints))
            })
        })
        .await?;
    Ok(Webhooks { at, newest, oldest_kept: pruned + 1, endpoints })
}

/// The endpoint named `name` (as stored: trimmed), if there is one.
pub async fn endpoint_named(db: &Db, name: &str) -> Result<Option<Endpoint>> {
    let name = name.trim().to_owned();
    Ok(webhooks(db).await?.endpoints.into_iter().find(|e| e.name == name))
}

fn endpoint(h: Webhook, lag: u64, oldest_undelivered: Option<String>) -> Endpoint {
    let state = State::of(h.attempts);
    Endpoint {
        name: h.name,
        url: h.url,
        types: h.types,
        state,
        attempts: h.attempts,
        cursor: h.cursor,
        lag,
        oldest_undelivered,
        last_delivered_at: h.last_delivered_at,
        last_error: h.last_error,
        last_error_at: h.last_error_at,
        next_attempt_at: if state == State::Ok { None } else { h.next_attempt_at },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_retry_schedule() {
        assert_eq!(State::of(0), State::Ok);
        assert_eq!(State::of(1), State::Retrying);
        assert_eq!(State::of(i64::try_from(RETRY_SCHEDULE.len()).unwrap_or(0)), State::Retrying);
        assert_eq!(State::of(i64::try_from(RETRY_SCHEDULE.len()).unwrap_or(0) + 1), State::Failing);
        assert_eq!(State::of(-1), State::Ok);
    }
}
