//! `/users`: the provisioned users, searchable by userName or email, filtered by status, by
//! account (`?account=`: granted on it or on an account above it) and by connection
//! (`?connection=`: the token of the user's last successful write still in the journal), sorted
//! by a column (`?sort=userName`, `-changed`...: server-side, so a sorted view is a link), 50 a
//! page.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::AdminSession;
use super::time::Stamp;
use super::{Layout, Page, Pager, UiError, query_string};
use crate::http::AppState;
use crate::service::status::users::{self, PER_PAGE, UserOrder, UserQuery, UserSummary};

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
    /// An account id.
    #[serde(default)]
    account: String,
    /// A connection (token name).
    #[serde(default)]
    connection: String,
    /// `userName`, `status` or `changed`, `-` first for descending; empty: as created.
    #[serde(default)]
    sort: String,
}

/// The sortable columns: `(sort key, order)`.
const SORTS: [(&str, UserOrder); 3] =
    [("userName", UserOrder::UserName), ("status", UserOrder::Status), ("changed", UserOrder::Changed)];

/// The order `sort` asks for; an unknown column is refused, naming those there are.
fn order_of(sort: &str) -> Result<(UserOrder, bool), UiError> {
    let sort = sort.trim();
    if sort.is_empty() {
        return Ok((UserOrder::Created, false));
    }
    let (key, desc) = match sort.strip_prefix('-') {
        Some(k) => (k, true),
        None => (sort, false),
    };
    SORTS.iter().find(|(k, _)| *k == key).map(|(_, o)| (*o, desc)).ok_or_else(|| {
        UiError::BadRequest(format!(
            "The users list cannot be sorted by \"{sort}\": use userName, status or changed, with a - before it for descending."
        ))
    })
}

/// A sortable column's header: its link and how it is sorted now.
pub struct SortLink {
    /// The query string of the link (the other filters kept, back to page 1).
    pub href: String,
    /// `ascending`, `descending` or `none` (`aria-sort`).
    pub state: &'static str,
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
    /// Under an account filter: the account its access comes from.
    pub via: Option<String>,
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
            via: u.via,
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
    account: String,
    connection: String,
    users: Vec<UserRowView>,
    pager: Pager,
    /// The sortable columns' headers: userName, status, changed.
    sorts: Vec<SortLink>,
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
    let (order, desc) = order_of(&p.sort)?;
    let query = UserQuery {
        text: p.q.clone(),
        active,
        page: p.page.unwrap_or(1),
        account: p.account.clone(),
        connection: p.connection.clone(),
        order,
        desc,
    };
    let list = users::users(&state.db, query).await?;
    let (account, connection) = (p.account.trim().to_owned(), p.connection.trim().to_owned());
    let link = |sort: &str, page: &str| {
        query_string(&[
            ("q", &p.q),
            ("status", &status),
            ("account", &account),
            ("connection", &connection),
            ("sort", sort),
            ("page", page),
        ])
    };
    let sort = p.sort.trim();
    let pager = Pager::new(list.page, PER_PAGE, list.total, |n| link(sort, &n.to_string()));
    let sorts = SORTS
        .iter()
        .map(|(key, o)| {
            let now = (*o == order).then_some(desc);
            let next = if now == Some(false) { format!("-{key}") } else { (*key).to_owned() };
            let state = match now {
                Some(false) => "ascending",
                Some(true) => "descending",
                None => "none",
            };
            SortLink { href: link(&next, ""), state }
        })
        .collect();
    let now = list.at;
    Ok(Page::ok(UsersPage {
        layout: Layout::new("Users", "/users", &session),
        users: list.users.into_iter().map(|u| UserRowView::new(u, now)).collect(),
        q: p.q,
        status,
        account,
        connection,
        pager,
        sorts,
    }))
}
