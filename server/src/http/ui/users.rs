//! `/users`: the provisioned users, searchable by userName or email, filtered by status, 50 a
//! page.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::AdminSession;
use super::time::Stamp;
use super::{Layout, Page, Pager, UiError, query_string};
use crate::http::AppState;
use crate::service::status::users::{self, PER_PAGE, UserQuery, UserSummary};

/// The query of `/users`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// Search text.
    #[serde(default)]
    q: String,
    /// `active`, `inactive` or empty.
    #[serde(default)]
    status: String,
    /// 1-based.
    #[serde(default)]
    page: Option<u64>,
}

/// A user as listed.
pub struct UserRowView {
    /// The SCIM id (the link).
    pub id: String,
    /// Its userName.
    pub user_name: String,
    /// Its displayName, else its formatted name, if any.
    pub display_name: Option<String>,
    /// Its primary (else first) email.
    pub email: Option<String>,
    /// Whether it is active.
    pub active: bool,
    /// When it last changed.
    pub modified: Stamp,
}

impl UserRowView {
    fn new(u: UserSummary, now: time::OffsetDateTime) -> Self {
        UserRowView {
            modified: Stamp::new(&u.last_modified, now),
            id: u.id,
            user_name: u.user_name,
            display_name: u.display_name,
            email: u.email,
            active: u.active,
        }
    }
}

/// The users page.
#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    layout: Layout,
    q: String,
    status: String,
    users: Vec<UserRowView>,
    pager: Pager,
}

/// GET /users.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    Query(p): Query<Params>,
) -> Result<Page<UsersPage>, UiError> {
    let active = match p.status.as_str() {
        "active" => Some(true),
        "inactive" => Some(false),
        _ => None,
    };
    let status = if active.is_some() { p.status.clone() } else { String::new() };
    let list = users::users(&state.db, UserQuery { text: p.q.clone(), active, page: p.page.unwrap_or(1) }).await?;
    let (q, st) = (p.q.clone(), status.clone());
    let pager = Pager::new(list.page, PER_PAGE, list.total, |n| {
        query_string(&[("q", &q), ("status", &st), ("page", &n.to_string())])
    });
    let now = list.at;
    Ok(Page::ok(UsersPage {
        layout: Layout::new("Users", "/users", &session),
        users: list.users.into_iter().map(|u| UserRowView::new(u, now)).collect(),
        q: p.q,
        status,
        pager,
    }))
}
