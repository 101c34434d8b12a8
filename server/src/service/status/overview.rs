//! The overview: users active and inactive, each IdP connection's requests and failures in the
//! last 24 hours and its last contact, the tokens that expire soon, and what stops the store or
//! the journal from keeping up (issue 11's store faults and shed-journal notices).

use time::{Duration, OffsetDateTime, Time};

use crate::clock;
use crate::db::Db;
use crate::db::journal::ConnectionStats;
use crate::db::rollup;
use crate::db::tokens::{self, TokenInfo};
pub use crate::db::ui::UserCounts;
use crate::db::ui::{connection_stats, user_counts};
use crate::journal::Recorder;
use crate::service::Result;
use crate::service::tokens::TokenStatus;
use crate::stamp::timestamp;

/// "Expiring soon" means within this many days.
pub const SOON_DAYS: i64 = 14;

/// One IdP connection's activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The token name.
    pub name: String,
    /// The client last seen with it.
    pub client: Option<String>,
    /// Requests in the last 24 h.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
    /// Its last request (as stored), if any.
    pub last_contact: Option<String>,
}

/// A live token that expires within [`SOON_DAYS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    /// Its name.
    pub name: String,
    /// When (as stored).
    pub expires: String,
}

/// The overview.
#[derive(Debug, Clone)]
pub struct Overview {
    /// When it was read.
    pub at: OffsetDateTime,
    /// Users by `active`.
    pub users: UserCounts,
    /// Every live token's connection, then any other connection seen in the last 24 hours.
    pub connections: Vec<Connection>,
    /// Live tokens that expire soon, soonest first.
    pub expiring: Vec<Expiring>,
    /// Why the database cannot take writes now, if it cannot (as `/healthz` says).
    pub store_fault: Option<String>,
    /// Requests the journal could not record, and since when.
    pub shed: Option<(u64, String)>,
}

/// Reads the overview now; a token is listed while it is active ([`TokenStatus::Active`], the
/// tokens' own status rule).
pub async fn overview(db: &Db, journal: &Recorder) -> Result<Overview> {
    let at = clock::now();
    let day_ago = at - Duration::days(1);
    let since = timestamp(day_ago);
    // The first hour boundary after `since`: whole hours from there on are counted per hour.
    let whole = timestamp(
        day_ago.replace_time(Time::from_hms(day_ago.hour(), 0, 0).unwrap_or(Time::MIDNIGHT)) + Duration::HOUR,
    );
    let (users, stats, all) = db
        .read(move |c| {
            // The live tokens' names (whatever their status: `connections` keeps the live ones)
            // and every other connection seen in the last 24 hours.
            let all = tokens::list(c)?;
            let mut names: Vec<String> = all.iter().map(|t| t.name.clone()).collect();
            names.extend(rollup::tokens_since(c, &rollup::hour_of(&since))?);
            names.sort();
            names.dedup();
            Ok((user_counts(c)?, connection_stats(c, &names, &since, &whole)?, all))
        })
        .await?;
    let stamp = timestamp(at);
    let live: Vec<TokenInfo> = all.into_iter().filter(|t| TokenStatus::of(t, &stamp) == TokenStatus::Active).collect();
    Ok(Overview {
        users,
        connections: connections(stats, &live),
        expiring: expiring(&live, at),
        store_fault: db.fault(),
        shed: journal.shed(),
        at,
    })
}

/// Every live token's connection, with its last 24 hours (none: zeros and the token's last use),
/// then any other connection seen in the last 24 hours (a token revoked since, say).
fn connections(stats: Vec<ConnectionStats>, live: &[TokenInfo]) -> Vec<Connection> {
    let mut rows: Vec<Connection> = live
        .iter()
        .map(|t| Connection {
            name: t.name.clone(),
            client: None,
            requests: 0,
            failures: 0,
            last_contact: t.last_used.clone(),
        })
        .collect();
    for s in stats {
        match rows.iter_mut().find(|r| r.name == s.token_name) {
            Some(r) => {
                (r.client, r.requests, r.failures) = (s.client, s.requests_24h, s.failures_24h);
                r.last_contact = s.last_contact.or(r.last_contact.take());
            }
            None => rows.push(Connection {
                name: s.token_name,
                client: s.client,
                requests: s.requests_24h,
                failures: s.failures_24h,
                last_contact: s.last_contact,
            }),
        }
    }
    rows
}

/// The `live` tokens that expire within [`SOON_DAYS`] of `at`, soonest first.
fn expiring(live: &[TokenInfo], at: OffsetDateTime) -> Vec<Expiring> {
    let horizon = timestamp(at + Duration::days(SOON_DAYS));
    let mut soon: Vec<(&str, &str)> = live
        .iter()
        .filter_map(|t| t.expires.as_deref().filter(|e| *e <= horizon.as_str()).map(|e| (e, t.name.as_str())))
        .collect();
    soon.sort();
    soon.into_iter().map(|(expires, name)| Expiring { name: name.to_owned(), expires: expires.to_owned() }).collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn token(name: &str, expires: Option<&str>, last_used: Option<&str>) -> TokenInfo {
        TokenInfo {
            name: name.into(),
            created: "2026-01-01T00:00:00.000Z".into(),
            expires: expires.map(Into::into),
            revoked: None,
            last_used: last_used.map(Into::into),
            rotated: None,
            previous_expires: None,
            scope: "scim".into(),
        }
    }

    fn stats(name: &str, requests: u64, failures: u64, last: &str) -> ConnectionStats {
        ConnectionStats {
            token_name: name.into(),
            requests_24h: requests,
            failures_24h: failures,
            last_contact: Some(last.into()),
            client: Some("Okta SCIM Client".into()),
        }
    }

    #[test]
    fn connections_are_live_tokens_then_others_seen() {
        let live = [token("okta", None, Some("2026-03-01T00:00:00.000Z")), token("idle", None, None)];
        let seen =
            vec![stats("okta", 10, 2, "2026-03-02T00:00:00.000Z"), stats("gone", 3, 3, "2026-03-01T00:00:00.000Z")];
        let rows = connections(seen, &live);
        let brief: Vec<(&str, u64, u64, Option<&str>)> =
            rows.iter().map(|r| (r.name.as_str(), r.requests, r.failures, r.last_contact.as_deref())).collect();
        assert_eq!(
            brief,
            [
                ("okta", 10, 2, Some("2026-03-02T00:00:00.000Z")),
                ("idle", 0, 0, None),
                ("gone", 3, 3, Some("2026-03-01T00:00:00.000Z")),
            ]
        );
        assert_eq!(rows[0].client.as_deref(), Some("Okta SCIM Client"));
    }

    #[test]
    fn expiring_means_within_the_horizon_soonest_first() {
        let at = datetime!(2026-03-01 00:00 UTC);
        let live = [
            token("late", Some("2026-03-15T00:00:00.000Z"), None),
            token("later", Some("2026-03-15T00:00:00.001Z"), None),
            token("soon", Some("2026-03-02T00:00:00.000Z"), None),
            token("never", None, None),
        ];
        let names: Vec<String> = expiring(&live, at).into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["soon", "late"]);
    }
}
