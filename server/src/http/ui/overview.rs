//! `/`: the overview: users active and inactive, each IdP connection's requests and failures in
//! the last 24 hours (and the rate limiter's refusals, from the hourly counts) and its last contact, its trends (per hour over 24 hours, per day over 7
//! days, drawn as SVG by [`super::trend`]), and the tokens that expire within 14 days.
//! `/?refresh=30` reloads the page every 30 seconds (`<meta http-equiv="refresh">`, no
//! JavaScript), an admin's choice the page shows and can turn off.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::AdminSession;
use super::time::Stamp;
use super::trend::{TrendRow, chart};
use super::{Layout, Page, UiError};
use crate::http::AppState;
use crate::http::extract::BaseUrl;
use crate::service::guard;
use crate::service::status::overview::{self, SOON_DAYS, UserCounts};
use crate::service::status::setup;
use crate::service::status::trends;

/// The fastest and slowest self-refresh the overview takes, in seconds.
const REFRESH: std::ops::RangeInclusive<u32> = 5..=3600;

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
    /// Of which the rate limiter refused (429, `--rate`), over the hourly trend's 24 hours.
    pub limited: u64,
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
    /// The tokens whose deactivations and deletions the deprovisioning guard holds.
    held: Vec<guard::TokenGuard>,
    /// No token works yet: the command that issues one (a first start).
    token_command: Option<String>,
    /// The SCIM base URL an IdP is given (`--public-url`, else as this request reached us).
    scim_url: String,
    /// Each connection's trends, then the requests without a valid token.
    trends: Vec<TrendRow>,
    /// Reload every so many seconds (`?refresh=`).
    refresh: Option<u32>,
}

/// The query of `/`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// Seconds between reloads; empty or absent: none.
    #[serde(default)]
    refresh: String,
}

impl Params {
    /// The refresh asked for; a number outside [`REFRESH`] or not a number is refused.
    fn refresh(&self) -> Result<Option<u32>, UiError> {
        let text = self.refresh.trim();
        if text.is_empty() || text == "0" {
            return Ok(None);
        }
        match text.parse::<u32>() {
            Ok(n) if REFRESH.contains(&n) => Ok(Some(n)),
            _ => Err(UiError::BadRequest(format!(
                "refresh=\"{text}\" is not a refresh interval: give seconds from {} to {}, such as refresh=30, or leave it out.",
                REFRESH.start(),
                REFRESH.end()
            ))),
        }
    }
}

/// GET /.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    BaseUrl(scim_url): BaseUrl,
    Query(p): Query<Params>,
) -> Result<Page<OverviewPage>, UiError> {
    let refresh = p.refresh()?;
    let o = overview::overview(&state.db, &state.journal).await?;
    let t = trends::trends(&state.db).await?;
    let trends = t
        .hourly
        .iter()
        .zip(&t.daily)
        .enumerate()
        .map(|(i, (h, d))| TrendRow {
            connection: h.connection.clone(),
            charts: vec![chart(h, false, i, t.at), chart(d, true, i, t.at)],
        })
        .collect();
    let mut held = guard::status(&state.db, state.deprovisioning.window()).await?;
    held.retain(guard::TokenGuard::holding);
    let token_command =
        (!setup::setup(&state.db).await?.has_token).then(|| setup::token_command(&state.config.db_path));
    let at = o.at;
    Ok(Page::ok(OverviewPage {
        layout: Layout::new("Overview", "/", &session),
        users: o.users,
        connections: o
            .connections
            .into_iter()
            .map(|c| ConnectionRow {
                limited: t.hourly.iter().find(|s| s.connection.as_ref() == Some(&c.name)).map_or(0, |s| s.limited()),
                last_contact: Stamp::opt(c.last_contact.as_deref(), at),
                name: c.name,
                client: c.client,
                requests: c.requests,
                failures: c.failures,
            })
            .collect(),
        expiring: o
            .expiring
            .into_iter()
            .map(|t| Expiring { expires: Stamp::new(&t.expires, at), name: t.name })
            .collect(),
        soon_days: SOON_DAYS,
        store_fault: o.store_fault,
        shed: o.shed,
        held,
        token_command,
        scim_url,
        trends,
        refresh,
    }))
}
