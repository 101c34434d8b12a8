//! `/groups`: the groups by name with their member counts, 50 a page; `/groups/{id}`: one
//! group's direct members and its recorded changes, 50 a page (`?page=`).

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::AdminSession;
use super::user::ChangeView;
use super::{Layout, Page, Pager, UiError, query_string};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::service::status::HISTORY;
use crate::service::status::groups::{self, GroupSummary, Member, MemberType, PER_PAGE};

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
    let list = groups::groups(&state.db, p.page.unwrap_or(1)).await?;
    Ok(Page::ok(GroupsPage {
        layout: Layout::new("Groups", "/groups", &session),
        groups: list.groups,
        pager: Pager::new(list.page, PER_PAGE, list.total, |n| query_string(&[("page", &n.to_string())])),
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
    /// The pages of its history, and the path their links go to.
    pager: Pager,
    base: String,
}

/// GET /groups/{id}.
pub async fn group(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(id): ResourceId,
    Query(p): Query<Params>,
) -> Result<Page<GroupPage>, UiError> {
    let found = groups::group(&state.db, id.clone(), p.page.unwrap_or(1)).await?;
    let g = found.ok_or_else(|| UiError::NotFound(format!("There is no group with id {id}.")))?;
    let now = g.at;
    Ok(Page::ok(GroupPage {
        layout: Layout::new(g.display_name, "/groups", &session),
        total: g.total,
        members: g.members.into_iter().map(MemberView::new).collect(),
        changes: g
            .changes
            .iter()
            .map(|c| {
                ChangeView::with_names(c, now, |id| {
                    let m = g.names.get(id)?;
                    let base = if m.kind == MemberType::Group { "/groups" } else { "/users" };
                    Some((m.name.clone(), format!("{base}/{}", super::segment(id))))
                })
            })
            .collect(),
        pager: Pager::new(g.page, HISTORY.into(), g.changes_total, |n| query_string(&[("page", &n.to_string())])),
        base: format!("/groups/{}", super::segment(&g.id)),
        id: g.id,
    }))
}
