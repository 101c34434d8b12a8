//! `/accounts`: the accounts registry as nested lists, each account with how many users its
//! payloads name directly (when the user count keeps that cheap) and the catalogued roles.

use askama::Template;
use axum::extract::State;

use super::session::AdminSession;
use super::tree::{Step, nest};
use super::{Layout, Page, UiError};
use crate::http::AppState;
use crate::service::accounts::{self, Registry, Role, TreeEntry};

/// Above this many users the page leaves out the per-account user counts (they need a scan).
const COUNT_UP_TO: u64 = 20_000;

/// An account in the tree.
pub struct AccountItem {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Users whose payloads name it, when counted.
    pub users: Option<u64>,
}

/// The accounts page.
#[derive(Template)]
#[template(path = "accounts.html")]
pub struct AccountsPage {
    layout: Layout,
    count: usize,
    counted: bool,
    tree: Vec<Step<AccountItem>>,
    roles: Vec<Role>,
}

/// GET /accounts.
pub async fn page(State(state): State<AppState>, session: AdminSession) -> Result<Page<AccountsPage>, UiError> {
    let Registry { tree: list, direct_users: counts, roles } = accounts::registry(&state.db, COUNT_UP_TO).await?;
    let counted = counts.is_some();
    let item = |e: TreeEntry| {
        let users = counts.as_ref().map(|m| m.get(&e.account.id).copied().unwrap_or(0));
        (e.depth, AccountItem { id: e.account.id, name: e.account.name, users })
    };
    Ok(Page::ok(AccountsPage {
        layout: Layout::new("Accounts", "/accounts", &session),
        count: list.len(),
        counted,
        tree: nest(list.into_iter().map(item)),
        roles,
    }))
}
