//! Read-only queries for the status page (`http::ui`): counts, a user search, the groups list
//! and how many users each account grants. Nothing here writes.

use std::collections::HashMap;

use super::sql::{Connection, Dialect, OptionalExtension, Value as Sql, params, params_from_iter};
use scimbox_validator::accounts::{Catalogue, Document};
use serde_json::{Map, Value};

use super::StoreError;
use super::changes::{Change, from_row as change_row};
use super::journal::{COLUMNS as JOURNAL_COLUMNS, ConnectionStats, Entry, from_row as journal_row};
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

/// How many users are active and inactive, in one snapshot.
///
/// Two counts rather than a `GROUP BY active`: the total is SQLite's plain `COUNT(*)` (a walk
/// of the narrowest index, the fastest count it has) and the inactive ones a range of the
/// `users_active` index (V9), as long as there are inactive users. Grouping instead read every
/// entry of that index and added it to its group: about six times slower at 1,000,000 users
/// (docs/benchmarks.md, the scale table).
pub fn user_counts(c: &Connection) -> Result<UserCounts, StoreError> {
    let (total, inactive) = total_and_inactive(c)?;
    Ok(UserCounts { active: total.saturating_sub(inactive), inactive })
}

/// All users and those with `active` false, in one statement (one snapshot).
pub(crate) fn total_and_inactive(c: &Connection) -> Result<(u64, u64), StoreError> {
    let (total, inactive): (i64, i64) = c
        .prepare_cached("SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM users WHERE active = 0)")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((u64::try_from(total).unwrap_or(0), u64::try_from(inactive).unwrap_or(0)))
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
    /// Only the users whose last successful write (create, replace or patch) still in the
    /// journal came through this connection (token name). The journal, not the change history,
    /// knows the token: `changes` rows do not record who wrote them.
    pub connection: Option<String>,
    /// Only the users whose payloads name one of these accounts (an account and its ancestors:
    /// a grant on a parent reaches its descendants). Read from each candidate's document, so
    /// at most [`ACCOUNT_FILTER_MAX`] candidates are read.
    pub accounts: Option<Vec<String>>,
    /// The order.
    pub order: UserOrder,
    /// Descending.
    pub desc: bool,
}

/// How the users list is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserOrder {
    /// Insertion order (the list's default).
    #[default]
    Created,
    /// By userName (folded, as uniqueness compares it).
    UserName,
    /// By last change.
    Changed,
    /// Inactive before active, then by userName.
    Status,
}

impl UserOrder {
    fn sql(self, desc: bool) -> String {
        let d = if desc { " DESC" } else { "" };
        match self {
            Self::Created => format!("seq{d}"),
            Self::UserName => format!("user_name_key{d}, seq"),
            Self::Changed => format!("last_modified{d}, seq{d}"),
            Self::Status => format!("active{d}, user_name_key, seq"),
        }
    }
}

/// The most users the account filter reads the payloads of for one page.
pub const ACCOUNT_FILTER_MAX: u64 = 20_000;

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
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Sql> = Vec::new();
    let arg = |args: &mut Vec<Sql>, v: Sql| {
        args.push(v);
        format!("?{}", args.len())
    };
    if let Some(text) = s.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let n = arg(&mut args, Sql::Text(like_pattern(text)));
        conds.push(format!(
            "(user_name_key LIKE {n} ESCAPE '\\'
              OR seq IN (SELECT user_seq FROM user_emails WHERE value_key LIKE {n} ESCAPE '\\'))"
        ));
    }
    if let Some(active) = s.active {
        conds.push(format!("active = {}", arg(&mut args, Sql::Integer(i64::from(active)))));
    }
    if let Some(name) = &s.connection {
        let n = arg(&mut args, Sql::Text(name.clone()));
        conds.push(format!(
            "id IN (SELECT j.resource_id FROM journal j
                    WHERE j.resource_type = 'User' AND j.token_name = {n} AND j.status < 400
                      AND j.method IN ('POST', 'PUT', 'PATCH')
                      AND j.seq = (SELECT MAX(j2.seq) FROM journal j2
                                   WHERE j2.resource_type = 'User' AND j2.resource_id = j.resource_id
                                     AND j2.status < 400 AND j2.method IN ('POST', 'PUT', 'PATCH')))"
        ));
    }
    // A cheap first cut for the account filter: a document that names an account holds its id
    // as text. Ids that JSON escapes or that are not ASCII skip it (the payloads decide anyway).
    if let Some(ids) = &s.accounts {
        let plain = |id: &str| id.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
        if !ids.is_empty() && ids.iter().all(|id| plain(id)) {
            let any: Vec<String> = ids
                .iter()
                .map(|id| format!("doc LIKE {} ESCAPE '\\'", arg(&mut args, Sql::Text(like_raw(id)))))
                .collect();
            conds.push(format!("({})", any.join(" OR ")));
        }
    }
    let clause = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (clause, args)
}

/// `%text%` for LIKE, wildcards escaped, not folded (documents are stored as sent).
fn like_raw(text: &str) -> String {
    let mut out = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// One page of the users matching `s`, in its order, and how many match in all. With an
/// account filter, more candidates than [`ACCOUNT_FILTER_MAX`] are refused (`Invalid`, saying
/// what to narrow) rather than read.
pub fn search_users(c: &Connection, s: &UserSearch) -> Result<(u64, Vec<ResourceRow>), StoreError> {
    let (clause, mut args) = search_where(s);
    let total: i64 = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM users {clause}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let total = u64::try_from(total).unwrap_or(0);
    let order = s.order.sql(s.desc);
    if let Some(ids) = &s.accounts {
        if total > ACCOUNT_FILTER_MAX {
            return Err(StoreError::Invalid(scimbox_validator::error::ValidationError::value(format!(
                "{total} users may hold these accounts, more than the {ACCOUNT_FILTER_MAX} the page reads at once: \
                 narrow the list with a search or a status too"
            ))));
        }
        let all = rows::query(c, Kind::User, &format!("{clause} ORDER BY {order}"), params_from_iter(args.iter()))?;
        let found: Vec<ResourceRow> =
            all.into_iter().filter(|r| granted_accounts(&r.doc).iter().any(|a| ids.contains(a))).collect();
        let n = found.len() as u64;
        let page = found
            .into_iter()
            .skip(usize::try_from(s.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(s.limit).unwrap_or(usize::MAX))
            .collect();
        return Ok((n, page));
    }
    let n = args.len();
    args.push(Sql::Integer(i64::try_from(s.limit).unwrap_or(i64::MAX)));
    args.push(Sql::Integer(i64::try_from(s.offset).unwrap_or(i64::MAX)));
    let tail = format!("{clause} ORDER BY {order} LIMIT ?{} OFFSET ?{}", n + 1, n + 2);
    let found = rows::query(c, Kind::User, &tail, params_from_iter(args.iter()))?;
    Ok((total, found))
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
pub fn granted_accounts(doc: &Map<String, Value>) -> Vec<String> {
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

/// Which journal entries the journal page lists: every field narrows, `None` does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// The connection (token name); `Some(None)`: the requests that had no valid token.
    pub connection: Option<Option<String>>,
    /// Only failures (status >= 400, `Some(true)`) or only successes.
    pub failed: Option<bool>,
    /// The requests about one user: its id (requests whose resource it is) and a userName
    /// (requests whose body names it, such as a refused create; compared ignoring ASCII case).
    pub user: Option<(Option<String>, String)>,
    /// Received at or after this stored stamp.
    pub from: Option<String>,
    /// Received before this stored stamp.
    pub until: Option<String>,
}

/// The text of a JSON body's top-level string `key`, or NULL (a body that is not JSON, or was
/// cut, is never parsed: SQLite's JSON functions raise an error on it).
fn body_text(dialect: Dialect, key: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!(
            "(CASE WHEN json_valid(j.body) AND json_type(j.body, '$.{key}') = 'text' \
             THEN json_extract(j.body, '$.{key}') END)"
        ),
        // migrations-pg/V1: NULL for a body that is not JSON, as above.
        Dialect::Postgres => format!("scimbox_json_text(j.body, '{key}')"),
    }
}

/// The WHERE clause of a journal filter (over the journal as `j`) and its arguments.
fn journal_where(dialect: Dialect, f: &JournalFilter) -> (String, Vec<Sql>) {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Sql> = Vec::new();
    let arg = |args: &mut Vec<Sql>, v: Sql| {
        args.push(v);
        format!("?{}", args.len())
    };
    match &f.connection {
        Some(Some(name)) => conds.push(format!("j.token_name = {}", arg(&mut args, Sql::Text(name.clone())))),
        Some(None) => conds.push("j.token_name IS NULL".into()),
        None => {}
    }
    match f.failed {
        Some(true) => conds.push("j.status >= 400".into()),
        Some(false) => conds.push("j.status < 400".into()),
        None => {}
    }
    if let Some(from) = &f.from {
        conds.push(format!("j.at >= {}", arg(&mut args, Sql::Text(from.clone()))));
    }
    if let Some(until) = &f.until {
        conds.push(format!("j.at < {}", arg(&mut args, Sql::Text(until.clone()))));
    }
    if let Some((id, name)) = &f.user {
        let name_arg = arg(&mut args, Sql::Text(name.clone()));
        // `instr` first, on text lowered as NOCASE compares (ASCII only): a cheap test that
        // spares parsing the bodies that cannot name the user.
        let by_body = match dialect {
            Dialect::Sqlite => format!(
                "(instr(lower(j.body), lower({name_arg})) > 0 AND {} = {name_arg} COLLATE NOCASE)",
                body_text(dialect, "userName")
            ),
            Dialect::Postgres => format!(
                "(strpos(lower(j.body), lower({name_arg})) > 0 AND lower({}) = lower({name_arg}))",
                body_text(dialect, "userName")
            ),
        };
        match id {
            Some(id) => {
                let id_arg = arg(&mut args, Sql::Text(id.clone()));
                conds.push(format!("((j.resource_type = 'User' AND j.resource_id = {id_arg}) OR {by_body})"));
            }
            None => conds.push(by_body),
        }
    }
    let clause = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (clause, args)
}

/// A page of the filtered journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalRows {
    /// The entries, each with the name of what it was about when known.
    pub rows: Vec<(Entry, Option<String>)>,
    /// How many entries the filter lets through in all.
    pub matched: u64,
    /// Of which failures.
    pub failed: u64,
}

/// One page of the journal entries `f` lets through (newest first; with `failures_first`
/// every failure before every success), each with the name of what it was about when known:
/// the user's userName or the group's displayName as stored now, else the one in its body.
/// Also how many entries match, and how many of those failed.
pub fn journal_page(
    c: &Connection,
    f: &JournalFilter,
    failures_first: bool,
    limit: u32,
    offset: u32,
) -> Result<JournalRows, StoreError> {
    let (clause, mut args) = journal_where(c.dialect(), f);
    let (total, failed): (i64, Option<i64>) = c
        .prepare_cached(&format!(
            "SELECT COUNT(*), SUM(CASE WHEN j.status >= 400 THEN 1 ELSE 0 END) FROM journal j {clause}"
        ))?
        .query_row(params_from_iter(args.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?;
    let columns: Vec<String> = JOURNAL_COLUMNS.split(',').map(|col| format!("j.{}", col.trim())).collect();
    let order =
        if failures_first { "(CASE WHEN j.status >= 400 THEN 1 ELSE 0 END) DESC, j.seq DESC" } else { "j.seq DESC" };
    let n = args.len();
    args.push(Sql::Integer(limit.into()));
    args.push(Sql::Integer(offset.into()));
    let sql = format!(
        "SELECT {}, COALESCE(u.user_name, g.display_name, {}, {}) FROM journal j
         LEFT JOIN users u ON j.resource_type = 'User' AND u.id = j.resource_id
         LEFT JOIN groups g ON j.resource_type = 'Group' AND g.id = j.resource_id
         {clause} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
        columns.join(", "),
        body_text(c.dialect(), "userName"),
        body_text(c.dialect(), "displayName"),
        n + 1,
        n + 2
    );
    let width = columns.len();
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), |r| Ok((journal_row(r)?, r.get(width)?)))?;
    Ok(JournalRows {
        rows: rows.collect::<Result<_, _>>()?,
        matched: u64::try_from(total).unwrap_or(0),
        failed: u64::try_from(failed.unwrap_or(0)).unwrap_or(0),
    })
}

/// The connections the journal has entries of, by name.
pub fn journal_connections(c: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        c.prepare_cached("SELECT DISTINCT token_name FROM journal WHERE token_name IS NOT NULL ORDER BY token_name")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// One page of a resource's recorded changes, newest first, and how many there are.
pub fn changes_page(
    c: &Connection,
    resource_type: &str,
    id: &str,
    limit: u32,
    offset: u32,
) -> Result<(Vec<Change>, u64), StoreError> {
    let total: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM changes WHERE resource_type = ?1 AND resource_id = ?2")?
        .query_row(params![resource_type, id], |r| r.get(0))?;
    let mut stmt = c.prepare_cached(
        "SELECT seq, at, resource_type, resource_id, action, before, after FROM changes
         WHERE resource_type = ?1 AND resource_id = ?2 ORDER BY seq DESC LIMIT ?3 OFFSET ?4",
    )?;
    let rows = stmt.query_map(params![resource_type, id, limit, offset], change_row)?;
    Ok((rows.collect::<Result<_, _>>()?, u64::try_from(total).unwrap_or(0)))
}

/// The activity of each of `tokens` since `since`: requests and failures, counted in the
/// journal up to `whole` (the first hour boundary after `since`: one short range of the
/// `journal_token` index, which holds every column counted) and from the hourly counts from
/// there on (`db::rollup`, written with the entries); then the last request and its client (one
/// row, the index read backwards). A connection with no entry is left out. Grouping the whole
/// journal by token, with a correlated query for each client, read every entry of the week
/// instead (about 0.4 s in a debug build at 100,000 entries).
pub fn connection_stats(
    c: &Connection,
    tokens: &[String],
    since: &str,
    whole: &str,
) -> Result<Vec<ConnectionStats>, StoreError> {
    let mut edge = c.prepare_cached(
        "SELECT COUNT(*), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) FROM journal
         WHERE token_name = ?1 AND at >= ?2 AND at < ?3",
    )?;
    let mut hours =
        c.prepare_cached("SELECT SUM(requests), SUM(failures) FROM journal_hours WHERE token = ?1 AND hour >= ?2")?;
    let mut last = c.prepare_cached("SELECT at, client FROM journal WHERE token_name = ?1 ORDER BY at DESC LIMIT 1")?;
    let pair = |r: &super::sql::Row<'_>| {
        let n = |i| r.get::<_, Option<i64>>(i).map(|v| u64::try_from(v.unwrap_or(0)).unwrap_or(0));
        Ok((n(0)?, n(1)?))
    };
    let mut out = Vec::new();
    for token in tokens {
        let Some((at, client)) =
            last.query_row([token], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))).optional()?
        else {
            continue;
        };
        let (n1, bad1) = edge.query_row(params![token, since, whole], pair)?;
        let (n2, bad2) = hours.query_row(params![token, whole], pair)?;
        out.push(ConnectionStats {
            token_name: token.clone(),
            requests_24h: n1 + n2,
            failures_24h: bad1 + bad2,
            last_contact: Some(at),
            client,
        });
    }
    Ok(out)
}

/// The userNames of the users and the displayNames of the groups among `ids`, by id, `true`
/// for a group: one indexed query per table, so a history page that names hundreds of
/// members costs two lookups. An id of neither (a member deleted since) is left out.
pub fn names_of(c: &Connection, ids: &[String]) -> Result<HashMap<String, (bool, String)>, StoreError> {
    let list = serde_json::to_string(ids)?;
    let mut out = HashMap::new();
    for (table, name, group) in [("users", "user_name", false), ("groups", "display_name", true)] {
        let sql = match c.dialect() {
            Dialect::Sqlite => format!("SELECT id, {name} FROM {table} WHERE id IN (SELECT value FROM json_each(?1))"),
            Dialect::Postgres => {
                format!("SELECT id, {name} FROM {table} WHERE id IN (SELECT jsonb_array_elements_text(?1::jsonb))")
            }
        };
        let mut stmt = c.prepare_cached(&sql)?;
        for row in stmt.query_map([&list], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (id, name) = row?;
            out.insert(id, (group, name));
        }
    }
    Ok(out)
}

/// The events recorded after `cursor`, per type: how many, and the seq of the oldest (for a
/// webhook endpoint's lag: [`crate::service::status::webhooks`] keeps the types it takes). One
/// range of the primary key, read in the caller's snapshot.
pub fn events_behind(c: &Connection, cursor: i64) -> Result<Vec<(String, u64, i64)>, StoreError> {
    let mut stmt = c.prepare_cached("SELECT type, count(*), min(seq) FROM events WHERE seq > ?1 GROUP BY type")?;
    let rows = stmt.query_map([cursor], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, n, oldest) = row?;
        out.push((kind, u64::try_from(n).unwrap_or(0), oldest));
    }
    Ok(out)
}

/// When event `seq` was recorded, if it is still kept.
pub fn event_time(c: &Connection, seq: i64) -> Result<Option<String>, StoreError> {
    let mut stmt = c.prepare_cached("SELECT occurred_at FROM events WHERE seq = ?1")?;
    Ok(stmt.query_row([seq], |r| r.get(0)).optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `connection_stats` counts: entries in the journal from `since` up to `whole`, the
    /// hourly counts from `whole` on, failures among both; the last contact and its client from
    /// the newest entry; a connection without entries left out, the rest in the order asked.
    #[test]
    fn connection_stats_count_the_first_hour_from_the_journal_and_the_rest_by_hour() {
        use crate::db::journal::{Entry, insert};
        use crate::db::rollup::{self, Hour};
        let (_d, c) = crate::db::scratch();
        let entry = |at: &str, status: u16, token: &str, client: &str| Entry {
            at: at.into(),
            token_name: Some(token.into()),
            client: Some(client.into()),
            method: "GET".into(),
            path: "/scim/v2/Users".into(),
            status,
            ..Entry::default()
        };
        for e in [
            entry("2026-01-01T11:59:59.999Z", 500, "okta", "Okta/1"),
            entry("2026-01-01T12:00:00.000Z", 200, "okta", "Okta/1"),
            entry("2026-01-01T12:30:00.000Z", 404, "okta", "Okta/1"),
            entry("2026-01-02T00:00:00.000Z", 500, "okta", "Okta/2"),
            entry("2026-01-02T00:00:01.000Z", 200, "entra", "Entra/1"),
        ] {
            insert(&c, &e).unwrap_or_default();
        }
        // The hours from 13:00 on come from `journal_hours` alone, as the journal's writer keeps
        // them: these counts say more than the journal holds, so a sum of the journal would show.
        let hour = |token: &str, hour: &str, requests, failures| Hour {
            token: Some(token.into()),
            hour: hour.into(),
            requests,
            failures,
            limited: 0,
        };
        rollup::add(
            &c,
            &[
                hour("okta", "2026-01-01T12:00:00.000Z", 50, 50),
                hour("okta", "2026-01-01T13:00:00.000Z", 7, 2),
                hour("okta", "2026-01-02T00:00:00.000Z", 3, 1),
                hour("entra", "2026-01-02T00:00:00.000Z", 1, 0),
            ],
        )
        .unwrap_or_default();
        let tokens = ["okta".to_owned(), "idle".to_owned(), "entra".to_owned()];
        let s =
            connection_stats(&c, &tokens, "2026-01-01T12:00:00.000Z", "2026-01-01T13:00:00.000Z").unwrap_or_default();
        let got: Vec<_> = s
            .iter()
            .map(|s| {
                (
                    s.token_name.as_str(),
                    s.requests_24h,
                    s.failures_24h,
                    s.last_contact.as_deref().unwrap_or(""),
                    s.client.as_deref().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("okta", 2 + 10, 1 + 3, "2026-01-02T00:00:00.000Z", "Okta/2"),
                ("entra", 1, 0, "2026-01-02T00:00:01.000Z", "Entra/1"),
            ]
        );
    }

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
        let s = UserSearch {
            connection: Some("okta".into()),
            accounts: Some(vec!["A_1".into(), "B".into()]),
            ..UserSearch::default()
        };
        let (clause, args) = search_where(&s);
        assert!(
            clause.contains("j.token_name = ?1") && clause.contains("doc LIKE ?2") && clause.contains("doc LIKE ?3")
        );
        assert_eq!(args[1], Sql::Text("%A\\_1%".into()));
        let odd = UserSearch { accounts: Some(vec!["Å".into()]), ..UserSearch::default() };
        assert_eq!(search_where(&odd).0, "", "no first cut for an id LIKE cannot match as stored");
    }
}
