//! `/users/{id}`: one user: attributes, effective access as a tree (accounts and the child
//! accounts a grant reaches, inherited grants marked with their source), groups, the changes
//! recorded and the requests that named the user. What it shows is read by
//! [`crate::service::status::user`]; the access is the service's typed access, the same that
//! `GET /Users/{id}?attributes=...:access` returns.

use askama::Template;
use axum::extract::State;

use super::AdminSession;
use super::attrs::{Attr, Diff, diff, flatten};
use super::journal::EntryRow;
use super::prose::Span;
use super::time::Stamp;
use super::tree::{Step, nest};
use super::{Layout, Page, UiError};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::service::status::Change;
use crate::service::status::user::{self, AccessEntry, Membership};

/// One account of the access tree.
pub struct AccessItem {
    /// The account's id.
    pub account_id: String,
    /// Its registered name, if it is registered.
    pub name: Option<String>,
    /// Roles, comma-separated.
    pub roles: String,
    /// Teams, comma-separated.
    pub teams: String,
    /// Whether the grant is in force.
    pub active: bool,
    /// The ancestor whose grant reaches this account, when inherited.
    pub inherited_from: Option<String>,
}

impl From<AccessEntry> for AccessItem {
    fn from(a: AccessEntry) -> Self {
        AccessItem {
            account_id: a.account_id,
            name: a.name,
            roles: a.roles.join(", "),
            teams: a.teams.join(", "),
            active: a.active,
            inherited_from: a.inherited_from,
        }
    }
}

/// One recorded change.
pub struct ChangeView {
    /// When.
    pub at: Stamp,
    /// `created`, `updated` or `deleted`.
    pub action: String,
    /// What it changed.
    pub diffs: Vec<Diff>,
}

/// The user page.
#[derive(Template)]
#[template(path = "user.html")]
pub struct UserPage {
    layout: Layout,
    id: String,
    active: bool,
    version: i64,
    created: Stamp,
    modified: Stamp,
    attributes: Vec<Attr>,
    access: Vec<Step<AccessItem>>,
    groups: Vec<Membership>,
    changes: Vec<ChangeView>,
    entries: Vec<EntryRow>,
}

/// GET /users/{id}.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(id): ResourceId,
) -> Result<Page<UserPage>, UiError> {
    let found = user::user(&state.db, id.clone()).await?;
    let u =
        found.ok_or_else(|| UiError::NotFound(format!("There is no user with id {id}; it may have been deleted.")))?;
    let now = u.at;
    Ok(Page::ok(UserPage {
        layout: Layout::new(u.user_name, "/users", &session),
        active: u.active,
        version: u.version,
        created: Stamp::new(&u.created, now),
        modified: Stamp::new(&u.last_modified, now),
        attributes: flatten(&u.doc, &[]),
        access: nest(u.access.into_iter().map(|a| (a.depth, AccessItem::from(a)))),
        groups: u.groups,
        changes: u.changes.iter().map(|c| ChangeView::new(c, now)).collect(),
        entries: u.requests.iter().map(|r| EntryRow::new(r, now)).collect(),
        id: u.id,
    }))
}

impl ChangeView {
    /// The view of a recorded change, seen at `now`.
    pub fn new(c: &Change, now: time::OffsetDateTime) -> Self {
        Self {
            at: Stamp::new(&c.at, now),
            action: c.action.clone(),
            diffs: diff(c.before.as_deref(), c.after.as_deref()),
        }
    }

    /// [`ChangeView::new`] with the member ids of a group's change named and linked by
    /// `lookup` (id to name and link).
    pub fn with_names(
        c: &Change,
        now: time::OffsetDateTime,
        lookup: impl Fn(&str) -> Option<(String, String)>,
    ) -> Self {
        let view = Self::new(c, now);
        Self { diffs: view.diffs.into_iter().map(|d| d.name_members(&lookup)).collect(), ..view }
    }
}
