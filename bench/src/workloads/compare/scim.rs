//! The SCIM workloads of `compare`, the same for every server: what each request is, and what its
//! answer must be for it to count.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::load::{Answer, Call, Script};

/// The core User schema (RFC 7643 §4.1).
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Group schema (RFC 7643 §4.2).
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The PATCH message schema (RFC 7644 §3.5.2).
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The userName of seeded user `n`.
pub fn user_name(n: u64) -> String {
    format!("user{n}@bench.example")
}

/// The displayName of seeded user `n` (in scimbox's attribute index since V15, a scan before). The number is zero-padded so
/// that `sw` with a whole name matches that user alone.
pub fn display_name(n: u64) -> String {
    format!("Bench User {n:07}")
}

/// A User body as Okta or Entra ID would POST it, for `name`.
pub(crate) fn user_body(name: &str, external_id: &str, display: &str) -> String {
    json!({
        "schemas": [USER],
        "userName": name,
        "externalId": external_id,
        "displayName": display,
        "name": { "givenName": "Bench", "familyName": display },
        "emails": [{ "value": name, "type": "work", "primary": true }],
        "active": true,
    })
    .to_string()
}

/// `filter=ATTR eq "VALUE"`, percent-encoded.
pub fn eq_filter(attr: &str, value: &str) -> String {
    op_filter(attr, "eq", value)
}

/// `filter=ATTR OP "VALUE"`, percent-encoded.
pub fn op_filter(attr: &str, op: &str, value: &str) -> String {
    let filter = format!("{attr} {op} \"{value}\"");
    format!("filter={}", percent_encoding::utf8_percent_encode(&filter, percent_encoding::NON_ALPHANUMERIC))
}

/// The ids of created users, by number.
pub type Ids = Arc<Vec<OnceLock<String>>>;

/// New, empty [`Ids`] for `n` users.
pub fn ids(n: u64) -> Ids {
    Arc::new((0..n).map(|_| OnceLock::new()).collect())
}

/// The id of created user `n`.
pub fn id_of(ids: &Ids, n: u64) -> anyhow::Result<&str> {
    ids.get(n as usize).and_then(OnceLock::get).map(String::as_str).with_context(|| format!("user {n} has no id"))
}

/// The `id` of a created resource, from a 201.
fn created_id(answer: &Answer) -> anyhow::Result<String> {
    answer.expect(StatusCode::CREATED)?;
    answer.json()?.get("id").and_then(Value::as_str).map(str::to_owned).context("the 201 has no id")
}

/// `totalResults` of a list answer, after checking it is a 200.
fn total_results(answer: &Answer) -> anyhow::Result<(u64, Value)> {
    answer.expect(StatusCode::OK)?;
    let body = answer.json()?;
    let total = body.get("totalResults").and_then(Value::as_u64).context("the list has no totalResults")?;
    Ok((total, body))
}

/// POST /Users for user `n`, keeping its id in `ids`.
pub fn create_users(ids: Ids) -> impl Script {
    crate::load::single(
        |n| {
            let name = user_name(n);
            Call::with_body(Method::POST, "/Users".into(), user_body(&name, &format!("ext-{n}"), &display_name(n)))
        },
        move |n, answer| {
            let id = created_id(answer)?;
            ids.get(n as usize).context("more users than ids")?.set(id).ok().context("a user was created twice")
        },
    )
}

/// POST /Users for users `first`, `first + 1`, …, checking each 201 and its id but keeping no
/// ids (the timed creates of `ab`, after `first` users were created by [`create_users`]).
pub fn create_users_from(first: u64) -> impl Script {
    crate::load::single(
        move |n| {
            let n = first + n;
            let name = user_name(n);
            Call::with_body(Method::POST, "/Users".into(), user_body(&name, &format!("ext-{n}"), &display_name(n)))
        },
        |_, answer| created_id(answer).map(drop),
    )
}

/// GET /Users/{id} of a spread of the seeded users.
pub fn get_by_id(ids: Ids) -> impl Script {
    let total = ids.len() as u64;
    let paths: Arc<Vec<String>> =
        Arc::new(ids.iter().map(|id| format!("/Users/{}", id.get().map_or("", String::as_str))).collect());
    crate::load::single(
        move |n| Call::get(paths[crate::load::spread(n, total) as usize].clone()),
        |_, answer: &Answer| answer.expect(StatusCode::OK),
    )
}

/// GET /Users?filter=ATTR OP "…" for a spread of the seeded users; each must find exactly one.
pub fn filter_one(total: u64, attr: &'static str, op: &'static str, value: fn(u64) -> String) -> impl Script {
    crate::load::single(
        move |n| Call::get(format!("/Users?{}", op_filter(attr, op, &value(crate::load::spread(n, total))))),
        |_, answer: &Answer| {
            let (found, _) = total_results(answer)?;
            anyhow::ensure!(found == 1, "the filter found {found} users, not 1");
            Ok(())
        },
    )
}

/// Okta's import: page `n` is `startIndex=100n+1&count=100`; every page must be full (but the
/// last) and report `total` users, and every id must be new.
pub struct OktaImport {
    /// Users the server holds.
    total: u64,
    /// Users per page.
    count: u64,
    /// The ids seen so far (on the same page again and again: this page's).
    seen: Mutex<HashSet<String>>,
    /// Whether every page is the same full page (the bare page of [`crate::floor`]): then each
    /// page must be full and its ids new within it, with the same work per page otherwise.
    same_page: bool,
}

impl OktaImport {
    /// The import of `total` users, `count` per page.
    pub fn new(total: u64, count: u64) -> Self {
        Self { total, count, seen: Mutex::default(), same_page: false }
    }

    /// The import read from a server that answers every page with the same full page of
    /// `count` users, reporting `total` (the bare page).
    pub fn same_page(total: u64, count: u64) -> Self {
        Self { same_page: true, ..Self::new(total, count) }
    }
}

impl Script for OktaImport {
    fn first(&self, n: u64) -> Call {
        Call::get(format!("/Users?startIndex={}&count={}", n * self.count + 1, self.count))
    }

    fn next(&self, n: u64, _step: usize, answer: &Answer) -> anyhow::Result<Option<Call>> {
        let (total, body) = total_results(answer)?;
        anyhow::ensure!(total == self.total, "totalResults {total}, not {}", self.total);
        let page = body.get("Resources").and_then(Value::as_array).context("the page has no Resources")?;
        let want = if self.same_page { self.count } else { self.count.min(self.total.saturating_sub(n * self.count)) };
        anyhow::ensure!(page.len() as u64 == want, "page {n} holds {} users, not {want}", page.len());
        let mut seen = self.seen.lock().map_err(|_| anyhow::anyhow!("a load task panicked"))?;
        if self.same_page {
            seen.clear();
        }
        for user in page {
            let id = user.get("id").and_then(Value::as_str).context("a listed user has no id")?;
            anyhow::ensure!(seen.insert(id.to_owned()), "user {id} was listed twice");
        }
        Ok(None)
    }
}

/// Entra ID's initial cycle for user `first + n` of a new batch: look the user up by userName
/// (must find none), create it, then PATCH its displayName.
pub struct EntraCycle {
    /// The new users' ids, kept for the membership workload.
    pub ids: Ids,
    /// The number of this batch's first user.
    pub first: u64,
}

/// The userName of new user `n` of the Entra ID cycle.
pub fn entra_name(n: u64) -> String {
    format!("entra{n}@bench.example")
}

impl Script for EntraCycle {
    fn first(&self, n: u64) -> Call {
        Call::get(format!("/Users?{}", eq_filter("userName", &entra_name(self.first + n))))
    }

    fn next(&self, n: u64, step: usize, answer: &Answer) -> anyhow::Result<Option<Call>> {
        let n = self.first + n;
        let name = entra_name(n);
        match step {
            0 => {
                let (found, _) = total_results(answer)?;
                anyhow::ensure!(found == 0, "{name} already exists");
                let body = user_body(&name, &format!("entra-ext-{n}"), &format!("Entra User {n}"));
                Ok(Some(Call::with_body(Method::POST, "/Users".into(), body)))
            }
            1 => {
                let id = created_id(answer)?;
                let slot = self.ids.get(n as usize).context("more users than ids")?;
                slot.set(id.clone()).ok().context("a user was created twice")?;
                let patch = json!({
                    "schemas": [PATCH_OP],
                    "Operations": [{ "op": "replace", "path": "displayName", "value": format!("Entra User {n} (synced)") }],
                });
                Ok(Some(Call::with_body(Method::PATCH, format!("/Users/{id}"), patch.to_string())))
            }
            _ => {
                ok_or_no_content(answer)?;
                Ok(None)
            }
        }
    }
}

/// A POST /Groups body.
pub fn group_body(name: &str) -> String {
    json!({ "schemas": [GROUP], "displayName": name, "members": [] }).to_string()
}

/// A PATCH of a group adding `ids` as members.
pub fn add_members<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let members: Vec<Value> = ids.map(|id| json!({ "value": id })).collect();
    json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "add", "path": "members", "value": members }] }).to_string()
}

/// Fills group `group` with the users of `ids`, `chunk` per PATCH: unit `n` adds chunk `n`.
pub fn fill_group(group: String, ids: Ids, chunk: u64) -> impl Script {
    crate::load::single(
        move |n| {
            let from = (n * chunk) as usize;
            let to = (from + chunk as usize).min(ids.len());
            let members = ids[from..to].iter().map(|id| id.get().map_or("", String::as_str));
            Call::with_body(Method::PATCH, format!("/Groups/{group}"), add_members(members))
        },
        |_, answer: &Answer| ok_or_no_content(answer),
    )
}

/// A PATCH's answer: 200 with the resource, or 204 (RFC 7644 §3.5.2 allows both).
fn ok_or_no_content(answer: &Answer) -> anyhow::Result<()> {
    if answer.status == StatusCode::NO_CONTENT {
        return Ok(());
    }
    answer.expect(StatusCode::OK)
}

/// One membership change and back: add `outsider` to the group, then remove it in Okta's shape
/// (`members[value eq "…"]`).
pub struct Membership {
    /// The group.
    pub group: String,
    /// A user that is not a member.
    pub outsider: String,
}

impl Script for Membership {
    fn first(&self, _n: u64) -> Call {
        Call::with_body(
            Method::PATCH,
            format!("/Groups/{}", self.group),
            add_members([self.outsider.as_str()].into_iter()),
        )
    }

    fn next(&self, _n: u64, step: usize, answer: &Answer) -> anyhow::Result<Option<Call>> {
        ok_or_no_content(answer)?;
        if step > 0 {
            return Ok(None);
        }
        let path = format!("members[value eq \"{}\"]", self.outsider);
        let body = json!({ "schemas": [PATCH_OP], "Operations": [{ "op": "remove", "path": path }] });
        Ok(Some(Call::with_body(Method::PATCH, format!("/Groups/{}", self.group), body.to_string())))
    }
}
