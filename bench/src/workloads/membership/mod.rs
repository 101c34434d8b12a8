//! `membership`: what one membership change costs, by group size (issue 3: "adding one member to
//! a 100,000-member group costs about what it costs on a 10-member group, in time and memory, and
//! a PATCH response never serialises 100,000 members unless asked to").
//!
//! For each size N: a fresh database seeded through the library with N users, one group holding
//! them all and one outsider; then the server, and repetitions of a cycle of PATCHes that adds
//! the outsider and removes it again in both shapes IdPs send (Okta's filtered path, Entra's
//! value list), so the group ends each cycle as it began. Every PATCH must answer 200 and bump
//! the group's version by exactly one (a remove of a non-member also answers 200, so the status
//! alone would not prove anything happened); at the end the member counts are checked through
//! the API and the database.

mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::StatusCode;
use scimbox::db::groups;
use scimbox::db::{Db, StoreError};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Machine, positive};
use crate::client::{Reply, ScimClient};
use crate::instance::Scimbox;
use crate::seed::{self, SeededGroup};
use crate::stats::{self, Latency, MemoryWatch, PhaseMemory};
pub use report::{MembershipReport, OpReport, SizeReport};

/// The PATCH message schema (RFC 7644 §3.5.2).
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Timed lookups of the groups of a member (the end-of-run check), per size.
const LOOKUPS: usize = 5;

/// `scimbox-bench membership`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Group sizes (members), comma-separated; `_` may group digits (100_000).
    #[arg(long, value_delimiter = ',', value_parser = positive, default_value = "10,100000")]
    sizes: Vec<usize>,
    /// Timed repetitions of the cycle (add, remove Okta-style, add, remove Entra-style) per size.
    #[arg(long, value_parser = positive, default_value_t = 200)]
    ops: usize,
    /// Untimed repetitions before the timed ones.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// A query string for every PATCH, such as `excludedAttributes=members` (to see what
    /// rendering the members in the response costs).
    #[arg(long, value_name = "QUERY")]
    patch_query: Option<String>,
    /// Where the temporary database files go (default: the system's temp directory). The
    /// figures depend on how fast this disk makes an fsync.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The kinds of request timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `add` with path `members` and one `{"value": id}`.
    Add,
    /// `remove` with path `members[value eq "id"]` (Okta).
    RemoveByFilter,
    /// `remove` with path `members` and a value list (Entra ID).
    RemoveByValue,
    /// `GET /Groups?filter=members[value eq "id"]&attributes=id` for a member (the final check).
    FindGroupsOfMember,
}

impl Op {
    /// How the table names it.
    fn label(self) -> &'static str {
        match self {
            Op::Add => "PATCH add members [{value}]",
            Op::RemoveByFilter => "PATCH remove members[value eq \"…\"] (Okta)",
            Op::RemoveByValue => "PATCH remove members, value [{value}] (Entra ID)",
            Op::FindGroupsOfMember => "GET /Groups?filter=members[value eq \"…\"]&attributes=id",
        }
    }

    /// The PATCH body that applies this change to member `id`; `None` for a read.
    fn patch_body(self, id: &str) -> Option<Value> {
        let op = match self {
            Op::Add => json!({ "op": "add", "path": "members", "value": [{ "value": id }] }),
            Op::RemoveByFilter => json!({ "op": "remove", "path": format!("members[value eq \"{id}\"]") }),
            Op::RemoveByValue => json!({ "op": "remove", "path": "members", "value": [{ "value": id }] }),
            Op::FindGroupsOfMember => return None,
        };
        Some(json!({ "schemas": [PATCH_OP], "Operations": [op] }))
    }
}

/// One repetition: it leaves the group as it found it.
const CYCLE: [Op; 4] = [Op::Add, Op::RemoveByFilter, Op::Add, Op::RemoveByValue];

/// Runs the benchmark for every size.
pub async fn run(args: &Args) -> anyhow::Result<MembershipReport> {
    let peak_reset = stats::reset_peak();
    let mut sizes = Vec::with_capacity(args.sizes.len());
    for &size in &args.sizes {
        sizes.push(run_size(size, args).await.with_context(|| format!("group of {size} members"))?);
    }
    Ok(MembershipReport {
        workload: "membership",
        machine: Machine::this(),
        cycles: args.ops,
        warmup: args.warmup,
        seed_batch: seed::BATCH,
        patch_query: args.patch_query.as_ref().map(|q| q.trim_start_matches('?').to_owned()),
        db_dir: args.dir.clone().unwrap_or_else(std::env::temp_dir).display().to_string(),
        peak_reset,
        sizes,
    })
}

/// Seeds a fresh database, serves it, drives it and checks it, for one size.
async fn run_size(size: usize, args: &Args) -> anyhow::Result<SizeReport> {
    let (_dir, path, db) = super::fresh_db(args.dir.as_ref())?;
    let watch = MemoryWatch::start();
    let start = Instant::now();
    let group = seed::group_with_members(&db, size).await?;
    let seed_secs = start.elapsed().as_secs_f64();
    let seed_memory = watch.finish();
    let server = Scimbox::start(db.clone(), &path).await?;
    let driven = drive(&server, &group, args).await;
    server.stop().await?;
    let driven = driven?;
    check_counts(&db, &group, size).await?;
    Ok(SizeReport {
        members: size,
        seed_secs,
        seed_memory,
        ops: driven.timings.reports(),
        patch_memory: driven.patch_memory,
        lookup_memory: driven.lookup_memory,
    })
}

/// What [`drive`] measured.
struct Driven {
    timings: Timings,
    patch_memory: Option<PhaseMemory>,
    lookup_memory: Option<PhaseMemory>,
}

/// Warm-up, the timed cycles, then the end-of-run lookups over HTTP (timed as well).
async fn drive(server: &Scimbox, group: &SeededGroup, args: &Args) -> anyhow::Result<Driven> {
    let client = ScimClient::new(server.base.clone(), &server.token)?;
    let mut changer = Changer::new(client.clone(), group, args.patch_query.as_deref()).await?;
    let mut timings = Timings::default();
    let watch = MemoryWatch::start();
    for _ in 0..args.warmup {
        changer.cycle(&mut Timings::default()).await?;
    }
    for _ in 0..args.ops {
        changer.cycle(&mut timings).await?;
    }
    let patch_memory = watch.finish();
    let watch = MemoryWatch::start();
    check_lookups(&client, group, &mut timings).await?;
    Ok(Driven { timings, patch_memory, lookup_memory: watch.finish() })
}

/// Applies membership changes to one group, checking each.
struct Changer {
    client: ScimClient,
    /// `/Groups/{id}`, with the `--patch-query` if any.
    target: String,
    member: String,
    version: i64,
}

impl Changer {
    /// Starts from the group's current version (read with `attributes=id`: no members).
    async fn new(client: ScimClient, group: &SeededGroup, query: Option<&str>) -> anyhow::Result<Self> {
        let path = format!("/Groups/{}", group.id);
        let reply = client.get(&path, &[("attributes", "id")]).await?;
        reply.expect_status(StatusCode::OK, "GET the group")?;
        let version = reply.version()?;
        let target = match query {
            Some(q) => format!("{path}?{}", q.trim_start_matches('?')),
            None => path,
        };
        Ok(Self { client, target, member: group.outsider.clone(), version })
    }

    /// One [`CYCLE`], timed into `timings`.
    async fn cycle(&mut self, timings: &mut Timings) -> anyhow::Result<()> {
        for op in CYCLE {
            let reply = self.apply(op).await?;
            timings.record(op, &reply);
        }
        Ok(())
    }

    /// Sends `op`; fails unless it answered 200 and bumped the version by one.
    async fn apply(&mut self, op: Op) -> anyhow::Result<Reply> {
        let body = op.patch_body(&self.member).with_context(|| format!("{} is not a PATCH", op.label()))?;
        let reply = self.client.patch(&self.target, &body).await?;
        reply.expect_status(StatusCode::OK, op.label())?;
        let version = reply.version()?;
        anyhow::ensure!(
            version == self.version + 1,
            "{}: the group's version went from {} to {version}; the change did not happen exactly once",
            op.label(),
            self.version
        );
        self.version = version;
        Ok(reply)
    }
}

/// Samples per kind of request, in the order first seen.
#[derive(Default)]
struct Timings {
    by_op: Vec<(Op, Vec<Duration>, usize)>,
}

impl Timings {
    fn record(&mut self, op: Op, reply: &Reply) {
        let at = match self.by_op.iter().position(|(o, ..)| *o == op) {
            Some(i) => i,
            None => {
                self.by_op.push((op, Vec::new(), 0));
                self.by_op.len() - 1
            }
        };
        let (_, times, max_body) = &mut self.by_op[at];
        times.push(reply.elapsed);
        *max_body = (*max_body).max(reply.body.len());
    }

    fn reports(&self) -> Vec<OpReport> {
        let report = |(op, times, max_body): &(Op, Vec<Duration>, usize)| {
            Latency::of(times).map(|latency| OpReport { op: *op, latency, max_body_bytes: *max_body })
        };
        self.by_op.iter().filter_map(report).collect()
    }
}

/// The outsider is in no group any more; a member is found in exactly this group (timed).
async fn check_lookups(client: &ScimClient, group: &SeededGroup, timings: &mut Timings) -> anyhow::Result<()> {
    let outsider = groups_of(client, &group.outsider).await?;
    anyhow::ensure!(outsider.0.is_empty(), "the outsider is still a member of {:?}", outsider.0);
    for _ in 0..LOOKUPS {
        let (found, reply) = groups_of(client, &group.first_member).await?;
        anyhow::ensure!(found == [group.id.clone()], "a member was found in {found:?}, not in {}", group.id);
        timings.record(Op::FindGroupsOfMember, &reply);
    }
    Ok(())
}

/// The ids of the groups `member` belongs to, by `GET /Groups?filter=members[value eq "…"]`.
async fn groups_of(client: &ScimClient, member: &str) -> anyhow::Result<(Vec<String>, Reply)> {
    let filter = format!("members[value eq \"{member}\"]");
    let reply = client.get("/Groups", &[("filter", &filter), ("attributes", "id")]).await?;
    reply.expect_status(StatusCode::OK, "GET /Groups?filter=members[…]")?;
    let body = reply.json()?;
    let ids = body["Resources"].as_array().into_iter().flatten();
    let ids = ids.filter_map(|r| r["id"].as_str().map(str::to_owned)).collect();
    Ok((ids, reply))
}

/// The group has exactly `size` members, by its counter and by its rows.
async fn check_counts(db: &Db, group: &SeededGroup, size: usize) -> anyhow::Result<()> {
    let id = group.id.clone();
    let (counter, rows) = db
        .read(move |c| {
            let seq = groups::get(c, &id)?.ok_or(StoreError::NotFound)?.seq;
            let sql = "SELECT COUNT(*) FROM group_members WHERE group_seq = ?1";
            let rows: i64 = c.query_row(sql, [seq], |r| r.get(0))?;
            Ok((groups::member_count(c, seq)?, rows))
        })
        .await
        .context("cannot count the members")?;
    let want = size as u64;
    anyhow::ensure!(
        counter == want && u64::try_from(rows).ok() == Some(want),
        "the group should have {size} members; its counter says {counter} and it has {rows} rows"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_digit_groups_and_refuse_zero() {
        assert_eq!(positive("100_000"), Ok(100_000));
        assert_eq!(positive(" 10 "), Ok(10));
        assert!(positive("0").is_err());
        assert!(positive("ten").is_err());
    }

    #[test]
    fn patch_bodies_have_the_idp_shapes() {
        let body = |op: Op| op.patch_body("u1").expect("a PATCH");
        assert_eq!(body(Op::RemoveByFilter)["Operations"][0]["path"], "members[value eq \"u1\"]");
        assert_eq!(body(Op::RemoveByValue)["Operations"][0]["value"][0]["value"], "u1");
        assert_eq!(body(Op::Add)["schemas"][0], PATCH_OP);
        assert!(Op::FindGroupsOfMember.patch_body("u1").is_none());
    }
}
