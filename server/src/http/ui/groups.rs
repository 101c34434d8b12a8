//! `/groups`: the groups by name with their member counts, 50 a page; `/groups/{id}`: one
//! group's direct members and its recorded changes.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::user::{ChangeView, HISTORY};
use super::{Layout, Page, Pager, UiError, query_string};
use crate::admin::AdminSession;
use crate::clock;
use crate::db::groups::{self, Member, MemberType};
use crate::db::journal::changes_for;
use crate::db::ui::{self, GroupSummary};
use crate::http::AppState;
use crate::http::extract::ResourceId;

/// Groups on a page.
const PER_PAGE: u64 = 50;

/// The query of `/groups`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// 1-based.
    #[serde(default)]
    page: Option<u64>,
}

/// The groups page.
#[derive(Template)]
#[template(path = "groups.html")]
pub struct GroupsPage {
    layout: Layout,
    groups: Vec<GroupSummary>,
    pager: Pager,
}

/// GET /groups.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    Query(p): Query<Params>,
) -> Result<Page<GroupsPage>, UiError> {
    let page = p.page.unwrap_or(1).max(1);
    let offset = Pager::offset(page, PER_PAGE);
    let (total, groups) = state.db.read(move |c| ui::groups(c, offset, PER_PAGE)).await?;
    Ok(Page::ok(GroupsPage {
        layout: Layout::new("Groups", "/groups", &session),
        groups,
        pager: Pager::new(page, PER_PAGE, total, |n| query_string(&[("page", &n.to_string())])),
    }))
}

/// A member as listed.
pub struct MemberView {
    /// Its id.
    pub id: String,
    /// Its name, if known.
    pub display: Option<String>,
    /// `User` or `Group`.
    pub kind: &'static str,
    /// The status page's link to it.
    pub href: String,
}

impl MemberView {
    fn new(m: Member) -> Self {
        let id = super::segment(&m.id);
        let href = match m.kind {
            MemberType::User => format!("/users/{id}"),
            MemberType::Group => format!("/groups/{id}"),
        };
        MemberView { id: m.id, display: m.display, kind: m.kind.as_str(), href }
    }
}

/// One group's page.
#[derive(Template)]
#[template(path = "group.html")]
pub struct GroupPage {
    layout: Layout,
    id: String,
    total: usize,
    members: Vec<MemberView>,
    changes: Vec<ChangeView>,
}

/// The most members a group's page lists.
const MEMBERS_SHOWN: usize = 500;

/// GET /groups/{id}.
pub async fn group(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(id): ResourceId,
) -> Result<Page<GroupPage>, UiError> {
    let key = id.clone();
    let found = state
        .db
        .read(move |c| match groups::get(c, &key)? {
            Some(row) => Ok(Some((row.doc, groups::members(c, row.seq)?, changes_for(c, "Group", &key, HISTORY)?))),
            None => Ok(None),
        })
        .await?;
    let (doc, mut members, changes) =
        found.ok_or_else(|| UiError::NotFound(format!("There is no group with id {id}.")))?;
    let name = doc.get("displayName").and_then(serde_json::Value::as_str).unwrap_or(&id).to_owned();
    let (total, now) = (members.len(), clock::now());
    members.truncate(MEMBERS_SHOWN);
    Ok(Page::ok(GroupPage {
        layout: Layout::new(name, "/groups", &session),
        id,
        total,
        members: members.into_iter().map(MemberView::new).collect(),
        changes: changes.iter().map(|c| ChangeView::new(c, now)).collect(),
    }))
}
