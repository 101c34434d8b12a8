//! Seeding through the library, not the API: the same `scimbox::db` functions the server's
//! writes use, inside `Db::write`, [`BATCH`] inserts per transaction. Documents go through the
//! validator's `normalize`, so they are stored exactly as a POST would store them.

use anyhow::Context;
use scimbox::clock;
use scimbox::db::groups::{self, Member, MemberType};
use scimbox::db::{Db, users};
use scimbox_validator::resource::normalize;
use scimbox_validator::schema::{GROUP_RESOURCE, ResourceType, USER_RESOURCE};
use serde_json::{Map, Value, json};

/// Inserts per write call (one transaction, one fsync each).
pub const BATCH: usize = 5_000;

/// A group holding `members` users, and one more user that is not a member.
#[derive(Debug, Clone)]
pub struct SeededGroup {
    /// The group's id.
    pub id: String,
    /// The first member's id.
    pub first_member: String,
    /// A user that exists but is not a member: the one the benchmark adds and removes.
    pub outsider: String,
}

/// Seeds a group of `size` users (`user<i>@bench.example`, `size` at least 1), then the outsider.
pub async fn group_with_members(db: &Db, size: usize) -> anyhow::Result<SeededGroup> {
    let doc = normalized(&GROUP_RESOURCE, json!({ "displayName": "bench group" }))?;
    let (id, now) = (new_id(), clock::now_stamp());
    let group = id.clone();
    let seq = db.write(move |c| groups::insert(c, &group, doc, &now)).await.context("cannot insert the group")?.seq;
    let mut first_member = None;
    for start in (0..size).step_by(BATCH) {
        let end = size.min(start + BATCH);
        let first = insert_users(db, start..end, Some(seq)).await?;
        first_member = first_member.or(first);
    }
    let first_member = first_member.context("a benchmark group needs at least one member")?;
    let outsider = insert_users(db, size..size + 1, None).await?.context("the outsider was not inserted")?;
    Ok(SeededGroup { id, first_member, outsider })
}

/// Seeds `n` users (`user<i>@bench.example`, displayName `Bench User <i>`), in creation order.
pub async fn users(db: &Db, n: usize) -> anyhow::Result<()> {
    for start in (0..n).step_by(BATCH) {
        insert_users(db, start..n.min(start + BATCH), None).await?;
    }
    Ok(())
}

/// Seeds `n` users as [`users()`] does and returns the id of every `every`th one (users
/// `0, every, 2 * every, ...`), by number: what a benchmark needs to address users by id
/// without keeping a million ids.
pub async fn users_sampled(db: &Db, n: usize, every: usize) -> anyhow::Result<Vec<(usize, String)>> {
    let every = every.max(1);
    let mut sampled = Vec::with_capacity(n / every + 1);
    for start in (0..n).step_by(BATCH) {
        let range = start..n.min(start + BATCH);
        let docs = range.clone().map(|i| Ok((i, user_doc(i)?))).collect::<anyhow::Result<Vec<_>>>()?;
        let now = clock::now_stamp();
        let kept = db
            .write(move |c| {
                let mut kept = Vec::new();
                for (i, doc) in docs {
                    let id = new_id();
                    users::insert(c, &id, doc, &now)?;
                    if i % every == 0 {
                        kept.push((i, id));
                    }
                }
                Ok(kept)
            })
            .await
            .with_context(|| format!("cannot insert users {}..{}", range.start, range.end))?;
        sampled.extend(kept);
    }
    Ok(sampled)
}

/// The userName of seeded user `i`.
pub fn user_name(i: usize) -> String {
    format!("user{i:06}@bench.example")
}

/// The displayName of seeded user `i` (found through the attribute index, V15).
pub fn display_name(i: usize) -> String {
    format!("Bench User {i}")
}

/// Inserts users numbered `range` in one write, as members of the group `member_of` if given;
/// returns the first one's id.
async fn insert_users(
    db: &Db,
    range: std::ops::Range<usize>,
    member_of: Option<i64>,
) -> anyhow::Result<Option<String>> {
    let docs = range.clone().map(user_doc).collect::<anyhow::Result<Vec<_>>>()?;
    let now = clock::now_stamp();
    let inserted = db
        .write(move |c| {
            let mut first = None;
            for doc in docs {
                let id = new_id();
                users::insert(c, &id, doc, &now)?;
                if let Some(seq) = member_of {
                    groups::add_member(c, seq, &Member { id: id.clone(), kind: MemberType::User, display: None })?;
                }
                first = first.or(Some(id));
            }
            Ok(first)
        })
        .await;
    inserted.with_context(|| format!("cannot insert users {}..{}", range.start, range.end))
}

/// User number `i`, as the server would store it.
fn user_doc(i: usize) -> anyhow::Result<Map<String, Value>> {
    normalized(
        &USER_RESOURCE,
        json!({
            "userName": user_name(i),
            "displayName": display_name(i),
            "emails": [{ "value": user_name(i), "type": "work", "primary": true }],
            "active": true,
        }),
    )
}

fn normalized(rt: &ResourceType, body: Value) -> anyhow::Result<Map<String, Value>> {
    normalize(rt, &body).context("a seed document is invalid")
}

/// A fresh resource id, of the form the server gives.
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
