//! The overview's trends: each connection's requests and failures per hour over the last 24
//! hours and per day over the last 7 days, and the rate limiter's refusals, every period present
//! (a quiet hour is a zero, not a gap), so that the page only draws. They are read from the
//! journal's hourly counts (`db::rollup`, which the journal's writer keeps with each batch), not
//! from the journal's rows: a week of a busy server is a few hundred rows there. Periods are UTC
//! hours and days; the page shows their starts in the browser's time zone. The counts are kept
//! for 8 days whatever the journal's own limits, so a busy server whose journal keeps fewer
//! entries than a week's still shows its week.

use time::{Duration, OffsetDateTime, Time};

use crate::clock;
use crate::db::Db;
use crate::db::rollup::{self, Hour};
use crate::service::Result;
use crate::stamp::timestamp;

/// Hours in the short trend.
pub const HOURS: usize = 24;
/// Days in the long trend.
pub const DAYS: usize = 7;

/// One period of a series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Period {
    /// When it starts (as stored: RFC 3339 UTC).
    pub start: String,
    /// Requests in it.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
    /// Of which the rate limiter refused (429).
    pub limited: u64,
}

/// A connection's periods, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// The token name; `None` for requests that had no valid token.
    pub connection: Option<String>,
    /// Every period of the span, oldest first.
    pub periods: Vec<Period>,
}

impl Series {
    /// Requests and failures over the whole span.
    pub fn totals(&self) -> (u64, u64) {
        self.periods.iter().fold((0, 0), |(r, f), p| (r + p.requests, f + p.failures))
    }

    /// Requests the rate limiter refused over the whole span.
    pub fn limited(&self) -> u64 {
        self.periods.iter().map(|p| p.limited).sum()
    }
}

/// Both spans of every connection with a request in the last [`DAYS`] days.
#[derive(Debug, Clone)]
pub struct Trends {
    /// When they were read.
    pub at: OffsetDateTime,
    /// Per hour, the last [`HOURS`] hours (the current hour last, so far).
    pub hourly: Vec<Series>,
    /// Per day, the last [`DAYS`] days (today last, so far).
    pub daily: Vec<Series>,
}

/// The trends as of now.
pub async fn trends(db: &Db) -> Result<Trends> {
    trends_at(db, clock::now()).await
}

/// The trends as of `at`, from the hourly counts (`db::rollup`): every connection's hours of
/// the 7-day span in one range read, summed into hours and days here. Counting the journal
/// itself, a range of its token index per connection and period, took 150-215 ms for a
/// 100,000-entry week in a debug build, against 2-4 ms for this (measured when V16 landed).
pub async fn trends_at(db: &Db, at: OffsetDateTime) -> Result<Trends> {
    let hour = at.replace_time(Time::from_hms(at.hour(), 0, 0).unwrap_or(Time::MIDNIGHT));
    let day = at.replace_time(Time::MIDNIGHT);
    let hours = starts(hour, Duration::HOUR, HOURS);
    let days = starts(day, Duration::DAY, DAYS);
    let (from, until) = (days[0].clone(), timestamp(hour + Duration::HOUR));
    let rows = db.read(move |c| rollup::since(c, &from)).await?;
    let mut hourly = Vec::new();
    let mut daily = Vec::new();
    // The rows come by connection, then hour: one run per connection.
    let mut rest = rows.as_slice();
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|h| h.token == first.token).count();
        let (mine, next) = rest.split_at(run);
        rest = next;
        // An hour after the current one (a clock set back) is not in any period.
        let mine: Vec<&Hour> = mine.iter().filter(|h| h.hour < until).collect();
        if mine.iter().all(|h| h.requests == 0) {
            continue;
        }
        // Hours are whole: one falls in the period whose start it is, or a day's when it has
        // that day's date.
        let sum = |inside: &dyn Fn(&str) -> bool, start: &String| {
            let mut p = Period { start: start.clone(), ..Period::default() };
            for h in mine.iter().filter(|h| inside(&h.hour)) {
                (p.requests, p.failures, p.limited) =
                    (p.requests + h.requests, p.failures + h.failures, p.limited + h.limited);
            }
            p
        };
        let h = hours.iter().map(|s| sum(&|hour| hour == s.as_str(), s)).collect();
        let d = days.iter().map(|s| sum(&|hour| hour.get(..10) == s.get(..10), s)).collect();
        hourly.push(Series { connection: first.token.clone(), periods: h });
        daily.push(Series { connection: first.token.clone(), periods: d });
    }
    let order = |s: &Series| (s.connection.is_none(), s.connection.clone());
    hourly.sort_by_key(order);
    daily.sort_by_key(order);
    Ok(Trends { at, hourly, daily })
}

/// The stamps of `n` periods of length `step`, the last starting at `last`, oldest first.
fn starts(last: OffsetDateTime, step: Duration, n: usize) -> Vec<String> {
    (0..n).rev().map(|back| timestamp(last - step * i32::try_from(back).unwrap_or(0))).collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::db::journal::Entry;

    #[tokio::test]
    async fn periods_are_counted_per_connection_with_quiet_ones_as_zeros() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = Db::open(&dir.path().join("t.db")).unwrap_or_else(|e| panic!("{e}"));
        let at = datetime!(2026-12-07 12:30 UTC);
        let e = |when: &str, token: Option<&str>, status: u16| Entry {
            at: when.into(),
            token_name: token.map(Into::into),
            method: "GET".into(),
            path: "/scim/v2/Users".into(),
            status,
            ..Entry::default()
        };
        let entries = [
            e("2026-12-07T12:10:00.000Z", Some("okta"), 200),
            e("2026-12-07T12:20:00.000Z", Some("okta"), 400),
            e("2026-12-07T10:59:59.999Z", Some("okta"), 200),
            e("2026-12-06T12:29:00.000Z", Some("okta"), 200), // before the 24 hours, in the 7 days
            e("2026-12-03T08:00:00.000Z", Some("azure"), 500), // only in the 7 days
            e("2026-12-07T12:00:00.000Z", None, 401),
            e("2026-11-30T23:59:59.999Z", Some("okta"), 200), // before both
        ];
        // As the server writes them: the journal's writer keeps the hourly counts.
        let recorder = crate::journal::Recorder::default();
        entries.into_iter().for_each(|x| recorder.record(x, None));
        recorder.flush(&db).await.unwrap_or_else(|e| panic!("{e}"));

        let t = trends_at(&db, at).await.unwrap_or_else(|e| panic!("{e}"));
        let names = |s: &[Series]| s.iter().map(|x| x.connection.clone()).collect::<Vec<_>>();
        let expected = vec![Some("azure".to_owned()), Some("okta".to_owned()), None];
        assert_eq!((names(&t.hourly), names(&t.daily)), (expected.clone(), expected));
        assert!(t.hourly.iter().all(|s| s.periods.len() == HOURS) && t.daily.iter().all(|s| s.periods.len() == DAYS));

        let okta = &t.hourly[1];
        assert_eq!(okta.periods[0].start, "2026-12-06T13:00:00.000Z");
        assert_eq!(okta.periods[HOURS - 1].start, "2026-12-07T12:00:00.000Z");
        let last: Vec<(u64, u64)> = okta.periods[HOURS - 3..].iter().map(|p| (p.requests, p.failures)).collect();
        assert_eq!(last, [(1, 0), (0, 0), (2, 1)]);
        assert_eq!((okta.totals(), t.hourly[0].totals(), t.hourly[2].totals()), ((3, 1), (0, 0), (1, 1)));

        let days: Vec<(&str, u64)> = t.daily[1].periods.iter().map(|p| (&p.start[..10], p.requests)).collect();
        assert_eq!(days[0], ("2026-12-01", 0));
        assert_eq!(&days[5..], [("2026-12-06", 1), ("2026-12-07", 3)]);
        assert_eq!(t.daily[0].totals(), (1, 1));
    }
}
