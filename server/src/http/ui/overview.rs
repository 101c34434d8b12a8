//! `/`: the overview: users active and inactive, each IdP connection's requests and failures in
//! the last 24 hours and its last contact, and the tokens that expire within 14 days.

use askama::Template;
use axum::extract::State;
use time::OffsetDateTime;

use super::time::{Stamp, days_ago, days_ahead};
use super::tokens::status;
use super::{Layout, Page, UiError};
use crate::admin::AdminSession;
use crate::clock;
use crate::db::journal::{self as store, ConnectionStats};
use crate::db::tokens::{self, TokenInfo};
use crate::db::ui::{UserCounts, user_counts};
use crate::http::AppState;

/// "Expiring soon" means within this many days.
const SOON_DAYS: i64 = 14;

/// One IdP connection's activity.
pub struct ConnectionRow {
    /// The token name.
    pub name: String,
    /// The client last seen with it.
    pub client: Option<String>,
    /// Requests in the last 24 h.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
    /// Last request, if any.
    pub last_contact: Option<Stamp>,
}

/// A token that expires soon.
pub struct Expiring {
    /// Its name.
    pub name: String,
    /// When.
    pub expires: Stamp,
}

/// The overview page.
#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    layout: Layout,
    users: UserCounts,
    connections: Vec<ConnectionRow>,
    expiring: Vec<Expiring>,
    soon_days: i64,
    /// Why the database cannot take writes now, if it cannot (as `/healthz` says).
    store_fault: Option<String>,
    /// Requests the journal could not record, and since when.
    shed: Option<(u64, String)>,
}

/// GET /.
pub async fn page(State(state): State<AppState>, session: AdminSession) -> Result<Page<OverviewPage>, UiError> {
    let now = clock::now();
    let since = days_ago(now, 1);
    let (users, stats, tokens) =
        state.db.read(move |c| Ok((user_counts(c)?, store::stats_24h(c, &since)?, tokens::list(c)?))).await?;
    Ok(Page::ok(OverviewPage {
        layout: Layout::new("Overview", "/", &session),
        users,
        connections: connections(stats, &tokens, now),
        expiring: expiring(&tokens, now),
        soon_days: SOON_DAYS,
        store_fault: state.db.fault(),
        shed: state.journal.shed(),
    }))
}

/// Every live token's connection, with its last 24 hours (none: zeros and the token's last use),
/// then any other connection seen in the last 24 hours (a token revoked since, say).
fn connections(stats: Vec<ConnectionStats>, tokens: &[TokenInfo], now: OffsetDateTime) -> Vec<ConnectionRow> {
    let stamp = crate::db::timestamp(now);
    let mut rows: Vec<ConnectionRow> = tokens
        .iter()
        .filter(|t| status(t, &stamp) == "live")
        .map(|t| ConnectionRow {
            name: t.name.clone(),
            client: None,
            requests: 0,
            failures: 0,
            last_contact: Stamp::opt(t.last_used.as_deref(), now),
        })
        .collect();
    for s in stats {
        let last = Stamp::opt(s.last_contact.as_deref(), now);
        match rows.iter_mut().find(|r| r.name == s.token_name) {
            Some(r) => {
                (r.client, r.requests, r.failures) = (s.client, s.requests_24h, s.failures_24h);
                r.last_contact = last.or(r.last_contact.take());
            }
            None => rows.push(ConnectionRow {
                name: s.token_name,
                client: s.client,
                requests: s.requests_24h,
                failures: s.failures_24h,
                last_contact: last,
            }),
        }
    }
    rows
}

/// Live tokens that expire within [`SOON_DAYS`], soonest first.
fn expiring(tokens: &[TokenInfo], now: OffsetDateTime) -> Vec<Expiring> {
    let (stamp, horizon) = (crate::db::timestamp(now), days_ahead(now, SOON_DAYS));
    let mut soon: Vec<&TokenInfo> = tokens
        .iter()
        .filter(|t| status(t, &stamp) == "live" && t.expires.as_deref().is_some_and(|e| e <= horizon.as_str()))
        .collect();
    soon.sort_by(|a, b| a.expires.cmp(&b.expires));
    soon.into_iter()
        .map(|t| Expiring { name: t.name.clone(), expires: Stamp::new(t.expires.as_deref().unwrap_or_default(), now) })
        .collect()
}
