//! `/users`: the provisioned users, searchable by userName or email, filtered by status, 50 a
//! page.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;

use super::time::Stamp;
use super::{Layout, Page, Pager, UiError, query_string};
use crate::admin::AdminSession;
use crate::clock;
use crate::db::rows::ResourceRow;
use crate::db::ui::{UserSearch, search_users};
use crate::http::AppState;

/// Users on a page.
const PER_PAGE: u64 = 50;

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
    fn new(row: &ResourceRow, now: time::OffsetDateTime) -> Self {
        let text = |k: &str| row.doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let formatted = row.doc.get("name").and_then(|n| n.get("formatted")).and_then(Value::as_str).map(str::to_owned);
        UserRowView {
            id: row.id.clone(),
            user_name: text("userName").unwrap_or_default(),
            display_name: text("displayName").or(formatted),
            email: primary_email(&row.doc),
            active: row.doc.get("active").and_then(Value::as_bool).unwrap_or(true),
            modified: Stamp::new(&row.last_modified, now),
        }
    }
}

/// The primary email, else the first.
fn primary_email(doc: &serde_json::Map<String, Value>) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    let primary = emails.iter().find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    primary.or(emails.first())?.get("value")?.as_str().map(str::to_owned)
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
    let page = p.page.unwrap_or(1).max(1);
    let search = UserSearch { text: Some(p.q.clone()), active, offset: Pager::offset(page, PER_PAGE), limit: PER_PAGE };
    let (total, rows) = state.db.read(move |c| search_users(c, &search)).await?;
    let (q, st) = (p.q.clone(), status.clone());
    let pager =
        Pager::new(page, PER_PAGE, total, |n| query_string(&[("q", &q), ("status", &st), ("page", &n.to_string())]));
    let now = clock::now();
    Ok(Page::ok(UsersPage {
        layout: Layout::new("Users", "/users", &session),
        users: rows.iter().map(|r| UserRowView::new(r, now)).collect(),
        q: p.q,
        status,
        pager,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn primary_email_wins() {
        let doc = json!({"emails": [{"value": "a@x"}, {"value": "b@x", "primary": true}]});
        assert_eq!(primary_email(doc.as_object().unwrap()).as_deref(), Some("b@x"));
        let doc = json!({"emails": [{"value": "a@x"}]});
        assert_eq!(primary_email(doc.as_object().unwrap()).as_deref(), Some("a@x"));
        assert_eq!(primary_email(json!({}).as_object().unwrap()), None);
    }
}
