//! The overview's trends: each connection's requests and failures per hour over the last 24
//! hours and per day over the last 7 days, counted in SQL from the journal, one index range per
//! period ([`crate::db::ui::journal_count`]), every period present (a quiet hour is a zero, not
//! a gap), so that the page only draws. Periods are UTC hours and days; the page shows their starts in
//! the browser's time zone. The journal is pruned by age and count, so a long-running busy
//! server's 7 days may start later than 7 days ago: the view says from when it has entries.

use time::{Duration, OffsetDateTime, Time};

use crate::clock;
use crate::db::Db;
use crate::db::ui::{journal_count, trend_connections};
use crate::service::Result;
use crate::stamp::timestamp;

/// Hours in the short trend.
pub const HOURS: usize = 24;
/// Days in the long trend.
pub const DAYS: usize = 7;

/// One period of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// When it starts (as stored: RFC 3339 UTC).
    pub start: String,
    /// Requests in it.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
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

/// The trends as of `at`.
pub async fn trends_at(db: &Db, at: OffsetDateTime) -> Result<Trends> {
    let hour = at.replace_time(Time::from_hms(at.hour(), 0, 0).unwrap_or(Time::MIDNIGHT));
    let day = at.replace_time(Time::MIDNIGHT);
    let hours = starts(hour, Duration::HOUR, HOURS);
    let days = starts(day, Duration::DAY, DAYS);
    // A period ends where the next starts; the last (the current hour or day) at its own end.
    let hour_end = timestamp(hour + Duration::HOUR);
    let day_end = timestamp(day + Duration::DAY);
    let (hourly, daily) = db
        .read(move |c| {
            let count = |token: Option<&str>, starts: &[String], end: &str| {
                let ends = starts.iter().skip(1).map(String::as_str).chain([end]);
                starts
                    .iter()
                    .zip(ends)
                    .map(|(from, until)| {
                        let (requests, failures) = journal_count(c, token, from, until)?;
                        Ok(Period { start: from.clone(), requests, failures })
                    })
                    .collect::<Result<Vec<_>, crate::db::StoreError>>()
            };
            let mut hourly = Vec::new();
            let mut daily = Vec::new();
            for connection in trend_connections(c, &days[0])? {
                let token = connection.as_deref();
                let (h, d) = (count(token, &hours, &hour_end)?, count(token, &days, &day_end)?);
                hourly.push(Series { connection: connection.clone(), periods: h });
                daily.push(Series { connection, periods: d });
            }
            Ok((hourly, daily))
        })
        .await?;
    let order = |s: &Series| (s.connection.is_none(), s.connection.clone());
    let (mut hourly, mut daily) = (hourly, daily);
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
    use crate::db::journal::{Entry, insert};

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
        db.write(move |c| entries.iter().try_for_each(|x| insert(c, x).map(drop)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));

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
