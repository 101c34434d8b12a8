//! The groups list (by name, with member counts, a page at a time) and one group's view (its
//! direct members and its recorded changes, [`HISTORY`] a page).

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
                Ok(Some((row.doc, groups::members(c, row.seq)?, changes, total)))
            }
            None => Ok(None),
        })
        .await?;
    let Some((doc, mut members, changes, changes_total)) = found else { return Ok(None) };
    let page = page.min(changes_total.div_ceil(u64::from(HISTORY)).max(1));
    let display_name = doc.get("displayName").and_then(Value::as_str).unwrap_or(&id).to_owned();
    let total = members.len();
    members.truncate(MEMBERS_SHOWN);
    Ok(Some(GroupView { at: clock::now(), id, display_name, total, members, changes, changes_total, page }))
}
