//! The `accounts` payloads (issue 4 §2): which accounts a user may enter, with which roles and
//! teams. The contract is `ACCOUNTS.md` (issue 4); the rules, each refused with a message an IdP
//! admin who only sees a red mark can act on:
//!
//! 1. **Strict JSON** (RFC 8259): a trailing comma, a comment, single quotes, a bare word, a bad
//!    escape or number, or nesting deeper than [`MAX_DEPTH`] levels is `invalidSyntax`.
//! 2. **`accountId`** is required and a non-empty string; when the [`Catalogue`] lists accounts
//!    (`Some`, even empty), it must be one of them (exact match).
//! 3. **`roles`** and **`teams`** are a string or an array of non-empty strings; absent, `null`
//!    and `""` mean none. When the roles catalogue is non-empty every role must be in it, compared
//!    case-insensitively ([`crate::text::fold`]); the catalogue's spelling is kept.
//! 4. **`status`** is `Active` or `Inactive` in any case; absent or `null` means `Active`.
//! 5. **Any other key** is refused, with a suggestion when a known key is within edit distance 2
//!    or equal ignoring case (`acountId`, `AccountID` -> `accountId`); a key given twice is refused.
//! 6. **One account once**: an `accountId` given twice in one user's list is refused, naming both
//!    indexes.
//!
//! Rules 2-6 are `invalidValue`. Every fault of every payload is reported, not only the first.
//!
//! **Positions** are 1-based lines and columns within the JSON text the payload was written in:
//! the payload string itself; for Entra's one string holding a JSON array, that string; for a
//! payload object inside a document checked with [`Document::parse`], that document. Payload
//! objects given as `serde_json` values have no text, hence no position. Columns count characters
//! (Unicode scalar values: `é` and `😀` are one column each), not bytes or UTF-16 units; a tab is
//! one column; a line ends at `\n`.
//!
//! ```
//! use scimbox_validator::accounts::{parse_payload, Catalogue, Status};
//! let a = parse_payload(r#"{"accountId":"ACC123","roles":"Editor"}"#, &Catalogue::default()).unwrap();
//! assert_eq!((a.account_id.as_str(), a.status), ("ACC123", Status::Active));
//! assert_eq!(a.to_payload(), r#"{"accountId":"ACC123","roles":["Editor"],"teams":[],"status":"Active"}"#);
//!
//! let faults = parse_payload(r#"{"acountId":"ACC123"}"#, &Catalogue::default()).unwrap_err();
//! assert_eq!(faults[0].detail(),
//!     r#"accounts (line 1, column 2): unknown key "acountId"; did you mean "accountId"?"#);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use self::json::{Kind, Member, Node, Pos};
use crate::error::{ScimType, ValidationError};
use crate::resource::kind_of;
use crate::schema::{SCIMBOX_USER_URN, USER_URN};
use crate::text::fold;

/// The deepest nesting of objects and arrays a JSON text may have (rule 1).
pub const MAX_DEPTH: usize = 64;

/// The example payload quoted in messages.
const EXAMPLE: &str = r#"{"accountId":"ACC123","roles":"Editor"}"#;
/// The keys a payload may have (rule 5).
const KEYS: [&str; 4] = ["accountId", "roles", "teams", "status"];
/// How many registered accounts or catalogued roles a message lists.
const LISTED: usize = 5;
/// How many characters of a value a message quotes.
const SHOWN: usize = 40;

/// What the server knows; `None` fields mean "don't check" (offline browser check).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Catalogue {
    /// The registered account ids (rule 2); `Some` of an empty set refuses every account.
    pub accounts: Option<BTreeSet<String>>,
    /// The roles catalogue (rule 3); `None` or empty accepts any role.
    pub roles: Option<Vec<String>>,
}

/// Whether a grant is in force (rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    /// In force (the default).
    Active,
    /// Kept but not in force.
    Inactive,
}

impl Status {
    /// `Active` or `Inactive`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

/// One valid payload: an account, the roles and teams in it, and whether the grant is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    /// The account's id.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// Role names, duplicates removed, in the catalogue's spelling when there is one.
    pub roles: Vec<String>,
    /// Team names, duplicates removed.
    pub teams: Vec<String>,
    /// Whether the grant is in force.
    pub status: Status,
}

impl Assignment {
    /// The canonical payload string, stored and returned:
    /// `{"accountId":"ACC123","roles":["Editor"],"teams":[],"status":"Active"}` (keys in this
    /// order, lists always arrays, status capitalised). Parsing it gives back the same assignment.
    pub fn to_payload(&self) -> String {
        serde_json::json!({
            "accountId": self.account_id,
            "roles": self.roles,
            "teams": self.teams,
            "status": self.status.as_str(),
        })
        .to_string()
    }
}

/// One fault, positioned. `index` is the payload's index in the list (None for a lone payload);
/// line/column are 1-based within that payload's own text (None when not about a position);
/// see the module documentation for which text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadFault {
    /// The payload's index in the list, `None` for a lone payload or the list as a whole.
    pub index: Option<usize>,
    /// 1-based line of the offending key or value.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the offending key or value.
    pub column: Option<usize>,
    /// `invalidSyntax` for JSON syntax, `invalidValue` otherwise.
    #[serde(rename = "scimType")]
    pub scim_type: &'static str,
    /// What is wrong and how to fix it, without the index and position.
    pub message: String,
}

impl PayloadFault {
    fn new(kind: ScimType, index: Option<usize>, at: Option<Pos>, message: String) -> Self {
        let (line, column) = (at.map(|p| p.line), at.map(|p| p.column));
        Self { index, line, column, scim_type: kind.as_str(), message }
    }

    /// `accounts[1] (line 1, column 14): unknown key "acountId"; did you mean "accountId"?`
    /// (`accounts` alone for a lone payload; no parenthesis without a position).
    pub fn detail(&self) -> String {
        let mut out = match self.index {
            Some(i) => format!("accounts[{i}]"),
            None => "accounts".to_owned(),
        };
        if let (Some(line), Some(column)) = (self.line, self.column) {
            let _ = write!(out, " (line {line}, column {column})");
        }
        format!("{out}: {}", self.message)
    }
}

/// One SCIM error for a request whose payloads have `faults` (issue 4 §4): the first fault's
/// `scimType`, and every fault's detail joined by `"; "`.
pub fn to_error(faults: &[PayloadFault]) -> ValidationError {
    let kind = match faults.first() {
        Some(f) if f.scim_type == ScimType::InvalidSyntax.as_str() => ScimType::InvalidSyntax,
        _ => ScimType::InvalidValue,
    };
    let details: Vec<String> = faults.iter().map(PayloadFault::detail).collect();
    ValidationError::new(kind, details.join("; "))
}

/// Parses one payload text (rules 1-5).
pub fn parse_payload(text: &str, cat: &Catalogue) -> Result<Assignment, Vec<PayloadFault>> {
    let mut c = Collector::new(cat);
    c.text(text, None, false);
    let mut out = c.finish()?;
    out.pop().ok_or_else(|| vec![PayloadFault::new(ScimType::InvalidValue, None, None, not_payload("nothing"))])
}

/// Parses the `accounts` attribute value as an IdP sends it (rules 1-6):
///
/// - a JSON array of payload strings (Okta, the RFC way): `index` is the position in the array;
/// - ONE string holding a JSON array of payload objects (Entra ID cannot send multi-valued custom
///   attributes): `index` is the position in that inner array, positions are within the string;
/// - one string holding one payload object: `index` is `None`;
/// - payload objects given as JSON objects instead of strings, alone or in the array (no
///   positions: a `Value` has no text).
///
/// `null`, `""`, `[]` and `null` or `""` items mean "no payload" (RFC 7643 §2.5 unassigned).
/// Returns every fault (not only the first).
pub fn parse_accounts(value: &Value, cat: &Catalogue) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
    Document::from(value).accounts(cat)
}

/// Whether a User body key holds the `accounts` attribute: `accounts` (any case), or qualified
/// by the core User URN or [`SCIMBOX_USER_URN`].
pub fn is_accounts_key(key: &str) -> bool {
    match key.rsplit_once(':') {
        Some((urn, name)) => name.eq_ignore_ascii_case("accounts") && is_accounts_schema(urn),
        None => key.eq_ignore_ascii_case("accounts"),
    }
}

/// Whether a User body holds an `accounts` attribute anywhere [`Document::split_user`] looks:
/// at the top level (bare or URN-qualified) or inside the core or scimbox schema object. A body
/// without one has no payloads to check, whatever the catalogue.
pub fn mentions_accounts(doc: &Map<String, Value>) -> bool {
    doc.iter().any(|(key, value)| {
        is_accounts_key(key)
            || (is_accounts_schema(key)
                && value.as_object().is_some_and(|inner| inner.keys().any(|k| k.eq_ignore_ascii_case("accounts"))))
    })
}

/// Whether a User body key names a schema object that may hold `accounts`.
fn is_accounts_schema(key: &str) -> bool {
    key.eq_ignore_ascii_case(USER_URN) || key.eq_ignore_ascii_case(SCIMBOX_USER_URN)
}

/// A JSON text parsed strictly (rule 1), keeping the position of every key and value, or a
/// `serde_json` value (without positions). What [`crate::check`] and the server check payloads
/// and User bodies with, so their verdicts agree.
#[derive(Debug, Clone, PartialEq)]
pub struct Document(Node);

impl Document {
    /// Parses `text` as strict JSON; a syntax error is an `invalidSyntax` fault with `index` None.
    pub fn parse(text: &str) -> Result<Self, PayloadFault> {
        json::parse(text).map(Document).map_err(|e| e.fault(None))
    }

    /// The document as a `serde_json` value (a key given twice keeps its last value).
    pub fn to_value(&self) -> Value {
        self.0.to_value()
    }

    /// Whether this is a SCIM User body rather than payloads: an object with `userName` or
    /// `schemas` (any case), keys no payload has.
    pub fn is_user_body(&self) -> bool {
        let Kind::Object(members) = &self.0.kind else { return false };
        members.iter().any(|m| m.key.eq_ignore_ascii_case("userName") || m.key.eq_ignore_ascii_case("schemas"))
    }

    /// Checks the document as an `accounts` attribute value (see [`parse_accounts`]).
    pub fn accounts(&self, cat: &Catalogue) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
        let mut c = Collector::new(cat);
        c.value(&self.0);
        c.finish()
    }

    /// Splits a User body into the body without `accounts` (for [`crate::resource::normalize`])
    /// and its checked `accounts`, found under any [`is_accounts_key`] or inside the core or
    /// scimbox schema object. Given in two places, they are refused.
    pub fn split_user(&self, cat: &Catalogue) -> (Value, Result<Vec<Assignment>, Vec<PayloadFault>>) {
        let Kind::Object(members) = &self.0.kind else { return (self.to_value(), Ok(Vec::new())) };
        let mut body = Map::new();
        let mut found = Vec::new();
        for m in members {
            if is_accounts_key(&m.key) {
                found.push((m.key.clone(), &m.value));
            } else if let (Kind::Object(inner), true) = (&m.value.kind, is_accounts_schema(&m.key)) {
                body.insert(m.key.clone(), split_schema_object(&m.key, inner, &mut found));
            } else {
                body.insert(m.key.clone(), m.value.to_value());
            }
        }
        found.retain(|(_, node)| !matches!(node.kind, Kind::Null));
        (Value::Object(body), accounts_once(&found, cat))
    }
}

impl From<&Value> for Document {
    /// A value without positions. Containers nested deeper than [`MAX_DEPTH`] become empty
    /// (the rules never look that deep).
    fn from(value: &Value) -> Self {
        Document(Node::from_value(value, 0))
    }
}

/// The schema object without its `accounts`, which go to `found`.
fn split_schema_object<'n>(key: &str, inner: &'n [Member], found: &mut Vec<(String, &'n Node)>) -> Value {
    let mut rest = Map::new();
    for m in inner {
        if m.key.eq_ignore_ascii_case("accounts") {
            found.push((format!("{key}:{}", m.key), &m.value));
        } else {
            rest.insert(m.key.clone(), m.value.to_value());
        }
    }
    Value::Object(rest)
}

/// Checks the one `accounts` value of a User body; two are refused.
fn accounts_once(found: &[(String, &Node)], cat: &Catalogue) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
    let parsed: Vec<Result<Vec<Assignment>, Vec<PayloadFault>>> = found
        .iter()
        .map(|(_, node)| {
            let mut c = Collector::new(cat);
            c.value(node);
            c.finish()
        })
        .collect();
    if let Some(Err(faults)) = parsed.iter().find(|p| p.is_err()) {
        return Err(faults.clone());
    }
    match (found, parsed.first()) {
        ([], _) | (_, None) => Ok(Vec::new()),
        // The same assignments in two places (core and scimbox extension) are one statement.
        (_, Some(first)) if parsed.iter().all(|p| p == first) => first.clone(),
        ([(a, _), (b, _), ..], _) => Err(vec![PayloadFault::new(
            ScimType::InvalidValue,
            None,
            None,
            format!(
                "the accounts are given twice, differently, as \"{}\" and as \"{}\"; send them once",
                a.escape_debug(),
                b.escape_debug()
            ),
        )]),
        _ => Ok(Vec::new()),
    }
}

/// Checks the `accounts` of a normalised User document (core attribute and scimbox extension)
/// against the catalogue and rewrites them in place as canonical payload strings
/// ([`Assignment::to_payload`]); returns the assignments. What the server stores.
pub fn settle(doc: &mut Map<String, Value>, cat: &Catalogue) -> Result<Vec<Assignment>, ValidationError> {
    if !mentions_accounts(doc) {
        // Nothing to check or rewrite: the common case (most users carry no access) skips the
        // copy of the document that the split below works on.
        return Ok(Vec::new());
    }
    let (_, found) = Document::from(&Value::Object(doc.clone())).split_user(cat);
    let assignments = found.map_err(|f| to_error(&f))?;
    let canonical = || Value::Array(assignments.iter().map(|a| Value::String(a.to_payload())).collect());
    let put = |m: &mut Map<String, Value>| {
        if m.contains_key("accounts") {
            if assignments.is_empty() {
                m.shift_remove("accounts")
            } else {
                m.insert("accounts".into(), canonical())
            };
        }
    };
    put(doc);
    if let Some(Value::Object(ext)) = doc.get_mut(SCIMBOX_USER_URN) {
        put(ext);
        if ext.is_empty() {
            doc.shift_remove(SCIMBOX_USER_URN);
        }
    }
    Ok(assignments)
}

/// A payload's fields as read so far.
#[derive(Default)]
struct Draft {
    account: Option<String>,
    roles: Vec<String>,
    teams: Vec<String>,
    status: Option<Status>,
    /// An unknown key was taken for a misspelt `accountId`: its fault says enough.
    hinted: bool,
}

impl Draft {
    fn finish(self) -> Option<Assignment> {
        let status = self.status.unwrap_or(Status::Active);
        Some(Assignment { account_id: self.account?, roles: self.roles, teams: self.teams, status })
    }
}

/// `roles` or `teams` (rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Roles,
    Teams,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Self::Roles => "roles",
            Self::Teams => "teams",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Self::Roles => r#""Editor" or ["Editor","Viewer"]"#,
            Self::Teams => r#""Marketing" or ["Marketing","Sales"]"#,
        }
    }
}

/// Walks one `accounts` value, collecting assignments and every fault.
struct Collector<'c> {
    cat: &'c Catalogue,
    /// Folded role name -> catalogue spelling; empty when any role is accepted.
    roles: BTreeMap<String, &'c str>,
    out: Vec<Assignment>,
    faults: Vec<PayloadFault>,
    /// Account id -> index of the payload that gave it first (rule 6).
    seen: BTreeMap<String, Option<usize>>,
}

impl<'c> Collector<'c> {
    fn new(cat: &'c Catalogue) -> Self {
        let roles = cat.roles.iter().flatten().map(|r| (fold(r).into_owned(), r.as_str())).collect();
        Self { cat, roles, out: Vec::new(), faults: Vec::new(), seen: BTreeMap::new() }
    }

    fn finish(self) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
        if self.faults.is_empty() { Ok(self.out) } else { Err(self.faults) }
    }

    fn fault(&mut self, index: Option<usize>, at: Option<Pos>, message: String) {
        self.faults.push(PayloadFault::new(ScimType::InvalidValue, index, at, message));
    }

    /// The attribute value: one of the four forms of [`parse_accounts`].
    fn value(&mut self, node: &Node) {
        match &node.kind {
            Kind::Null => {}
            Kind::String(s) if s.is_empty() => {}
            Kind::String(s) => self.text(s, None, true),
            Kind::Array(items) => self.list(items),
            Kind::Object(_) => self.payload(node, None),
            _ => self.fault(
                None,
                node.at,
                format!("expected payload strings such as {EXAMPLE} or a list of them, got {}", describe(node)),
            ),
        }
    }

    fn list(&mut self, items: &[Node]) {
        // Entra's one string holding the whole list, wrapped into a one-element list on its way
        // (a PATCH on a multi-valued attribute does that): still the whole list.
        if let [Node { kind: Kind::String(s), .. }] = items
            && s.trim_start().starts_with('[')
        {
            return self.text(s, None, true);
        }
        for (i, item) in items.iter().enumerate() {
            match &item.kind {
                Kind::Null => {}
                Kind::String(s) if s.is_empty() => {}
                Kind::String(s) => self.text(s, Some(i), false),
                _ => self.payload(item, Some(i)),
            }
        }
    }

    /// A string holding a payload, or (when `whole`, Entra's form) a JSON array of payloads.
    fn text(&mut self, text: &str, index: Option<usize>, whole: bool) {
        match json::parse(text) {
            Err(e) => self.faults.push(e.fault(index)),
            Ok(Node { kind: Kind::Array(items), .. }) if whole => self.list(&items),
            Ok(node) => self.payload(&node, index),
        }
    }

    fn payload(&mut self, node: &Node, index: Option<usize>) {
        let Kind::Object(members) = &node.kind else {
            let mut message = not_payload(&describe(node));
            if matches!(node.kind, Kind::Array(_)) && index.is_some() {
                message.push_str("; send one payload per value, or the whole list as one string");
            }
            return self.fault(index, node.at, message);
        };
        let before = self.faults.len();
        let draft = self.members(members, index);
        if self.faults.len() == before
            && let Some(assignment) = draft.finish()
        {
            self.out.push(assignment);
        }
    }

    fn members(&mut self, members: &[Member], index: Option<usize>) -> Draft {
        let mut draft = Draft::default();
        let mut keys: BTreeMap<&str, Option<Pos>> = BTreeMap::new();
        for m in members {
            if let Some(first) = keys.get(m.key.as_str()) {
                let message = format!("key {} is given twice{}; give it once", quote(&m.key), first_at(*first));
                self.fault(index, m.key_at, message);
                continue;
            }
            keys.insert(m.key.as_str(), m.key_at);
            self.member(&mut draft, m, index);
        }
        if !keys.contains_key("accountId") && !draft.hinted {
            self.fault(index, None, format!("\"accountId\" is required, e.g. {EXAMPLE}"));
        }
        draft
    }

    fn member(&mut self, draft: &mut Draft, m: &Member, index: Option<usize>) {
        let v = &m.value;
        match m.key.as_str() {
            "accountId" => draft.account = self.account_id(v, index),
            "roles" => draft.roles = self.names(Field::Roles, v, index),
            "teams" => draft.teams = self.names(Field::Teams, v, index),
            "status" => draft.status = self.status(v, index),
            other => {
                let hint = suggest(other, KEYS.into_iter());
                draft.hinted |= hint == Some("accountId");
                self.fault(index, m.key_at, unknown_key(other, hint));
            }
        }
    }

    /// Rule 2, and rule 6 for a well-formed id.
    fn account_id(&mut self, v: &Node, index: Option<usize>) -> Option<String> {
        let message = match &v.kind {
            Kind::String(id) if !id.is_empty() => {
                self.registered(id, v.at, index);
                self.once(id, v.at, index);
                return Some(id.clone());
            }
            Kind::String(_) => "\"accountId\" must not be empty; give the account's id, e.g. \"ACC123\"".to_owned(),
            Kind::Number(n) => {
                format!("\"accountId\" must be a string, got the number {n}; write it in quotes: \"{n}\"")
            }
            _ => format!("\"accountId\" must be a string such as \"ACC123\", got {}", describe(v)),
        };
        self.fault(index, v.at, message);
        None
    }

    fn registered(&mut self, id: &str, at: Option<Pos>, index: Option<usize>) {
        let cat = self.cat;
        let Some(known) = &cat.accounts else { return };
        if known.contains(id) {
            return;
        }
        let names = known.iter().map(String::as_str);
        let message = format!(
            "account {} is not registered (registered: {}){}",
            quote(id),
            listing(names.clone(), known.len()),
            did_you_mean(id, names)
        );
        self.fault(index, at, message);
    }

    fn once(&mut self, id: &str, at: Option<Pos>, index: Option<usize>) {
        let Some(first) = self.seen.get(id) else {
            self.seen.insert(id.to_owned(), index);
            return;
        };
        let first = first.map_or_else(|| "accounts".to_owned(), |i| format!("accounts[{i}]"));
        let message = format!(
            "account {} is already given by {first}; give each account once, with all its roles and teams in one payload",
            quote(id)
        );
        self.fault(index, at, message);
    }

    /// Rule 3: a string or an array of strings, duplicates removed.
    fn names(&mut self, field: Field, v: &Node, index: Option<usize>) -> Vec<String> {
        let mut out = Vec::new();
        match &v.kind {
            Kind::Null => {}
            Kind::String(s) if s.is_empty() => {}
            Kind::String(s) => self.name(field, s, v.at, index, &mut out),
            Kind::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.element(field, i, item, index, &mut out);
                }
            }
            _ => {
                let (name, example) = (field.name(), field.example());
                let message =
                    format!("\"{name}\" must be a string or an array of strings, e.g. {example}, got {}", describe(v));
                self.fault(index, v.at, message);
            }
        }
        let mut seen = BTreeSet::new();
        out.retain(|n| seen.insert(n.clone()));
        out
    }

    fn element(&mut self, field: Field, i: usize, item: &Node, index: Option<usize>, out: &mut Vec<String>) {
        match &item.kind {
            Kind::String(s) if !s.is_empty() => self.name(field, s, item.at, index, out),
            _ => {
                let message = format!("\"{}[{i}]\" must be a non-empty string, got {}", field.name(), describe(item));
                self.fault(index, item.at, message);
            }
        }
    }

    fn name(&mut self, field: Field, name: &str, at: Option<Pos>, index: Option<usize>, out: &mut Vec<String>) {
        if field == Field::Teams || self.roles.is_empty() {
            return out.push(name.to_owned());
        }
        if let Some(canonical) = self.roles.get(fold(name).as_ref()) {
            return out.push((*canonical).to_owned());
        }
        let cat = self.cat;
        let catalogue = cat.roles.iter().flatten().map(String::as_str);
        let message = format!(
            "role {} is not in the roles catalogue (catalogued: {}){}",
            quote(name),
            listing(catalogue.clone(), self.roles.len()),
            did_you_mean(name, catalogue)
        );
        self.fault(index, at, message);
    }

    /// Rule 4.
    fn status(&mut self, v: &Node, index: Option<usize>) -> Option<Status> {
        match &v.kind {
            Kind::Null => None,
            Kind::String(s) if s.eq_ignore_ascii_case("active") => Some(Status::Active),
            Kind::String(s) if s.eq_ignore_ascii_case("inactive") => Some(Status::Inactive),
            _ => {
                self.fault(index, v.at, format!("\"status\" must be \"Active\" or \"Inactive\", got {}", describe(v)));
                None
            }
        }
    }
}

fn not_payload(got: &str) -> String {
    format!("a payload must be a JSON object such as {EXAMPLE}, got {got}")
}

fn first_at(first: Option<Pos>) -> String {
    first.map(|p| format!(" (first at line {}, column {})", p.line, p.column)).unwrap_or_default()
}

/// Rule 5's message.
fn unknown_key(key: &str, hint: Option<&str>) -> String {
    match hint {
        Some(known) => format!("unknown key {}; did you mean {}?", quote(key), quote(known)),
        None => {
            format!("unknown key {}; a payload has only \"accountId\", \"roles\", \"teams\" and \"status\"", quote(key))
        }
    }
}

fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    suggest(word, candidates).map(|s| format!("; did you mean {}?", quote(s))).unwrap_or_default()
}

/// The first closest candidate within edit distance 2 ignoring case (distance 0 is case-only
/// equality), and closer than the word's length (so `x` does not suggest `y`).
fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    let folded = fold(word);
    let near = candidates.filter(|c| c.chars().count().abs_diff(len) <= 2 && *c != word);
    let scored = near.map(|c| (distance(&folded, &fold(c)), c));
    scored.filter(|(d, _)| *d <= 2 && *d < len).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transposition), over characters.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// `A, B, C, D, E and 3 more`, or `none yet`.
fn listing<'a>(names: impl Iterator<Item = &'a str>, total: usize) -> String {
    let shown: Vec<&str> = names.take(LISTED).collect();
    match total {
        0 => "none yet".to_owned(),
        n if n > LISTED => format!("{} and {} more", shown.join(", "), n - LISTED),
        _ => shown.join(", "),
    }
}

/// A string as quoted in messages: in double quotes, escaped, cut after 40 characters.
fn quote(s: &str) -> String {
    match s.char_indices().nth(SHOWN) {
        Some((i, _)) => format!("{:?}", format!("{}...", &s[..i])),
        None => format!("{s:?}"),
    }
}

/// A value as named in messages: strings quoted, others by kind ([`kind_of`]).
fn describe(node: &Node) -> String {
    match &node.kind {
        Kind::String(s) => quote(s),
        Kind::Array(_) => "an array".to_owned(),
        Kind::Object(_) => "an object".to_owned(),
        _ => kind_of(&node.to_value()),
    }
}

/// A small strict JSON parser (RFC 8259) that records where each key and value starts and says
/// what is wrong in words: serde_json's errors count columns in bytes, point past the fault
/// (a trailing comma is reported at the `}`) and say "expected ident" for a bare word.
mod json {
    use serde_json::{Map, Number, Value};

    use super::{MAX_DEPTH, PayloadFault, SHOWN, quote};
    use crate::error::ScimType;

    /// A 1-based line and column (in characters).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Pos {
        pub line: usize,
        pub column: usize,
    }

    /// A value and where it starts (`None` when it came without text).
    #[derive(Debug, Clone, PartialEq)]
    pub struct Node {
        pub at: Option<Pos>,
        pub kind: Kind,
    }

    /// A JSON value whose members keep their order, duplicates and positions.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Kind {
        Null,
        Bool(bool),
        Number(Number),
        String(String),
        Array(Vec<Node>),
        Object(Vec<Member>),
    }

    /// An object member.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Member {
        pub key: String,
        pub key_at: Option<Pos>,
        pub value: Node,
    }

    /// A syntax error: where and what.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SyntaxError {
        pub at: Pos,
        pub message: String,
    }

    impl SyntaxError {
        pub fn fault(self, index: Option<usize>) -> PayloadFault {
            PayloadFault::new(ScimType::InvalidSyntax, index, Some(self.at), self.message)
        }
    }

    fn error(at: Pos, message: impl Into<String>) -> SyntaxError {
        SyntaxError { at, message: message.into() }
    }

    impl Node {
        pub fn to_value(&self) -> Value {
            match &self.kind {
                Kind::Null => Value::Null,
                Kind::Bool(b) => Value::Bool(*b),
                Kind::Number(n) => Value::Number(n.clone()),
                Kind::String(s) => Value::String(s.clone()),
                Kind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
                Kind::Object(members) => {
                    let mut map = Map::new();
                    for m in members {
                        map.insert(m.key.clone(), m.value.to_value());
                    }
                    Value::Object(map)
                }
            }
        }

        pub fn from_value(v: &Value, depth: usize) -> Node {
            let deeper = depth < MAX_DEPTH;
            let node = |v: &Value| Node::from_value(v, depth + 1);
            let kind = match v {
                Value::Null => Kind::Null,
                Value::Bool(b) => Kind::Bool(*b),
                Value::Number(n) => Kind::Number(n.clone()),
                Value::String(s) => Kind::String(s.clone()),
                Value::Array(items) => Kind::Array(if deeper { items.iter().map(node).collect() } else { Vec::new() }),
                Value::Object(map) if deeper => Kind::Object(
                    map.iter().map(|(k, v)| Member { key: k.clone(), key_at: None, value: node(v) }).collect(),
                ),
                Value::Object(_) => Kind::Object(Vec::new()),
            };
            Node { at: None, kind }
        }
    }

    /// Parses a whole text as one JSON value.
    pub fn parse(text: &str) -> Result<Node, SyntaxError> {
        let mut p = Parser { text, i: 0, pos: Pos { line: 1, column: 1 } };
        let node = p.value(0)?;
        p.skip_ws();
        match p.peek() {
            None => Ok(node),
            Some(',') => Err(error(
                p.pos,
                "more text after the JSON value; to send several payloads, put them in an array: [{...}, {...}]",
            )),
            Some(_) => Err(p.unexpected("the end of the text after the JSON value")),
        }
    }

    struct Parser<'t> {
        text: &'t str,
        /// Byte offset of the next character.
        i: usize,
        /// Position of the next character.
        pos: Pos,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<char> {
            self.text[self.i..].chars().next()
        }

        fn bump(&mut self) -> Option<char> {
            let c = self.peek()?;
            self.i += c.len_utf8();
            if c == '\n' {
                self.pos = Pos { line: self.pos.line + 1, column: 1 };
            } else {
                self.pos.column += 1;
            }
            Some(c)
        }

        /// RFC 8259 §2: space, tab, line feed, carriage return.
        fn skip_ws(&mut self) {
            while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
                self.bump();
            }
        }

        /// The run of letters, digits and `_` ahead (at most 41 characters), not consumed.
        fn word(&self) -> String {
            let rest = self.text[self.i..].chars();
            rest.take_while(|c| c.is_alphanumeric() || *c == '_').take(SHOWN + 1).collect()
        }

        /// Whether a value other than a string starts ahead.
        fn value_ahead(&self) -> bool {
            matches!(self.peek(), Some('{' | '[' | '-' | '0'..='9'))
                || ["true", "false", "null"].contains(&self.word().as_str())
        }

        /// The error for the character ahead, where `expected` was due.
        fn unexpected(&self, expected: &str) -> SyntaxError {
            let message = match self.peek() {
                None => format!("unexpected end of text; expected {expected}"),
                Some('/') => "comments are not allowed in JSON; remove the comment".to_owned(),
                Some('\'') => "strings use double quotes: write \"text\", not 'text'".to_owned(),
                Some(c) if c.is_alphabetic() || c == '_' => word_message(&self.word()),
                Some(c) => format!("expected {expected}, got {}", show_char(c)),
            };
            error(self.pos, message)
        }

        fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
            self.skip_ws();
            let at = self.pos;
            let kind = match self.peek() {
                Some('{') => self.object(depth + 1)?,
                Some('[') => self.array(depth + 1)?,
                Some('"') => Kind::String(self.string()?),
                Some('-' | '+' | '.' | '0'..='9') => Kind::Number(self.number()?),
                Some(c) if c.is_alphabetic() => self.literal()?,
                _ => return Err(self.unexpected("a value (an object, array, string, number, true, false or null)")),
            };
            Ok(Node { at: Some(at), kind })
        }

        fn literal(&mut self) -> Result<Kind, SyntaxError> {
            let word = self.word();
            let kind = match word.as_str() {
                "true" => Kind::Bool(true),
                "false" => Kind::Bool(false),
                "null" => Kind::Null,
                _ => return Err(self.unexpected("a value")),
            };
            word.chars().for_each(|_| {
                self.bump();
            });
            Ok(kind)
        }

        /// Consumes the opening bracket; refuses nesting deeper than [`MAX_DEPTH`].
        fn open(&mut self, depth: usize) -> Result<Pos, SyntaxError> {
            let at = self.pos;
            if depth > MAX_DEPTH {
                return Err(error(at, format!("nesting deeper than {MAX_DEPTH} levels of objects and arrays")));
            }
            self.bump();
            self.skip_ws();
            Ok(at)
        }

        fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
            let open = self.open(depth)?;
            let mut members = Vec::new();
            if self.peek() == Some('}') {
                self.bump();
                return Ok(Kind::Object(members));
            }
            loop {
                members.push(self.member(depth)?);
                if !self.separator('}', open)? {
                    return Ok(Kind::Object(members));
                }
            }
        }

        fn member(&mut self, depth: usize) -> Result<Member, SyntaxError> {
            self.skip_ws();
            let key_at = self.pos;
            if self.peek() != Some('"') {
                return Err(self.unexpected("a key in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(':') {
                return Err(self.unexpected(&format!("':' after the key {}", quote(&key))));
            }
            self.bump();
            let value = self.value(depth)?;
            Ok(Member { key, key_at: Some(key_at), value })
        }

        fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
            let open = self.open(depth)?;
            let mut items = Vec::new();
            if self.peek() == Some(']') {
                self.bump();
                return Ok(Kind::Array(items));
            }
            loop {
                items.push(self.value(depth)?);
                if !self.separator(']', open)? {
                    return Ok(Kind::Array(items));
                }
            }
        }

        /// After an element: `,` and more to come (true), or the closing bracket (false).
        fn separator(&mut self, close: char, open: Pos) -> Result<bool, SyntaxError> {
            self.skip_ws();
            let noun = if close == '}' { "object" } else { "array" };
            match self.peek() {
                Some(',') => {
                    let comma = self.pos;
                    self.bump();
                    self.skip_ws();
                    if self.peek() == Some(close) {
                        return Err(error(comma, format!("trailing comma before {close}; remove the comma")));
                    }
                    Ok(true)
                }
                Some(c) if c == close => {
                    self.bump();
                    Ok(false)
                }
                None => Err(error(
                    self.pos,
                    format!(
                        "unexpected end of text; the {noun} opened at line {}, column {} is not closed: add '{close}'",
                        open.line, open.column
                    ),
                )),
                Some(c) if c == '"' || (close == ']' && self.value_ahead()) => {
                    Err(error(self.pos, "missing ',' before this; separate the elements with commas"))
                }
                Some(_) => Err(self.unexpected(&format!("',' or '{close}' to continue the {noun}"))),
            }
        }

        fn string(&mut self) -> Result<String, SyntaxError> {
            let open = self.pos;
            self.bump();
            let mut out = String::new();
            loop {
                let at = self.pos;
                match self.bump() {
                    None => return Err(error(open, "unterminated string: add the closing '\"'")),
                    Some('"') => return Ok(out),
                    Some('\\') => out.push(self.escape(at)?),
                    Some(c) if c < ' ' => return Err(error(at, control_message(c))),
                    Some(c) => out.push(c),
                }
            }
        }

        fn escape(&mut self, at: Pos) -> Result<char, SyntaxError> {
            Ok(match self.bump() {
                Some('"') => '"',
                Some('\\') => '\\',
                Some('/') => '/',
                Some('b') => '\u{8}',
                Some('f') => '\u{c}',
                Some('n') => '\n',
                Some('r') => '\r',
                Some('t') => '\t',
                Some('u') => return self.unicode_escape(at),
                Some(c) => {
                    let shown =
                        if c.is_ascii_graphic() { format!("\\{c}") } else { format!("\\ then U+{:04X}", u32::from(c)) };
                    return Err(error(
                        at,
                        format!("invalid escape {shown}; use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX"),
                    ));
                }
                None => return Err(error(at, "unterminated string: add the closing '\"'")),
            })
        }

        /// `\uXXXX`, or a UTF-16 surrogate pair `\uD83D\uDE00` (RFC 8259 §7).
        fn unicode_escape(&mut self, at: Pos) -> Result<char, SyntaxError> {
            let lone =
                || error(at, "invalid \\u escape: half of a surrogate pair (\\uD800-\\uDFFF) alone is not a character");
            let high = self.hex4(at)?;
            if (0xDC00..0xE000).contains(&high) {
                return Err(lone());
            }
            if !(0xD800..0xDC00).contains(&high) {
                return char::from_u32(high).ok_or_else(lone);
            }
            if !self.text[self.i..].starts_with("\\u") {
                return Err(lone());
            }
            self.bump();
            self.bump();
            let low = self.hex4(at)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(lone());
            }
            char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)).ok_or_else(lone)
        }

        fn hex4(&mut self, at: Pos) -> Result<u32, SyntaxError> {
            let mut value = 0;
            for _ in 0..4 {
                let Some(digit) = self.peek().and_then(|c| c.to_digit(16)) else {
                    return Err(error(at, "invalid \\u escape: \\u takes exactly 4 hex digits, as in \\u00e9"));
                };
                self.bump();
                value = value * 16 + digit;
            }
            Ok(value)
        }

        /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
        fn number(&mut self) -> Result<Number, SyntaxError> {
            let (at, start) = (self.pos, self.i);
            let valid = self.number_grammar();
            let glued = matches!(self.peek(), Some(c) if c.is_alphanumeric() || matches!(c, '.' | '+' | '-'));
            if !valid || glued {
                let token: String = self.text[start..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '+' | '-'))
                    .collect();
                return Err(error(
                    at,
                    format!(
                        "invalid number {}; write numbers like 12, -3 or 4.5e6 (no leading zeros, + sign or bare dot)",
                        quote(&token)
                    ),
                ));
            }
            let text = &self.text[start..self.i];
            text.parse().map_err(|_| error(at, format!("the number {text} is out of range")))
        }

        fn number_grammar(&mut self) -> bool {
            if self.peek() == Some('-') {
                self.bump();
            }
            match self.peek() {
                Some('0') => {
                    self.bump();
                }
                Some('1'..='9') => {
                    self.digits();
                }
                _ => return false,
            }
            if self.peek() == Some('.') {
                self.bump();
                if self.digits() == 0 {
                    return false;
                }
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                self.bump();
                if matches!(self.peek(), Some('+' | '-')) {
                    self.bump();
                }
                if self.digits() == 0 {
                    return false;
                }
            }
            true
        }

        fn digits(&mut self) -> usize {
            let mut n = 0;
            while matches!(self.peek(), Some('0'..='9')) {
                self.bump();
                n += 1;
            }
            n
        }
    }

    fn word_message(word: &str) -> String {
        let lower = word.to_ascii_lowercase();
        if ["true", "false", "null"].contains(&lower.as_str()) {
            format!("unexpected word {}; JSON's true, false and null are lowercase: {lower}", quote(word))
        } else {
            format!("unexpected word {}; text must be in double quotes: {}", quote(word), quote(word))
        }
    }

    fn control_message(c: char) -> String {
        match c {
            '\n' | '\r' => "line break inside a string; end the string before the line ends, or write \\n".to_owned(),
            '\t' => "tab inside a string; write it as \\t".to_owned(),
            c => {
                format!("control character U+{:04X} inside a string; write it as \\u{:04x}", u32::from(c), u32::from(c))
            }
        }
    }

    fn show_char(c: char) -> String {
        match c {
            c if c.is_ascii_graphic() => format!("'{c}'"),
            c if c.is_whitespace() => format!("U+{:04X}, a space JSON does not allow", u32::from(c)),
            c => format!("U+{:04X}", u32::from(c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_found_wherever_the_split_looks() {
        let doc = |v: Value| v.as_object().cloned().unwrap_or_default();
        let ext = SCIMBOX_USER_URN;
        assert!(!mentions_accounts(&doc(json!({"userName": "a", "emails": [{"value": "a@x"}]}))));
        assert!(!mentions_accounts(&doc(json!({ ext: {"access": []} }))));
        assert!(mentions_accounts(&doc(json!({"Accounts": []}))));
        assert!(mentions_accounts(&doc(json!({ format!("{ext}:accounts"): [] }))));
        assert!(mentions_accounts(&doc(json!({ ext: {"ACCOUNTS": []} }))));
        assert!(mentions_accounts(&doc(json!({ USER_URN: {"accounts": []} }))));
        // Without accounts, settling changes nothing and finds nothing, catalogue or not.
        let mut plain = doc(json!({"userName": "a", ext: {"note": 1}}));
        let before = plain.clone();
        assert_eq!(settle(&mut plain, &Catalogue::default()).map(|a| a.len()), Ok(0));
        assert_eq!(plain, before);
    }
    use serde_json::json;

    /// Registered ACC123, ACC200, ..., ACC700; roles Editor and Viewer.
    fn cat() -> Catalogue {
        let accounts = ["ACC123", "ACC200", "ACC300", "ACC400", "ACC500", "ACC600", "ACC700"];
        Catalogue {
            accounts: Some(accounts.iter().map(|a| a.to_string()).collect()),
            roles: Some(vec!["Editor".into(), "Viewer".into()]),
        }
    }

    fn open() -> Catalogue {
        Catalogue::default()
    }

    fn details(faults: &[PayloadFault]) -> Vec<String> {
        faults.iter().map(PayloadFault::detail).collect()
    }

    fn assignment(id: &str, roles: &[&str], teams: &[&str], status: Status) -> Assignment {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Assignment { account_id: id.into(), roles: strings(roles), teams: strings(teams), status }
    }

    /// Rule 1: every kind of syntax fault, at the exact line and column (in characters).
    #[test]
    fn syntax_faults_point_at_the_fault() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let cases: &[(&str, usize, usize, &str)] = &[
            (r#"{"accountId":"A",}"#, 1, 17, "trailing comma before }; remove the comma"),
            (r#"["A",]"#, 1, 5, "trailing comma before ]"),
            ("{\"accountId\":\"A\" // note\n}", 1, 18, "comments are not allowed in JSON"),
            (r#"{"accountId":"A", /* note */ "roles":"E"}"#, 1, 19, "comments are not allowed in JSON"),
            (r#"{'accountId':'A'}"#, 1, 2, "strings use double quotes"),
            (r#"{"accountId":'A'}"#, 1, 14, "strings use double quotes"),
            (r#"{"accountId":ACC123}"#, 1, 14, r#"unexpected word "ACC123"; text must be in double quotes"#),
            (r#"{accountId:"A"}"#, 1, 2, r#"unexpected word "accountId""#),
            (
                r#"{"accountId":"A","status":True}"#,
                1,
                27,
                r#"unexpected word "True"; JSON's true, false and null are lowercase: true"#,
            ),
            (r#"{"accountId":"A","x":nul}"#, 1, 22, r#"unexpected word "nul""#),
            (r#"{"accountId" "A"}"#, 1, 14, r#"expected ':' after the key "accountId", got '"'"#),
            (r#"{"accountId":"A" "roles":"E"}"#, 1, 18, "missing ',' before this"),
            (r#"[1 true]"#, 1, 4, "missing ',' before this"),
            (r#"{"a":1 ]"#, 1, 8, "expected ',' or '}' to continue the object, got ']'"),
            (r#"{,}"#, 1, 2, "expected a key in double quotes, got ','"),
            (r#"{"accountId":"A"#, 1, 14, "unterminated string"),
            ("{\"accountId\":\"A\nB\"}", 1, 16, "line break inside a string"),
            ("{\"accountId\":\"A\tB\"}", 1, 16, "tab inside a string; write it as \\t"),
            ("{\"accountId\":\"A\u{1}\"}", 1, 16, "control character U+0001 inside a string"),
            (r#"{"accountId":"A\qB"}"#, 1, 16, r"invalid escape \q; use"),
            (r#"{"accountId":"\u12G4"}"#, 1, 15, "\\u takes exactly 4 hex digits"),
            (r#"{"accountId":"\uD800"}"#, 1, 15, "half of a surrogate pair"),
            (r#"{"accountId":"\uDC00\uD800"}"#, 1, 15, "half of a surrogate pair"),
            (r#"{"accountId":"A","n":01}"#, 1, 22, r#"invalid number "01"; write numbers like 12"#),
            ("+1", 1, 1, r#"invalid number "+1""#),
            (".5", 1, 1, r#"invalid number ".5""#),
            ("[1.]", 1, 2, r#"invalid number "1.""#),
            ("[-]", 1, 2, r#"invalid number "-""#),
            ("[1e999]", 1, 2, "the number 1e999 is out of range"),
            (r#"{"accountId":"A"}}"#, 1, 18, "expected the end of the text after the JSON value, got '}'"),
            (r#"{"accountId":"A"},{"accountId":"B"}"#, 1, 18, "put them in an array: [{...}, {...}]"),
            ("", 1, 1, "unexpected end of text; expected a value"),
            ("  \n ", 2, 2, "unexpected end of text; expected a value"),
            (r#"{"accountId":"A""#, 1, 17, "the object opened at line 1, column 1 is not closed: add '}'"),
            (r#"[{"accountId":"A"}"#, 1, 19, "the array opened at line 1, column 1 is not closed: add ']'"),
            (&deep, 1, 65, "nesting deeper than 64 levels of objects and arrays"),
            // Columns count characters: é, ü, 名, 😀 are one column each.
            (r#"{"é":"ü",}"#, 1, 9, "trailing comma before }"),
            (r#"{"名前":"😀", x}"#, 1, 12, r#"unexpected word "x""#),
            ("{\n  \"accountId\": \"A\",\n}", 2, 19, "trailing comma before }"),
            ("{\r\n\"accountId\":\"A\",\r\n}", 2, 16, "trailing comma before }"),
            ("{\t'a':1}", 1, 3, "strings use double quotes"),
            ("{\u{a0}}", 1, 2, "got U+00A0, a space JSON does not allow"),
            ("\u{feff}{}", 1, 1, "got U+FEFF"),
        ];
        for (text, line, column, message) in cases {
            let faults = parse_payload(text, &open()).unwrap_err();
            let f = &faults[0];
            assert_eq!(faults.len(), 1, "{text:?}: {faults:?}");
            assert_eq!((f.scim_type, f.index), ("invalidSyntax", None), "{text:?}");
            assert_eq!((f.line, f.column), (Some(*line), Some(*column)), "{text:?}: {}", f.message);
            assert!(f.message.contains(message), "{text:?}: {}", f.message);
            if !text.starts_with("[[[") {
                assert!(serde_json::from_str::<Value>(text).is_err(), "serde_json accepts {text:?}");
            }
        }
    }

    /// Rules 2-5 on one payload: each fault with its exact detail.
    #[test]
    fn payload_rules() {
        let none_registered = Catalogue { accounts: Some(BTreeSet::new()), roles: None };
        let cases: &[(&str, &Catalogue, &[&str])] = &[
            (
                r#"{"acountId":"ACC123"}"#,
                &open(),
                &[r#"accounts (line 1, column 2): unknown key "acountId"; did you mean "accountId"?"#],
            ),
            (
                r#"{"AccountID":"ACC123"}"#,
                &open(),
                &[r#"accounts (line 1, column 2): unknown key "AccountID"; did you mean "accountId"?"#],
            ),
            (
                r#"{"accountId":"A","role":"Editor","Teams":"T","state":"Active"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 18): unknown key "role"; did you mean "roles"?"#,
                    r#"accounts (line 1, column 34): unknown key "Teams"; did you mean "teams"?"#,
                    r#"accounts (line 1, column 46): unknown key "state"; did you mean "status"?"#,
                ],
            ),
            (
                r#"{"accountId":"A","colour":"red"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 18): unknown key "colour"; a payload has only "accountId", "roles", "teams" and "status""#,
                ],
            ),
            (
                r#"{"roles":"Editor"}"#,
                &open(),
                &[r#"accounts: "accountId" is required, e.g. {"accountId":"ACC123","roles":"Editor"}"#],
            ),
            (
                r#"{"accountId":123}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 14): "accountId" must be a string, got the number 123; write it in quotes: "123""#,
                ],
            ),
            (
                r#"{"accountId":""}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 14): "accountId" must not be empty; give the account's id, e.g. "ACC123""#,
                ],
            ),
            (
                r#"{"accountId":null}"#,
                &open(),
                &[r#"accounts (line 1, column 14): "accountId" must be a string such as "ACC123", got null"#],
            ),
            (
                r#"{"accountId": "ACC999"}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 15): account "ACC999" is not registered (registered: ACC123, ACC200, ACC300, ACC400, ACC500 and 2 more)"#,
                ],
            ),
            (
                r#"{"accountId":"acc123"}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 14): account "acc123" is not registered (registered: ACC123, ACC200, ACC300, ACC400, ACC500 and 2 more); did you mean "ACC123"?"#,
                ],
            ),
            (
                r#"{"accountId":"ACC1"}"#,
                &none_registered,
                &[r#"accounts (line 1, column 14): account "ACC1" is not registered (registered: none yet)"#],
            ),
            (
                r#"{"accountId":"ACC123","roles":["Editor","Admin"]}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 41): role "Admin" is not in the roles catalogue (catalogued: Editor, Viewer)"#,
                ],
            ),
            (
                r#"{"accountId":"ACC123","roles":"Edtor"}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 31): role "Edtor" is not in the roles catalogue (catalogued: Editor, Viewer); did you mean "Editor"?"#,
                ],
            ),
            (
                r#"{"accountId":"A","roles":5}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 26): "roles" must be a string or an array of strings, e.g. "Editor" or ["Editor","Viewer"], got the number 5"#,
                ],
            ),
            (
                r#"{"accountId":"A","roles":["Editor",5,""],"teams":{}}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 36): "roles[1]" must be a non-empty string, got the number 5"#,
                    r#"accounts (line 1, column 38): "roles[2]" must be a non-empty string, got """#,
                    r#"accounts (line 1, column 50): "teams" must be a string or an array of strings, e.g. "Marketing" or ["Marketing","Sales"], got an object"#,
                ],
            ),
            (
                r#"{"accountId":"ACC123","roles":"Editor","status":"enabled"}"#,
                &cat(),
                &[r#"accounts (line 1, column 49): "status" must be "Active" or "Inactive", got "enabled""#],
            ),
            (
                r#"{"accountId":"A","status":true}"#,
                &open(),
                &[r#"accounts (line 1, column 27): "status" must be "Active" or "Inactive", got the boolean true"#],
            ),
            (
                r#"{"accountId":"A","accountId":"B"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 18): key "accountId" is given twice (first at line 1, column 2); give it once"#,
                ],
            ),
            (
                r#"["ACC123"]"#,
                &open(),
                &[
                    r#"accounts (line 1, column 1): a payload must be a JSON object such as {"accountId":"ACC123","roles":"Editor"}, got an array"#,
                ],
            ),
            (
                r#""ACC123""#,
                &open(),
                &[
                    r#"accounts (line 1, column 1): a payload must be a JSON object such as {"accountId":"ACC123","roles":"Editor"}, got "ACC123""#,
                ],
            ),
            (
                // Every fault of the payload at once; a long key is cut after 40 characters.
                r#"{"accountId":7,"rolesXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX":1,"status":"on"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 14): "accountId" must be a string, got the number 7; write it in quotes: "7""#,
                    r#"accounts (line 1, column 16): unknown key "rolesXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX..."; a payload has only "accountId", "roles", "teams" and "status""#,
                    r#"accounts (line 1, column 79): "status" must be "Active" or "Inactive", got "on""#,
                ],
            ),
        ];
        for (text, cat, want) in cases {
            let faults = parse_payload(text, cat).unwrap_err();
            assert_eq!(details(&faults), *want, "{text}");
            assert!(faults.iter().all(|f| f.scim_type == "invalidValue"), "{text}");
        }
    }

    /// Rules 2-4 on valid payloads: what is kept.
    #[test]
    fn valid_payloads() {
        use Status::{Active, Inactive};
        let cases: &[(&str, &Catalogue, Assignment)] = &[
            (r#"{"accountId":"ACC123"}"#, &cat(), assignment("ACC123", &[], &[], Active)),
            (
                r#"{"accountId":"ACC123","roles":"Editor","teams":"Marketing","status":"Active"}"#,
                &cat(),
                assignment("ACC123", &["Editor"], &["Marketing"], Active),
            ),
            (
                r#"{"accountId":"ACC123","roles":["viewer","EDITOR","Viewer"],"status":"INACTIVE"}"#,
                &cat(),
                assignment("ACC123", &["Viewer", "Editor"], &[], Inactive),
            ),
            (
                r#"{"accountId":"X","roles":["Any","Any"],"teams":["a","b"],"status":"inactive"}"#,
                &open(),
                assignment("X", &["Any"], &["a", "b"], Inactive),
            ),
            (
                r#"{"accountId":"X","roles":null,"teams":"","status":null}"#,
                &Catalogue { accounts: None, roles: Some(Vec::new()) },
                assignment("X", &[], &[], Active),
            ),
            (
                " {\n\t\"accountId\" : \"Z\\u00e9\\ud83d\\ude00\\n\" , \"roles\" : [ ] } \r\n",
                &open(),
                assignment("Zé😀\n", &[], &[], Active),
            ),
        ];
        for (text, cat, want) in cases {
            assert_eq!(parse_payload(text, cat).as_ref(), Ok(want), "{text}");
        }
    }

    /// The four forms of the attribute, and what counts as no payload.
    #[test]
    fn forms() {
        let a = r#"{"accountId":"ACC123","roles":"Editor"}"#;
        let b = r#"{"accountId":"ACC200","teams":["T"]}"#;
        let both = vec![
            assignment("ACC123", &["Editor"], &[], Status::Active),
            assignment("ACC200", &[], &["T"], Status::Active),
        ];
        let one = vec![both[0].clone()];
        let cases: Vec<(Value, Vec<Assignment>)> = vec![
            (json!([a, b]), both.clone()),                                          // Okta: strings
            (json!(format!("[{a},\n{b}]")), both.clone()),                          // Entra: one string, an array
            (json!(a), one.clone()),                                                // one string, one object
            (json!([{"accountId": "ACC123", "roles": "Editor"}, b]), both.clone()), // objects and strings
            (json!({"accountId": "ACC123", "roles": ["Editor"]}), one.clone()),     // one object
            (json!(format!("[{:?}]", a)), one.clone()),                             // Entra, strings inside
            (json!([null, "", a]), one),
            (json!(null), vec![]),
            (json!(""), vec![]),
            (json!([]), vec![]),
            (json!("[]"), vec![]),
        ];
        for (value, want) in cases {
            assert_eq!(parse_accounts(&value, &cat()), Ok(want), "{value}");
        }
    }

    /// Every fault across all payloads, each with its index and its position in its own text.
    #[test]
    fn all_faults_of_all_payloads() {
        let value = json!([
            r#"{"accountId":"ACC123"}"#,
            r#"{"acountId":"ACC200"}"#,
            r#"{"accountId": "ACC999"}"#,
            r#"{"accountId":"ACC300",}"#,
            {"accountId": "ACC400", "status": "on"},
            r#"{"accountId":"ACC123","roles":"Admin"}"#,
            5,
            "[{\"accountId\":\"ACC500\"}]",
        ]);
        let faults = parse_accounts(&value, &cat()).unwrap_err();
        type Row<'a> = (Option<usize>, Option<usize>, Option<usize>, &'a str);
        let got: Vec<Row<'_>> = faults.iter().map(|f| (f.index, f.line, f.column, f.scim_type)).collect();
        let want = [
            (Some(1), Some(1), Some(2), "invalidValue"),
            (Some(2), Some(1), Some(15), "invalidValue"),
            (Some(3), Some(1), Some(22), "invalidSyntax"),
            (Some(4), None, None, "invalidValue"),
            (Some(5), Some(1), Some(14), "invalidValue"),
            (Some(5), Some(1), Some(31), "invalidValue"),
            (Some(6), None, None, "invalidValue"),
            (Some(7), Some(1), Some(1), "invalidValue"),
        ];
        assert_eq!(got, want, "{:#?}", details(&faults));
        let d = details(&faults);
        assert_eq!(
            d[4],
            r#"accounts[5] (line 1, column 14): account "ACC123" is already given by accounts[0]; give each account once, with all its roles and teams in one payload"#
        );
        assert_eq!(d[3], r#"accounts[4]: "status" must be "Active" or "Inactive", got "on""#);
        assert!(d[6].starts_with("accounts[6]: a payload must be a JSON object such as"), "{}", d[6]);
        assert!(
            d[7].ends_with("got an array; send one payload per value, or the whole list as one string"),
            "{}",
            d[7]
        );
        let e = to_error(&faults);
        assert_eq!(e.scim_type, ScimType::InvalidValue);
        assert!(e.detail.starts_with("accounts[1] (line 1, column 2): unknown key \"acountId\""), "{}", e.detail);
        assert_eq!(e.detail.matches("; accounts[").count(), 7);
    }

    /// Entra's form: indexes in the inner array, positions within the one string.
    #[test]
    fn entra_positions_are_within_the_string() {
        let text = "[{\"accountId\":\"ACC123\"},\n {\"acountId\":\"ACC200\"},\n {\"accountId\":\"ACC123\"}]";
        let faults = parse_accounts(&json!(text), &cat()).unwrap_err();
        assert_eq!(
            details(&faults),
            [
                r#"accounts[1] (line 2, column 3): unknown key "acountId"; did you mean "accountId"?"#,
                r#"accounts[2] (line 3, column 15): account "ACC123" is already given by accounts[0]; give each account once, with all its roles and teams in one payload"#,
            ]
        );
        let faults =
            parse_accounts(&json!("[{\"accountId\":\"ACC123\"},\n {\"accountId\":\"ACC200\",}]"), &cat()).unwrap_err();
        assert_eq!(details(&faults), ["accounts (line 2, column 23): trailing comma before }; remove the comma"]);
        let faults = parse_accounts(&json!(5), &cat()).unwrap_err();
        assert!(faults[0].detail().starts_with("accounts: expected payload strings such as"), "{faults:?}");
    }

    /// The stored form is canonical and parses back to the same assignment.
    #[test]
    fn canonical_payload_round_trips() {
        let text = r#"{"status":"inactive","teams":"Marketing","roles":["editor","Editor"],"accountId":"ACC123"}"#;
        let a = parse_payload(text, &cat()).unwrap();
        let stored = a.to_payload();
        assert_eq!(stored, r#"{"accountId":"ACC123","roles":["Editor"],"teams":["Marketing"],"status":"Inactive"}"#);
        assert_eq!(parse_payload(&stored, &cat()), Ok(a.clone()));
        assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::from_str::<Value>(&stored).unwrap());
        let tricky = assignment("A\"\\é", &["r\n"], &[], Status::Active);
        assert_eq!(parse_payload(&tricky.to_payload(), &open()), Ok(tricky));
    }

    /// Edit distance and suggestions (rule 5 and the account and role hints).
    #[test]
    fn suggestions() {
        let cases: &[(&str, &str, usize)] = &[
            ("", "", 0),
            ("roles", "roles", 0),
            ("roels", "roles", 1),
            ("acountId", "accountId", 1),
            ("a", "abc", 2),
            ("kitten", "sitting", 3),
            ("é", "e", 1),
        ];
        for (a, b, d) in cases {
            assert_eq!(distance(a, b), *d, "{a} {b}");
        }
        let keys = || KEYS.into_iter();
        let cases: &[(&str, Option<&str>)] = &[
            ("acountId", Some("accountId")),
            ("AccountID", Some("accountId")),
            ("ACCOUNTID", Some("accountId")),
            ("account_id", Some("accountId")),
            ("account", Some("accountId")),
            ("role", Some("roles")),
            ("team", Some("teams")),
            ("Status", Some("status")),
            ("x", None),
            ("id", None),
            ("colour", None),
        ];
        for (word, want) in cases {
            assert_eq!(suggest(word, keys()), *want, "{word}");
        }
        assert_eq!(listing(["a", "b"].into_iter(), 2), "a, b");
        assert_eq!(listing(["1", "2", "3", "4", "5", "6"].into_iter(), 6), "1, 2, 3, 4, 5 and 1 more");
        assert_eq!(quote(&"é".repeat(50)), format!("\"{}...\"", "é".repeat(40)));
    }

    /// User bodies: `accounts` found wherever an IdP puts it, taken out of the body.
    #[test]
    fn user_bodies() {
        let p = r#"{"accountId":"ACC123"}"#;
        let ext = SCIMBOX_USER_URN;
        let cases: Vec<(Value, Result<usize, &str>)> = vec![
            (json!({"userName": "a", "accounts": [p]}), Ok(1)),
            (json!({"userName": "a", "Accounts": p}), Ok(1)),
            (json!({"userName": "a", format!("{ext}:accounts"): [p]}), Ok(1)),
            (json!({"userName": "a", ext: {"accounts": format!("[{p}]"), "access": []}}), Ok(1)),
            (json!({"userName": "a", format!("{USER_URN}:accounts"): [p]}), Ok(1)),
            (json!({"userName": "a", "accounts": null, ext: {"accounts": [p]}}), Ok(1)),
            (json!({"userName": "a"}), Ok(0)),
            (json!({"userName": "a", "accounts": [p], ext: {"accounts": [p]}}), Ok(1)),
            (
                json!({"userName": "a", "accounts": [p], ext: {"accounts": [r#"{"accountId":"ACC200"}"#]}}),
                Err(
                    r#"accounts: the accounts are given twice, differently, as "accounts" and as "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User:accounts"; send them once"#,
                ),
            ),
        ];
        for (body, want) in cases {
            let (rest, accounts) = Document::from(&body).split_user(&cat());
            assert!(rest.as_object().unwrap().keys().all(|k| !is_accounts_key(k)), "{rest}");
            assert!(rest.get(ext).and_then(|e| e.get("accounts")).is_none(), "{rest}");
            match want {
                Ok(n) => assert_eq!(accounts.map(|a| a.len()), Ok(n), "{body}"),
                Err(d) => assert_eq!(details(&accounts.unwrap_err()), [d], "{body}"),
            }
        }
        assert!(Document::parse(r#"{"SCHEMAS":[]}"#).unwrap().is_user_body());
        assert!(!Document::parse(r#"{"accountId":"a"}"#).unwrap().is_user_body());
        assert!(!Document::parse("[]").unwrap().is_user_body());
    }

    /// Huge and deeply nested inputs: no stack overflow, the depth is reported.
    #[test]
    fn huge_and_deep_inputs() {
        for text in ["[".repeat(100_000), "{\"a\":".repeat(100_000), format!("{}1{}", "[".repeat(64), "]".repeat(64))] {
            let r = Document::parse(&text);
            if text.starts_with("[[") && text.contains('1') {
                assert!(r.is_ok(), "64 levels are allowed");
            } else {
                assert_eq!(r.unwrap_err().message, "nesting deeper than 64 levels of objects and arrays");
            }
        }
        let deep = (0..200).fold(json!("x"), |v, _| json!([v]));
        assert!(parse_accounts(&deep, &open()).is_err());
        let long = format!(r#"{{"accountId":"{}"}}"#, "é".repeat(1_000_000));
        assert!(parse_payload(&long, &cat()).unwrap_err()[0].message.len() < 200);
        let many: Vec<String> = (0..10_000).map(|i| format!(r#"{{"accountId":"A{i}","x":1}}"#)).collect();
        assert_eq!(parse_accounts(&json!(many), &open()).unwrap_err().len(), 10_000);
    }

    /// A few thousand mutated payloads and bodies: nothing panics, and the strict parser agrees
    /// with serde_json on what is JSON and what it means.
    #[test]
    fn mutated_inputs_never_panic() {
        let seeds = [
            r#"{"accountId":"ACC123","roles":["Editor","Viewer"],"teams":"Marketing","status":"Active"}"#,
            r#"[{"accountId":"ACC123"},"{\"accountId\":\"ACC200\",\"roles\":\"Editor\"}"]"#,
            r#"{"userName":"bjensen","active":"True","accounts":["{\"accountId\":\"ACC123\"}"],"emails":[{"value":"a@x","primary":true}]}"#,
            "{\"accountId\":\"Zé😀\\u00e9\\ud83d\\ude00\",\n\t\"status\": -1.5e3, \"x\": [true, false, null, 0]}",
        ];
        let alphabet: Vec<char> = "{}[]\":,\\/'*-+.0123456789eEtrufalsnA \n\t\ru\u{0}é😀".chars().collect();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for round in 0..4000 {
            let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
            for _ in 0..1 + next(4) {
                let at = next(chars.len() + 1);
                match next(3) {
                    0 => chars.insert(at, alphabet[next(alphabet.len())]),
                    1 if at < chars.len() => drop(chars.remove(at)),
                    _ if at < chars.len() => chars[at] = alphabet[next(alphabet.len())],
                    _ => {}
                }
            }
            let text: String = chars.into_iter().collect();
            let ours = json::parse(&text);
            let theirs = serde_json::from_str::<Value>(&text);
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{text:?}: {ours:?} / {theirs:?}");
            if let (Ok(node), Ok(value)) = (&ours, &theirs) {
                assert_eq!(&node.to_value(), value, "{text:?}");
            }
            let _ = parse_payload(&text, &cat());
            let _ = parse_accounts(&json!(text), &cat());
            let _ = parse_accounts(&json!([text]), &open());
            let _ = crate::check::check_payloads(&text, &cat());
            let _ = crate::check::check_user(&text);
        }
    }
}
