//! The users list: the provisioned users, searchable by userName or email, filtered by status,
//! by account (direct or inherited grants) and by connection, sorted, a page at a time.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::clock;
use crate::db::Db;
use crate::db::accounts;
use crate::db::rows::ResourceRow;
pub use crate::db::ui::UserOrder;
use crate::db::ui::{UserSearch, granted_accounts, search_users};
use crate::service::{Error, Result};

/// Users on a page.
pub const PER_PAGE: u64 = 50;

/// What the list asks for.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// A substring of the userName or of an email address (case-insensitive); empty: all.
    pub text: String,
    /// Only active (`Some(true)`) or inactive (`Some(false)`) users.
    pub active: Option<bool>,
    /// 1-based (0 is taken as 1).
    pub page: u64,
    /// An account id: only the users with access to it, granted on it or on an account above
    /// it; empty: all. An account that is not registered is `NotFound`.
    pub account: String,
    /// A connection (token name): only the users whose last successful write in the journal
    /// came through it; empty: all.
    pub connection: String,
    /// The order.
    pub order: UserOrder,
    /// Descending.
    pub desc: bool,
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// The SCIM id.
    pub id: String,
    /// Its userName.
    pub user_name: String,
    /// Its displayName, else its formatted name, if any.
    pub display_name: Option<String>,
    /// Its primary (else first) email.
    pub email: Option<String>,
    /// Whether it is active.
    pub active: bool,
    /// When it last changed (as stored).
    pub last_modified: String,
    /// Under an account filter: the account its access comes from (the one asked for when it
    /// is granted directly, else the nearest account above it that is).
    pub via: Option<String>,
}

/// One page of the list.
#[derive(Debug, Clone)]
pub struct UserList {
    /// When it was read.
    pub at: OffsetDateTime,
    /// How many users match in all.
    pub total: u64,
    /// The page shown (1-based).
    pub page: u64,
    /// Its users, in insertion order.
    pub users: Vec<UserSummary>,
}

/// One page of the users matching `q`.
pub async fn users(db: &Db, q: UserQuery) -> Result<UserList> {
    let page = q.page.max(1);
    let offset = (page - 1).saturating_mul(PER_PAGE);
    let account = q.account.trim().to_owned();
    let connection = q.connection.trim().to_owned();
    let found = db
        .read(move |c| {
            // The account and its ancestors, nearest first: a grant on any of them reaches it.
            let chain = if account.is_empty() {
                None
            } else if accounts::find(c, &account)?.is_none() {
                return Ok(None);
            } else {
                Some([vec![account.clone()], accounts::ancestors(c, &account)?].concat())
            };
            let search = UserSearch {
                text: Some(q.text),
                active: q.active,
                offset,
                limit: PER_PAGE,
                connection: (!connection.is_empty()).then_some(connection),
                accounts: chain.clone(),
                order: q.order,
                desc: q.desc,
            };
            let (total, rows) = search_users(c, &search)?;
            let users = rows
                .iter()
                .map(|r| {
                    let via = chain.as_ref().and_then(|ids| {
                        let held = granted_accounts(&r.doc);
                        ids.iter().find(|id| held.contains(id)).cloned()
                    });
                    UserSummary { via, ..UserSummary::of(r) }
                })
                .collect();
            Ok(Some((total, users)))
        })
        .await?;
    let (total, users) =
        found.ok_or_else(|| Error::NotFound(format!("no account {} is registered", q.account.trim())))?;
    Ok(UserList { at: clock::now(), total, page, users })
}

impl UserSummary {
    fn of(row: &ResourceRow) -> Self {
        let text = |k: &str| row.doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let formatted = row.doc.get("name").and_then(|n| n.get("formatted")).and_then(Value::as_str).map(str::to_owned);
        UserSummary {
            id: row.id.clone(),
            user_name: text("userName").unwrap_or_default(),
            display_name: text("displayName").or(formatted),
            email: primary_email(&row.doc),
            active: row.doc.get("active").and_then(Value::as_bool).unwrap_or(true),
            last_modified: row.last_modified.clone(),
            via: None,
        }
    }
}

/// The primary email, else the first.
fn primary_email(doc: &Map<String, Value>) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    let primary = emails.iter().find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    primary.or(emails.first())?.get("value")?.as_str().map(str::to_owned)
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

    #[test]
    fn summary_falls_back_to_the_formatted_name_and_to_active() {
        let doc = json!({"userName": "ann", "name": {"formatted": "Ann Lee"}});
        let row = ResourceRow {
            seq: 1,
            id: "u1".into(),
            version: 1,
            created: "c".into(),
            last_modified: "m".into(),
            doc: doc.as_object().cloned().unwrap_or_default(),
        };
        let s = UserSummary::of(&row);
        assert_eq!((s.user_name.as_str(), s.display_name.as_deref(), s.active), ("ann", Some("Ann Lee"), true));
    }
}
