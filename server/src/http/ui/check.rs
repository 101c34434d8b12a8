//! `/check`: the public payload checker. Paste an `accounts` payload, a list of them or a SCIM
//! User body; the browser checks it as you type with the validator's WebAssembly build
//! (`/static/check.js` over `/assets/validator.js`), and without JavaScript the form posts here
//! and the server answers the same verdict from the same function
//! ([`scimbox_validator::check::check_payloads`]). A logged-in admin's page carries the registry
//! catalogue (accounts and roles) in a `<script type="application/json" id="catalogue">`, so both
//! checks hold payloads to what the server would accept, and its example payload names a
//! registered account and a catalogued role ([`example`]); a visitor's page reads nothing of the
//! registry and shows a neutral example. Fault positions are in the pasted text, payload strings
//! included (see [`scimbox_validator::accounts`]): the gutter marks those lines and the page's
//! script jumps to those places.
//!
//! The page is public, so what one POST may cost is bounded (issue 11, problem 2): the text is
//! at most [`MAX_TEXT`] bytes (413 above it, said on the page); the verdict and the page are
//! worked out on the `/check` pool's own thread ([`crate::throttle::Guards::checks`]), never on
//! an async worker, within [`CHECK_DEADLINE`] (503 beyond it, 429 when the pool's queue is
//! full); and a client that is not logged in may post [`crate::throttle::CHECK_BURST`] times at
//! once, then once every [`crate::throttle::CHECK_EVERY`] (429 with `Retry-After`). The work is
//! linear in the text: the gutter marks fault lines through a bitmap, not a search per line.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scimbox_validator::accounts::Catalogue;
use scimbox_validator::check::{Verdict, check_payloads};
use serde::Deserialize;
use serde_json::json;

use super::AdminSession;
use super::page::html;
use super::{Layout, MaybeAdmin, Page, UiError, statics};
use crate::db::Db;
use crate::http::AppState;
use crate::http::extract::Forwarded;
use crate::pool::PoolError;

/// The longest text `/check` takes, in bytes (256 KiB); the page says so.
pub const MAX_TEXT: usize = 256 * 1024;
/// How long a verdict may take, waiting included, before the answer is 503.
pub const CHECK_DEADLINE: Duration = Duration::from_secs(10);

/// A JSON text that is safe inside `<script type="application/json">`: `<`, `>`, `&` and the
/// line separators are written as `\u` escapes, so no `</script>` or comment can appear.
pub struct ScriptJson(String);

impl ScriptJson {
    /// Serialises `value` for a script element.
    pub fn new(value: &serde_json::Value) -> Self {
        let mut out = String::new();
        for ch in value.to_string().chars() {
            match ch {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
        }
        Self(out)
    }
}

impl fmt::Display for ScriptJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Safe by construction (see [`ScriptJson`]): askama writes it without HTML escaping, which
/// would corrupt the JSON (a script element's text is not entity-decoded).
impl askama::filters::HtmlSafe for ScriptJson {}

/// A line number of the gutter beside the text.
pub struct GutterLine {
    /// 1-based.
    pub n: usize,
    /// Whether a fault is on this line.
    pub bad: bool,
}

/// The checker page.
#[derive(Template)]
#[template(path = "check.html")]
pub struct CheckPage {
    layout: Layout,
    script: String,
    text: String,
    verdict: Option<Verdict>,
    gutter: Vec<GutterLine>,
    catalogue: Option<ScriptJson>,
    registry: Option<(usize, usize)>,
    example: String,
    max_kib: usize,
    /// The journal entry whose body this is (`?from=`).
    from: Option<i64>,
    /// A visitor asked for a journal entry: the page says to log in.
    asked_from: bool,
}

/// The example payload the page shows: a visitor's names made-up ids (the page is public, and
/// the registry is the deployment's business); an admin's names the first registered account
/// and, when the roles catalogue is not empty, its first role, so that checking the example
/// gives "Valid" on this server (an empty catalogue accepts any role).
fn example(cat: Option<&Catalogue>) -> String {
    let account = cat.and_then(|c| c.accounts.as_ref()).and_then(|a| a.first()).map_or("ACC123", String::as_str);
    let role = cat.and_then(|c| c.roles.as_ref()).and_then(|r| r.first()).map_or("Editor", String::as_str);
    format!(r#"{{"accountId": {}, "roles": [{}]}}"#, json!(account), json!(role))
}

/// The query of `GET /check`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// A journal entry's number: an admin's page opens with that request's stored body and its
    /// verdict (from the journal's "Suggested fix" link), so a failure leads straight to its
    /// fix without copying anything. A visitor's page ignores it: the journal is the admin's.
    #[serde(default)]
    from: Option<String>,
}

/// GET /check, and `GET /check?from=<journal entry>` for a logged-in admin.
pub async fn page(
    State(state): State<AppState>,
    MaybeAdmin(session): MaybeAdmin,
    Query(p): Query<Params>,
) -> Result<Page<CheckPage>, UiError> {
    let cat = registry(&state.db, session.is_some()).await?;
    let from = match (&session, p.from.as_deref().map(str::trim).filter(|s| !s.is_empty())) {
        (Some(_), Some(seq)) => Some(stored_body(&state.db, seq).await?),
        _ => None,
    };
    let Some((seq, text)) = from else {
        let mut page = build(session.as_ref(), String::new(), None, cat);
        page.asked_from = session.is_none() && p.from.is_some();
        return Ok(Page::ok(page));
    };
    // An admin's body is at most the journal's 16 KiB, so the verdict is cheap; it still runs
    // on the checker's pool like every other verdict.
    let deadline = Instant::now() + CHECK_DEADLINE;
    let work = move || {
        let verdict = check_payloads(&text, cat.as_ref().unwrap_or(&Catalogue::default()));
        let mut page = build(session.as_ref(), text, Some(verdict), cat);
        page.from = Some(seq);
        page
    };
    state.guards.checks.run(deadline, work).await.map(Page::ok).map_err(pool_error)
}

/// The request body the journal recorded as `seq`, as the entry's page shows it (indented), so
/// the line numbers of the faults are the same on both pages.
async fn stored_body(db: &Db, seq: &str) -> Result<(i64, String), UiError> {
    let missing = || UiError::NotFound(format!("There is no journal entry {seq}; it may have been pruned."));
    let n: i64 = seq.parse().map_err(|_| missing())?;
    let found = crate::service::status::journal::request(db, n).await?.ok_or_else(missing)?;
    let body = found
        .request
        .entry
        .body
        .ok_or_else(|| UiError::NotFound(format!("Journal entry {n} has no request body to check.")))?;
    Ok((n, super::journal::pretty(&body)))
}

fn pool_error(e: PoolError) -> UiError {
    match e {
        PoolError::Busy => UiError::Refused(
            StatusCode::TOO_MANY_REQUESTS,
            "The checker is busy with other texts; try again in a few seconds.".into(),
            Some(2),
        ),
        PoolError::Expired => UiError::Refused(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("The check did not finish within {} seconds; try a shorter text.", CHECK_DEADLINE.as_secs()),
            Some(5),
        ),
    }
}

/// POST /check: the verdict for browsers without JavaScript.
pub async fn submit(State(state): State<AppState>, MaybeAdmin(session): MaybeAdmin, req: Request) -> Response {
    match verdict_page(&state, session, req).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn verdict_page(state: &AppState, session: Option<AdminSession>, req: Request) -> Result<Response, UiError> {
    let (parts, body) = req.into_parts();
    if session.is_none() {
        let ip = Forwarded::of(&parts, &state.config).client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if let Err(wait) = state.guards.check_rate.take(&ip) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let message = format!(
                "Too many checks from your address; try again in {secs} second(s), or log in, or use the checker as you type (it runs in your browser)."
            );
            return Err(UiError::Refused(StatusCode::TOO_MANY_REQUESTS, message, Some(secs)));
        }
    }
    let text = read_text(body).await?;
    let cat = registry(&state.db, session.is_some()).await?;
    let deadline = Instant::now() + CHECK_DEADLINE;
    let work = move || {
        let verdict = check_payloads(&text, cat.as_ref().unwrap_or(&Catalogue::default()));
        build(session.as_ref(), text, Some(verdict), cat).render()
    };
    match state.guards.checks.run(deadline, work).await {
        Ok(Ok(body)) => Ok(html(StatusCode::OK, body)),
        Ok(Err(e)) => Err(UiError::Internal(format!("rendering the check page: {e}"))),
        Err(e) => Err(pool_error(e)),
    }
}

/// The form's `text`, at most [`MAX_TEXT`] bytes once decoded (413 otherwise). The encoded
/// body is read only up to what such a text can take (three bytes per byte, `%XX`).
async fn read_text(body: axum::body::Body) -> Result<String, UiError> {
    let too_big = || {
        UiError::Refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The text is larger than {} KiB, the most the checker takes. Check the payloads in parts, or with `scimbox validate` on the server.",
                MAX_TEXT / 1024
            ),
            None,
        )
    };
    let bytes = axum::body::to_bytes(body, MAX_TEXT * 3 + 4096).await.map_err(|_| too_big())?;
    let text = form_urlencoded::parse(&bytes).find(|(k, _)| k == "text").map(|(_, v)| v.into_owned());
    let text = text.unwrap_or_default();
    if text.len() > MAX_TEXT {
        return Err(too_big());
    }
    Ok(text)
}

/// The registry's catalogue, for a logged-in admin only.
async fn registry(db: &Db, admin: bool) -> Result<Option<Catalogue>, UiError> {
    if !admin {
        return Ok(None);
    }
    Ok(Some(crate::service::status::catalogue(db).await?))
}

fn build(session: Option<&AdminSession>, text: String, verdict: Option<Verdict>, cat: Option<Catalogue>) -> CheckPage {
    let lines = text.bytes().filter(|b| *b == b'\n').count() + 1;
    // One flag per line, set from the faults: linear, where a search of the fault list for
    // every line was 950,000 lines x 60,000 faults.
    let mut bad = vec![false; lines + 1];
    for line in verdict.iter().flat_map(|v| v.errors.iter().filter_map(|f| f.line)) {
        if let Some(flag) = bad.get_mut(line) {
            *flag = true;
        }
    }
    let gutter = (1..=lines).map(|n| GutterLine { n, bad: bad[n] }).collect();
    let registry =
        cat.as_ref().map(|c| (c.accounts.as_ref().map_or(0, |a| a.len()), c.roles.as_ref().map_or(0, Vec::len)));
    let example = example(cat.as_ref());
    let catalogue = cat.map(|c| ScriptJson::new(&json!({ "accounts": c.accounts, "roles": c.roles })));
    CheckPage {
        layout: Layout::with("Payload checker", "/check", session),
        script: statics::url("check.js"),
        text,
        verdict,
        gutter,
        catalogue,
        registry,
        example,
        max_kib: MAX_TEXT / 1024,
        from: None,
        asked_from: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_its_element() {
        let v = json!({"accounts": ["</script><script>alert(1)</script>", "a&b"]});
        let s = ScriptJson::new(&v).to_string();
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'), "{s}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
    }

    #[test]
    fn gutter_marks_fault_lines() {
        let v = check_payloads("[\n  {\"acountId\": \"A\"}\n]", &Catalogue::default());
        let page = build(None, "[\n  {\"acountId\": \"A\"}\n]".into(), Some(v), None);
        let bad: Vec<usize> = page.gutter.iter().filter(|g| g.bad).map(|g| g.n).collect();
        assert_eq!((page.gutter.len(), bad), (3, vec![2]));
    }
}
