//! `/journal`: the SCIM requests scimbox answered, newest or failures first, each failure with
//! its reason in plain words and a suggested fix, narrowed by connection, outcome, user and time
//! with a plain GET form (so a filtered view is a link to share, and works without JavaScript);
//! `/journal/{seq}`: one request with its (redacted) body.

use askama::Template;
use axum::extract::{Query, State};
use scimbox_validator::check::{Fault, check_payloads};
use scimbox_validator::schema::ERROR_URN;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::AdminSession;
use super::prose::{self, Span};
use super::time::Stamp;
use super::{Layout, Page, UiError, query_string};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::service::status::journal::{self, Filters, JournalQuery, Outcome, Request};

/// An entry as listed.
pub struct EntryRow {
    /// Its number: the link to its page.
    pub seq: i64,
    /// When it was answered.
    pub at: Stamp,
    /// The token's name, or `-` when the request had none.
    pub connection: String,
    /// The User-Agent, if it sent one.
    pub client: Option<String>,
    /// `GET`, `POST`...
    pub method: String,
    /// The path and query.
    pub target: String,
    /// The HTTP status.
    pub status: u16,
    /// Whether it failed (4xx/5xx).
    pub failed: bool,
    /// `12.3 ms`.
    pub duration: String,
    /// The `scimType` of a failure.
    pub scim_type: Option<String>,
    /// A failure's reason in plain words.
    pub reason: Option<String>,
    /// What to do about it: words, `code` and the link to the checker opened with this body.
    pub fix: Option<Vec<Span>>,
    /// The name of the user or group it was about, when known.
    pub subject: Option<String>,
    /// The status page's link to that user or group.
    pub subject_href: Option<String>,
}

impl EntryRow {
    /// The view of a recorded request, seen at `now`.
    pub fn new(r: &Request, now: OffsetDateTime) -> Self {
        let e = &r.entry;
        let target = match e.query.as_deref().filter(|q| !q.is_empty()) {
            Some(q) => format!("{}?{q}", e.path),
            None => e.path.clone(),
        };
        EntryRow {
            seq: e.seq,
            at: Stamp::new(&e.at, now),
            connection: e.token_name.clone().unwrap_or_else(|| "-".into()),
            client: e.client.clone(),
            method: e.method.clone(),
            target,
            status: e.status,
            failed: e.failed(),
            duration: format!("{:.1} ms", e.duration_ms),
            scim_type: e.scim_type.clone(),
            reason: r.explanation.as_ref().map(|x| x.reason.clone()),
            fix: r.explanation.as_ref().map(|x| {
                let check = e.body.is_some().then(|| format!("/check?from={}", e.seq));
                prose::spans(&x.fix, check.as_deref())
            }),
            subject: r.subject.clone(),
            subject_href: r.resource().and_then(|(t, id)| link_of(t, id)),
        }
    }
}

/// The query of `/journal`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// `1`: failures first.
    #[serde(default)]
    failures: Option<String>,
    /// 1-based.
    #[serde(default)]
    page: Option<u32>,
    /// A connection name, `-` for none.
    #[serde(default)]
    connection: String,
    /// `failed` or `succeeded`.
    #[serde(default)]
    outcome: String,
    /// A userName or id.
    #[serde(default)]
    user: String,
    /// From (see [`Filters::from`]).
    #[serde(default)]
    from: String,
    /// To (see [`Filters::to`]).
    #[serde(default)]
    to: String,
}

impl Params {
    /// The filters asked for; an outcome other than `failed`, `succeeded` or empty is refused.
    fn filters(&self) -> Result<Filters, UiError> {
        let outcome = match self.outcome.trim() {
            "" => None,
            "failed" => Some(Outcome::Failed),
            "succeeded" => Some(Outcome::Succeeded),
            other => {
                return Err(UiError::BadRequest(format!(
                    "The outcome \"{other}\" is not one the journal knows: use failed or succeeded."
                )));
            }
        };
        Ok(Filters {
            connection: self.connection.clone(),
            outcome,
            user: self.user.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        })
    }
}

/// The query string of the journal with these filters, order and page (empty values left out).
fn journal_link(f: &Filters, failures_first: bool, page: u32) -> String {
    let outcome = match f.outcome {
        Some(Outcome::Failed) => "failed",
        Some(Outcome::Succeeded) => "succeeded",
        None => "",
    };
    let page = if page > 1 { page.to_string() } else { String::new() };
    query_string(&[
        ("connection", &f.connection),
        ("outcome", outcome),
        ("user", &f.user),
        ("from", &f.from),
        ("to", &f.to),
        ("failures", if failures_first { "1" } else { "" }),
        ("page", &page),
    ])
}

/// The journal page.
#[derive(Template)]
#[template(path = "journal.html")]
pub struct JournalPage {
    layout: Layout,
    failures_first: bool,
    /// Entries kept, and how many of them are failures.
    recorded: u64,
    failed: u64,
    /// The filters in force (the form shows them), and what they let through.
    filters: Filters,
    filtered: bool,
    matched: u64,
    matched_failed: u64,
    /// The outcome filter as its form value.
    outcome: &'static str,
    /// The connections to choose from.
    connections: Vec<String>,
    /// Requests not recorded because the journal's queue was full, and since when.
    shed: Option<(u64, String)>,
    entries: Vec<EntryRow>,
    page: u32,
    /// The query strings of the order toggle's links (filters kept).
    newest_link: String,
    failures_link: String,
    prev: Option<String>,
    next: Option<String>,
}

/// GET /journal.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    Query(p): Query<Params>,
) -> Result<Page<JournalPage>, UiError> {
    let failures_first = p.failures.as_deref().is_some_and(|f| f == "1" || f == "on" || f == "true");
    let query = JournalQuery { failures_first, page: p.page.unwrap_or(1) };
    let list = journal::journal(&state.db, &state.journal, query, p.filters()?).await?;
    let page = list.query.page;
    let f = &list.filters;
    let outcome = match f.outcome {
        Some(Outcome::Failed) => "failed",
        Some(Outcome::Succeeded) => "succeeded",
        None => "",
    };
    Ok(Page::ok(JournalPage {
        layout: Layout::new("Journal", "/journal", &session),
        failures_first,
        recorded: list.recorded,
        failed: list.failed,
        filtered: f.any(),
        matched: list.matched.0,
        matched_failed: list.matched.1,
        outcome,
        connections: list.connections.clone(),
        shed: list.shed.clone(),
        entries: list.requests.iter().map(|r| EntryRow::new(r, list.at)).collect(),
        page,
        newest_link: journal_link(f, false, 1),
        failures_link: journal_link(f, true, 1),
        prev: (page > 1).then(|| journal_link(f, failures_first, page - 1)),
        next: list.more.then(|| journal_link(f, failures_first, page + 1)),
        filters: list.filters,
    }))
}

/// One journal entry's page.
#[derive(Template)]
#[template(path = "journal_entry.html")]
pub struct EntryPage {
    layout: Layout,
    entry: EntryRow,
    resource: Option<(String, String)>,
    resource_link: Option<String>,
    /// The stored body, line by line, the lines the checker faults marked.
    body: Option<Vec<BodyLine>>,
    /// The checker's faults in the body (a failed create or replace of a user).
    faults: Vec<Fault>,
    /// `/check?from=<seq>`, for a failure with a body.
    check_link: Option<String>,
    /// The SCIM error answered (RFC 7644 §3.12), for a failure.
    sent: Option<String>,
}

/// One line of a stored body.
pub struct BodyLine {
    /// 1-based.
    pub n: usize,
    /// The line.
    pub text: String,
    /// Whether the checker finds a fault on it.
    pub bad: bool,
}

/// GET /journal/{seq}.
pub async fn entry(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(seq): ResourceId,
) -> Result<Page<EntryPage>, UiError> {
    let seq: i64 = seq.parse().map_err(|_| UiError::NotFound(format!("There is no journal entry {seq}.")))?;
    let found = journal::request(&state.db, seq).await?;
    let v =
        found.ok_or_else(|| UiError::NotFound(format!("There is no journal entry {seq}; it may have been pruned.")))?;
    let resource = v.request.resource().map(|(t, id)| (t.to_owned(), id.to_owned()));
    let resource_link = resource.as_ref().and_then(|(t, id)| link_of(t, id));
    let e = &v.request.entry;
    let text = e.body.as_deref().map(pretty);
    // The faults are found again by the checker, not parsed out of the recorded detail: the
    // checker gives the line and column in this (indented) text, the detail those in the body
    // as sent. Only a user's create or replace is a body the checker reads whole.
    let user_body = e.failed() && matches!(e.method.as_str(), "POST" | "PUT") && e.path.contains("/Users");
    let faults = match (&text, user_body) {
        (Some(t), true) => {
            let cat = crate::service::status::catalogue(&state.db).await?;
            check_payloads(t, &cat).errors
        }
        _ => Vec::new(),
    };
    let body = text.as_deref().map(|t| body_lines(t, &faults));
    Ok(Page::ok(EntryPage {
        layout: Layout::new(format!("Request #{seq}"), "/journal", &session),
        entry: EntryRow::new(&v.request, v.at),
        resource,
        resource_link,
        check_link: (e.failed() && e.body.is_some()).then(|| format!("/check?from={}", e.seq)),
        sent: e.failed().then(|| sent_error(e.status, e.scim_type.as_deref(), e.detail.as_deref())),
        body,
        faults,
    }))
}

/// `text` cut into lines, those holding a fault marked (one pass over the faults).
fn body_lines(text: &str, faults: &[Fault]) -> Vec<BodyLine> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut bad = vec![false; lines.len() + 1];
    for line in faults.iter().filter_map(|f| f.line) {
        if let Some(flag) = bad.get_mut(line) {
            *flag = true;
        }
    }
    lines.into_iter().enumerate().map(|(i, l)| BodyLine { n: i + 1, text: l.to_owned(), bad: bad[i + 1] }).collect()
}

/// The error body scimbox answered, indented. The journal keeps the status, `scimType` and
/// `detail` of the answer, which are all of an error response (RFC 7644 §3.12: `schemas`,
/// `status` as a string, `scimType` when there is one, `detail`), so it is rebuilt from them the
/// way `crate::error` builds it rather than stored twice.
fn sent_error(status: u16, scim_type: Option<&str>, detail: Option<&str>) -> String {
    let mut body = json!({"schemas": [ERROR_URN], "status": status.to_string()});
    if let Some(t) = scim_type {
        body["scimType"] = t.into();
    }
    if let Some(d) = detail {
        body["detail"] = d.into();
    }
    serde_json::to_string_pretty(&body).unwrap_or_default()
}

/// The status page's link to a resource the journal names.
fn link_of(resource_type: &str, id: &str) -> Option<String> {
    let id = super::segment(id);
    match resource_type {
        "User" | "Users" => Some(format!("/users/{id}")),
        "Group" | "Groups" => Some(format!("/groups/{id}")),
        _ => None,
    }
}

/// A JSON body indented for reading; anything else as it is. `/check?from=` opens the same
/// text, so fault lines match between the two pages.
pub(super) fn pretty(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_bodies() {
        assert_eq!(link_of("User", "a b").as_deref(), Some("/users/a%20b"));
        assert_eq!(link_of("Bulk", "x"), None);
        assert_eq!(pretty(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
        assert_eq!(pretty("not json"), "not json");
    }

    #[test]
    fn fault_lines_are_marked_and_the_error_rebuilt() {
        let text = pretty(r#"{"userName":"a","accounts":["{\"acountId\":\"A\"}"]}"#);
        let faults = check_payloads(&text, &Default::default()).errors;
        let marked: Vec<usize> = body_lines(&text, &faults).iter().filter(|l| l.bad).map(|l| l.n).collect();
        assert_eq!(marked, [4], "{text}\n{faults:?}");
        let sent: serde_json::Value =
            serde_json::from_str(&sent_error(409, Some("uniqueness"), Some("taken"))).unwrap();
        assert_eq!(sent, json!({"schemas": [ERROR_URN], "status": "409", "scimType": "uniqueness", "detail": "taken"}));
    }
}
