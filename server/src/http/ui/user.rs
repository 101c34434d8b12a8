//! `/users/{id}`: one user: attributes, effective access as a tree (accounts and the child
//! accounts a grant reaches, inherited grants marked with their source), groups, the changes
//! recorded and the requests that named the user.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use rusqlite::Connection;
use scimbox_validator::schema::SCIMBOX_USER_URN;
use serde_json::Value;

use super::attrs::{Attr, Diff, diff, flatten};
use super::journal::EntryRow;
use super::time::Stamp;
use super::tree::{Step, nest};
use super::{Layout, Page, UiError};
use crate::admin::AdminSession;
use crate::clock;
use crate::db::accounts::{self, TreeEntry};
use crate::db::groups::{self, Membership};
use crate::db::journal::{self as store, Change, Entry};
use crate::db::users::{self, UserRow};
use crate::db::{Db, StoreError};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::service::users::{WithAccess, render};

/// How many changes and requests the page lists.
pub const HISTORY: u32 = 50;

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

/// What the page reads, in one read transaction.
struct Loaded {
    row: UserRow,
    access: Vec<Granted>,
    tree: Vec<TreeEntry>,
    groups: Vec<Membership>,
    changes: Vec<Change>,
    requests: Vec<Entry>,
}

/// GET /users/{id}.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(id): ResourceId,
) -> Result<Page<UserPage>, UiError> {
    let found = load(&state.db, id.clone()).await?;
    let l =
        found.ok_or_else(|| UiError::NotFound(format!("There is no user with id {id}; it may have been deleted.")))?;
    let now = clock::now();
    let user_name = l.row.doc.get("userName").and_then(Value::as_str).unwrap_or(&l.row.id).to_owned();
    Ok(Page::ok(UserPage {
        layout: Layout::new(user_name, "/users", &session),
        active: l.row.doc.get("active").and_then(Value::as_bool).unwrap_or(true),
        version: l.row.version,
        created: Stamp::new(&l.row.created, now),
        modified: Stamp::new(&l.row.last_modified, now),
        attributes: flatten(&l.row.doc, &[]),
        access: access_tree(&l.access, &l.tree),
        groups: l.groups,
        changes: l.changes.iter().map(|c| ChangeView::new(c, now)).collect(),
        entries: l.requests.iter().map(|e| EntryRow::new(e, now)).collect(),
        id: l.row.id,
    }))
}

async fn load(db: &Db, id: String) -> Result<Option<Loaded>, StoreError> {
    db.read(move |c| {
        let Some(row) = users::get(c, &id)? else { return Ok(None) };
        Ok(Some(Loaded {
            access: effective(c, &row)?,
            tree: accounts::list(c)?,
            groups: groups::memberships(c, &id)?,
            changes: store::changes_for(c, "User", &id, HISTORY)?,
            requests: store::for_resource(c, "User", &id, HISTORY)?,
            row,
        }))
    })
    .await
}

/// The user's effective access, as `GET /Users/{id}?attributes=access` shows it (the service's
/// own rendering, so the page and the API agree).
fn effective(c: &Connection, row: &UserRow) -> Result<Vec<Granted>, StoreError> {
    let rendered = render(c, row, "", WithAccess(true))?;
    let access = rendered.get(SCIMBOX_USER_URN).and_then(|ext| ext.get("access")).cloned();
    Ok(serde_json::from_value(access.unwrap_or(Value::Array(Vec::new())))?)
}

/// One entry of the rendered `access` attribute.
#[derive(serde::Deserialize)]
struct Granted {
    #[serde(rename = "accountId")]
    account_id: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    teams: Vec<String>,
    status: String,
    #[serde(rename = "inheritedFrom")]
    inherited_from: Option<String>,
}

/// The access list as a tree: each account under the nearest ancestor the user also has access
/// to (the registry's order), accounts the registry does not know at the top.
fn access_tree(access: &[Granted], tree: &[TreeEntry]) -> Vec<Step<AccessItem>> {
    let parents: HashMap<&str, Option<&str>> =
        tree.iter().map(|e| (e.account.id.as_str(), e.account.parent_id.as_deref())).collect();
    let names: HashMap<&str, &str> = tree.iter().map(|e| (e.account.id.as_str(), e.account.name.as_str())).collect();
    let granted: HashMap<&str, &Granted> = access.iter().map(|a| (a.account_id.as_str(), a)).collect();
    let depth = |id: &str| {
        let mut d = 0;
        let mut cur = parents.get(id).copied().flatten();
        while let Some(p) = cur.filter(|_| d < tree.len()) {
            d += usize::from(granted.contains_key(p));
            cur = parents.get(p).copied().flatten();
        }
        d
    };
    let known = tree.iter().filter_map(|e| granted.get(e.account.id.as_str()).map(|a| (depth(&e.account.id), *a)));
    let unknown = access.iter().filter(|a| !parents.contains_key(a.account_id.as_str())).map(|a| (0, a));
    nest(known.chain(unknown).map(|(d, a)| (d, item(a, names.get(a.account_id.as_str()).copied()))))
}

fn item(a: &Granted, name: Option<&str>) -> AccessItem {
    AccessItem {
        account_id: a.account_id.clone(),
        name: name.map(str::to_owned),
        roles: a.roles.join(", "),
        teams: a.teams.join(", "),
        active: !a.status.eq_ignore_ascii_case("inactive"),
        inherited_from: a.inherited_from.clone(),
    }
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
}
