//! Read-only queries for the status page (`http::ui`): counts, a user search, the groups list
//! and how many users each account grants. Nothing here writes.

use std::collections::HashMap;

use rusqlite::{Connection, params_from_iter, types::Value as Sql};
use scimbox_validator::accounts::{Catalogue, Document};
use serde_json::{Map, Value};

use super::StoreError;
use super::rows::{self, Kind, ResourceRow};
use super::users::fold;

/// Users by `active`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    /// `active` true (or absent).
    pub active: u64,
    /// `active` false.
    pub inactive: u64,
}

/// How many users are active and inactive.
pub fn user_counts(c: &Connection) -> Result<UserCounts, StoreError> {
    let mut stmt = c.prepare_cached("SELECT active, COUNT(*) FROM users GROUP BY active")?;
    let mut counts = UserCounts::default();
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (active, n) = row?;
        let n = u64::try_from(n).unwrap_or(0);
        if active == 0 { counts.inactive += n } else { counts.active += n }
    }
    Ok(counts)
}

/// What the users list asks for.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    /// A substring of the userName or of an email address (case-insensitive).
    pub text: Option<String>,
    /// Only active (`Some(true)`) or inactive (`Some(false)`) users.
    pub active: Option<bool>,
    /// How many to skip.
    pub offset: u64,
    /// How many to return.
    pub limit: u64,
}

/// `%text%` for LIKE, with the wildcards in `text` escaped (`\` is the escape character).
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in fold(text).chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// The WHERE clause of a search and its arguments.
fn search_where(s: &UserSearch) -> (String, Vec<Sql>) {
    let mut conds = Vec::new();
    let mut args = Vec::new();
    if let Some(text) = s.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        args.push(Sql::Text(like_pattern(text)));
        conds.push(
            "(user_name_key LIKE ?1 ESCAPE '\\'
              OR seq IN (SELECT user_seq FROM user_emails WHERE value_key LIKE ?1 ESCAPE '\\'))",
        );
    }
    if let Some(active) = s.active {
        args.push(Sql::Integer(i64::from(active)));
        conds.push(if args.len() == 1 { "active = ?1" } else { "active = ?2" });
    }
    let clause = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (clause, args)
}

/// One page of the users matching `s`, in insertion order, and how many match in all.
pub fn search_users(c: &Connection, s: &UserSearch) -> Result<(u64, Vec<ResourceRow>), StoreError> {
    let (clause, mut args) = search_where(s);
    let total: i64 = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM users {clause}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let n = args.len();
    args.push(Sql::Integer(i64::try_from(s.limit).unwrap_or(i64::MAX)));
    args.push(Sql::Integer(i64::try_from(s.offset).unwrap_or(i64::MAX)));
    let tail = format!("{clause} ORDER BY seq LIMIT ?{} OFFSET ?{}", n + 1, n + 2);
    let found = rows::query(c, Kind::User, &tail, params_from_iter(args.iter()))?;
    Ok((u64::try_from(total).unwrap_or(0), found))
}

/// A group as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// The SCIM id.
    pub id: String,
    /// Its displayName.
    pub display_name: String,
    /// How many direct members it has.
    pub members: u64,
}

/// One page of groups by displayName, and how many there are.
pub fn groups(c: &Connection, offset: u64, limit: u64) -> Result<(u64, Vec<GroupSummary>), StoreError> {
    let total = rows::count(c, Kind::Group)?;
    let mut stmt = c.prepare_cached(
        "SELECT id, display_name, member_count FROM groups ORDER BY display_name_key LIMIT ?1 OFFSET ?2",
    )?;
    let (limit, offset) = (i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(offset).unwrap_or(i64::MAX));
    let found = stmt.query_map([limit, offset], |r| {
        Ok(GroupSummary {
            id: r.get(0)?,
            display_name: r.get(1)?,
            members: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        })
    })?;
    Ok((total, found.collect::<Result<_, _>>()?))
}

/// How many users grant each account directly (a payload naming it), counted over every user;
/// `None` when there are more than `max_users` users, where the scan would cost too much for a page.
pub fn direct_grants(c: &Connection, max_users: u64) -> Result<Option<HashMap<String, u64>>, StoreError> {
    if rows::count(c, Kind::User)? > max_users {
        return Ok(None);
    }
    let mut counts = HashMap::new();
    rows::scan(c, Kind::User, None, |row| {
        for account in granted_accounts(&row.doc) {
            *counts.entry(account).or_insert(0) += 1;
        }
        Ok(())
    })?;
    Ok(Some(counts))
}

/// The account ids a stored user's payloads name (payloads were checked when written).
fn granted_accounts(doc: &Map<String, Value>) -> Vec<String> {
    let (_, found) = Document::from(&Value::Object(doc.clone())).split_user(&Catalogue::default());
    let mut ids: Vec<String> = found.unwrap_or_default().into_iter().map(|a| a.account_id).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Whether an administrator exists and whether a token works at `now` (neither revoked nor
/// expired): what a first start lacks (the overview and the login page say how to add them).
pub fn setup(c: &Connection, now: &str) -> Result<(bool, bool), StoreError> {
    let admin = c.query_row("SELECT EXISTS (SELECT 1 FROM admins)", [], |r| r.get(0))?;
    let token = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM tokens WHERE revoked IS NULL AND (expires IS NULL OR expires > ?1))",
        [now],
        |r| r.get(0),
    )?;
    Ok((admin, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_pattern("A_b%"), "%a\\_b\\%%");
    }

    #[test]
    fn search_clause_numbers_its_arguments() {
        let s = UserSearch { text: Some("x".into()), active: Some(false), ..UserSearch::default() };
        let (clause, args) = search_where(&s);
        assert!(clause.contains("?1") && clause.contains("active = ?2"), "{clause}");
        assert_eq!(args.len(), 2);
        let s = UserSearch { active: Some(true), ..UserSearch::default() };
        assert_eq!(search_where(&s).0, "WHERE active = ?1");
    }
}
