//! `paging` (issue 13): reading every user page by page, by index (`startIndex`, RFC 7644
//! §3.4.2.4, as Okta and Entra ID do) and by cursor (RFC 9865), and what one page deep in the
//! list costs each way.
//!
//! A fresh database is seeded through the library with `--users` users, then served in this
//! process. For the whole list, and for a filter the index cannot answer (a scan), the list is
//! walked to its end both ways at `--count` per page; every page is checked (full until the
//! last, no user twice, every match once). Then the first and the last page are each fetched
//! `--samples` times both ways: the last page by `startIndex` skips every user before it, by
//! cursor it starts right after the previous page's last user.

mod report;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::{Machine, positive};
use crate::client::{Reply, ScimClient};
use crate::instance::Scimbox;
use crate::seed;
use crate::stats::Latency;
pub use report::{ListReport, PagingReport, WalkReport};

/// `scimbox-bench paging`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Users to seed; `_` may group digits.
    #[arg(long, value_parser = positive, default_value = "100000")]
    users: usize,
    /// Resources per page (`count`).
    #[arg(long, value_parser = positive, default_value_t = 100)]
    count: usize,
    /// Timed fetches of the first and of the last page, each way.
    #[arg(long, value_parser = positive, default_value_t = 30)]
    samples: usize,
    /// Where the temporary database goes (default: the system's temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A filter no index can answer: `displayName` contains this, which here means starts with it
/// (users 1, 10-19, 100-199...).
const SCAN_PREFIX: &str = "Bench User 1";

/// The two ways to page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `startIndex` and `count` (RFC 7644 §3.4.2.4).
    Index,
    /// `cursor` and `count` (RFC 9865).
    Cursor,
}

/// Runs the benchmark.
pub async fn run(args: &Args) -> anyhow::Result<PagingReport> {
    let (_dir, path, db) = super::fresh_db(args.dir.as_ref())?;
    eprintln!("paging: seeding {} users", args.users);
    let start = Instant::now();
    seed::users(&db, args.users).await?;
    let seed_secs = start.elapsed().as_secs_f64();
    let server = Scimbox::start(db, &path).await?;
    let result = drive(&server, args).await;
    server.stop().await?;
    let lists = result?;
    Ok(PagingReport {
        workload: "paging",
        machine: Machine::this(),
        users: args.users,
        count: args.count,
        samples: args.samples,
        seed_secs,
        lists,
    })
}

async fn drive(server: &Scimbox, args: &Args) -> anyhow::Result<Vec<ListReport>> {
    let client = ScimClient::new(server.base.clone(), &server.token)?;
    // `co`, not `sw`: since the attribute index (V15) answers `sw` with a key range, only a
    // filter it cannot narrow still walks the table. Every name starts "Bench User ", so this
    // finds the same users `sw` would.
    let scan = format!("displayName co \"{SCAN_PREFIX}\"");
    let matches = (0..args.users).filter(|i| format!("Bench User {i}").starts_with(SCAN_PREFIX)).count();
    let mut out = Vec::new();
    for (label, filter, expected) in [("all users", None, args.users), ("filter (a scan)", Some(scan), matches)] {
        eprintln!("paging: {label}");
        let lister = Lister { client: client.clone(), count: args.count, filter };
        let index = lister.walk(Method::Index, expected).await.with_context(|| format!("{label}, by startIndex"))?;
        let cursor = lister.walk(Method::Cursor, expected).await.with_context(|| format!("{label}, by cursor"))?;
        let (mut first, mut last) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
        for _ in 0..args.samples {
            first[0].push(lister.page(Method::Index, &Where::First).await?.elapsed);
            first[1].push(lister.page(Method::Cursor, &Where::First).await?.elapsed);
            last[0].push(lister.page(Method::Index, &index.last).await?.elapsed);
            last[1].push(lister.page(Method::Cursor, &cursor.last).await?.elapsed);
        }
        let report = |walk: Walked, first: &[Duration], last: &[Duration]| WalkReport {
            seconds: walk.seconds,
            pages: walk.pages.len(),
            page: Latency::of(&walk.pages),
            first_page: Latency::of(first),
            last_page: Latency::of(last),
            total_given: walk.total_given,
        };
        out.push(ListReport {
            label: label.to_owned(),
            filter: lister.filter.clone(),
            matches: expected,
            index: report(index, &first[0], &last[0]),
            cursor: report(cursor, &first[1], &last[1]),
        });
    }
    Ok(out)
}

/// Where a page starts.
enum Where {
    First,
    Index(usize),
    Cursor(String),
}

/// A walk's figures and where its last page started.
struct Walked {
    seconds: f64,
    pages: Vec<Duration>,
    last: Where,
    total_given: bool,
}

struct Lister {
    client: ScimClient,
    count: usize,
    filter: Option<String>,
}

impl Lister {
    /// GET one page.
    async fn page(&self, method: Method, at: &Where) -> anyhow::Result<Reply> {
        let count = self.count.to_string();
        let mut query: Vec<(&str, &str)> = vec![("count", &count)];
        if let Some(f) = &self.filter {
            query.push(("filter", f));
        }
        let index;
        match (method, at) {
            (Method::Index, Where::Index(i)) => {
                index = i.to_string();
                query.push(("startIndex", &index));
            }
            (Method::Cursor, Where::Cursor(c)) => query.push(("cursor", c)),
            (Method::Cursor, Where::First) => query.push(("cursor", "")),
            (Method::Index, Where::First) => {}
            _ => anyhow::bail!("a page position of the other method"),
        }
        let reply = self.client.get("/Users", &query).await?;
        reply.expect_status(StatusCode::OK, "GET /Users")?;
        Ok(reply)
    }

    /// Reads the whole list, checking every page.
    async fn walk(&self, method: Method, expected: usize) -> anyhow::Result<Walked> {
        let mut seen: HashSet<String> = HashSet::with_capacity(expected);
        let mut pages = Vec::new();
        let mut at = Where::First;
        let mut total_given = true;
        let start = Instant::now();
        loop {
            let reply = self.page(method, &at).await?;
            pages.push(reply.elapsed);
            let body = reply.json()?;
            let resources = body["Resources"].as_array().context("no Resources")?;
            for r in resources {
                let id = r["id"].as_str().context("a resource without an id")?;
                anyhow::ensure!(seen.insert(id.to_owned()), "user {id} came twice");
            }
            total_given &= body.get("totalResults").is_some();
            let next = match method {
                Method::Index => {
                    let total = body["totalResults"].as_u64().context("no totalResults")? as usize;
                    let start = match at {
                        Where::Index(i) => i,
                        _ => 1,
                    };
                    let next = start + resources.len();
                    anyhow::ensure!(total == expected, "totalResults {total}, expected {expected}");
                    (next <= total && !resources.is_empty()).then_some(Where::Index(next))
                }
                Method::Cursor => body.get("nextCursor").and_then(Value::as_str).map(|c| Where::Cursor(c.to_owned())),
            };
            if next.is_some() {
                anyhow::ensure!(resources.len() == self.count, "a page before the last held {}", resources.len());
            }
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        anyhow::ensure!(seen.len() == expected, "the walk returned {} of {expected}", seen.len());
        Ok(Walked { seconds, pages, last: at, total_given })
    }
}
