//! The groups list (by name, with member counts, a page at a time) and one group's view (its
//! direct members and its recorded changes, [`HISTORY`] a page).

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::{Change, HISTORY};
use crate::clock;
pub use crate::db::groups::{Member, MemberType};
pub use crate::db::ui::GroupSummary;
use crate::db::{Db, groups, ui};
use crate::service::Result;

/// Groups on a page.
pub const PER_PAGE: u64 = 50;
/// The most members a group's view lists.
pub const MEMBERS_SHOWN: usize = 500;

/// One page of groups.
#[derive(Debug, Clone)]
pub struct GroupList {
    /// How many groups there are.
    pub total: u64,
    /// The page shown (1-based).
    pub page: u64,
    /// Its groups, by displayName.
    pub groups: Vec<GroupSummary>,
}

/// Page `page` (1-based; 0 is taken as 1) of the groups.
pub async fn groups(db: &Db, page: u64) -> Result<GroupList> {
    let page = page.max(1);
    let offset = (page - 1).saturating_mul(PER_PAGE);
    let (total, groups) = db.read(move |c| ui::groups(c, offset, PER_PAGE)).await?;
    Ok(GroupList { total, page, groups })
}

/// One group's view.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// When it was read.
    pub at: OffsetDateTime,
    /// The SCIM id.
    pub id: String,
    /// Its displayName (its id if it somehow has none).
    pub display_name: String,
    /// How many direct members it has.
    pub total: usize,
    /// The first [`MEMBERS_SHOWN`] of them.
    pub members: Vec<Member>,
    /// One page of its recorded changes ([`HISTORY`] a page), newest first.
    pub changes: Vec<Change>,
    /// How many changes are recorded in all.
    pub changes_total: u64,
    /// The page of changes shown (1-based).
    pub page: u64,
    /// The members its changes name, by id, as they are called now (a member deleted since
    /// is not here): the history shows names, not ids.
    pub names: HashMap<String, MemberName>,
}

/// What a member is called now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberName {
    /// A user or a group.
    pub kind: MemberType,
    /// Its userName or displayName.
    pub name: String,
}

/// The member ids a recorded group change names: `members.added`/`members.removed` of a
/// membership change, and `members[].value` of a created or replaced document.
fn member_ids(c: &Change, into: &mut Vec<String>) {
    for text in [c.before.as_deref(), c.after.as_deref()].into_iter().flatten() {
        let Ok(doc) = serde_json::from_str::<Value>(text) else { continue };
        let ids: Vec<&Value> = match doc.get("members") {
            Some(Value::Object(m)) => {
                ["added", "removed"].iter().filter_map(|k| m.get(*k)?.as_array()).flatten().collect()
            }
            Some(Value::Array(list)) => list.iter().filter_map(|m| m.get("value")).collect(),
            _ => Vec::new(),
        };
        into.extend(ids.into_iter().filter_map(Value::as_str).map(str::to_owned));
    }
}

/// The group with this id, if there is one, with page `page` (1-based; 0 is taken as 1) of its
/// changes: a group an IdP syncs often has thousands, which one page cannot show.
pub async fn group(db: &Db, id: String, page: u64) -> Result<Option<GroupView>> {
    let key = id.clone();
    let page = page.max(1);
    let offset = u32::try_from((page - 1).saturating_mul(u64::from(HISTORY))).unwrap_or(u32::MAX);
    let found = db
        .read(move |c| match groups::get(c, &key)? {
            Some(row) => {
                let (mut changes, total) = ui::changes_page(c, "Group", &key, HISTORY, offset)?;
                // A page past the end (an old link) shows the last page, as the pager says.
                let last = total.div_ceil(u64::from(HISTORY)).max(1);
                if changes.is_empty() && page > last {
                    let offset = u32::try_from((last - 1) * u64::from(HISTORY)).unwrap_or(u32::MAX);
                    changes = ui::changes_page(c, "Group", &key, HISTORY, offset)?.0;
                }
                let mut ids = Vec::new();
                changes.iter().for_each(|ch| member_ids(ch, &mut ids));
                ids.sort();
                ids.dedup();
                let names = ui::names_of(c, &ids)?;
                Ok(Some((row.doc, groups::members(c, row.seq)?, changes, total, names)))
            }
            None => Ok(None),
        })
        .await?;
    let Some((doc, mut members, changes, changes_total, names)) = found else { return Ok(None) };
    let names = names
        .into_iter()
        .map(|(id, (group, name))| {
            (id, MemberName { kind: if group { MemberType::Group } else { MemberType::User }, name })
        })
        .collect();
    let page = page.min(changes_total.div_ceil(u64::from(HISTORY)).max(1));
    let display_name = doc.get("displayName").and_then(Value::as_str).unwrap_or(&id).to_owned();
    let total = members.len();
    members.truncate(MEMBERS_SHOWN);
    Ok(Some(GroupView { at: clock::now(), id, display_name, total, members, changes, changes_total, page, names }))
}
