//! `/check`: the public payload checker. Paste an `accounts` payload, a list of them or a SCIM
//! User body; the browser checks it as you type with the validator's WebAssembly build
//! (`/static/check.js` over `/assets/validator.js`), and without JavaScript the form posts here
//! and the server answers the same verdict from the same function
//! ([`scimbox_validator::check::check_payloads`]). A logged-in admin's page carries the registry
//! catalogue (accounts and roles) in a `<script type="application/json" id="catalogue">`, so both
//! checks hold payloads to what the server would accept.

use std::fmt;

use askama::Template;
use axum::Form;
use axum::extract::State;
use scimbox_validator::accounts::Catalogue;
use scimbox_validator::check::{Verdict, check_payloads};
use serde::Deserialize;
use serde_json::json;

use super::{Layout, MaybeAdmin, Page, UiError, statics};
use crate::admin::AdminSession;
use crate::db::{Db, StoreError, accounts};
use crate::http::AppState;

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
}

/// The form.
#[derive(Debug, Deserialize)]
pub struct CheckForm {
    /// What to check.
    #[serde(default)]
    text: String,
}

/// GET /check.
pub async fn page(State(state): State<AppState>, MaybeAdmin(session): MaybeAdmin) -> Result<Page<CheckPage>, UiError> {
    let cat = registry(&state.db, session.is_some()).await?;
    Ok(Page::ok(build(session.as_ref(), String::new(), None, cat)))
}

/// POST /check: the verdict for browsers without JavaScript.
pub async fn submit(
    State(state): State<AppState>,
    MaybeAdmin(session): MaybeAdmin,
    Form(form): Form<CheckForm>,
) -> Result<Page<CheckPage>, UiError> {
    let cat = registry(&state.db, session.is_some()).await?;
    let verdict = check_payloads(&form.text, cat.as_ref().unwrap_or(&Catalogue::default()));
    Ok(Page::ok(build(session.as_ref(), form.text, Some(verdict), cat)))
}

/// The registry's catalogue, for a logged-in admin only.
async fn registry(db: &Db, admin: bool) -> Result<Option<Catalogue>, StoreError> {
    if !admin {
        return Ok(None);
    }
    db.read(|c| accounts::catalogue(c).map(Some)).await
}

fn build(session: Option<&AdminSession>, text: String, verdict: Option<Verdict>, cat: Option<Catalogue>) -> CheckPage {
    let bad: Vec<usize> = verdict.iter().flat_map(|v| v.errors.iter().filter_map(|f| f.line)).collect();
    let lines = text.split('\n').count().max(1);
    let gutter = (1..=lines).map(|n| GutterLine { n, bad: bad.contains(&n) }).collect();
    let registry =
        cat.as_ref().map(|c| (c.accounts.as_ref().map_or(0, |a| a.len()), c.roles.as_ref().map_or(0, Vec::len)));
    let catalogue = cat.map(|c| ScriptJson::new(&json!({ "accounts": c.accounts, "roles": c.roles })));
    CheckPage {
        layout: Layout::with("Payload checker", "/check", session),
        script: statics::url("check.js"),
        text,
        verdict,
        gutter,
        catalogue,
        registry,
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
