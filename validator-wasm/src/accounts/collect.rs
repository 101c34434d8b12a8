//! The rules (2-6): the [`Collector`] walks a parsed `accounts` value and turns each payload into
//! an [`Assignment`] or faults.

use std::collections::{BTreeMap, BTreeSet};

use super::json::{self, Kind, Member, Node, Pos};
use super::messages::{describe, did_you_mean, first_at, listing, not_payload, quote, suggest, unknown_key};
use super::{Assignment, Catalogue, EXAMPLE, KEYS, PayloadFault, Status};
use crate::error::ScimType;
use crate::text::fold;

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
pub(super) struct Collector<'c> {
    cat: &'c Catalogue,
    /// Folded role name -> catalogue spelling; empty when any role is accepted.
    roles: BTreeMap<String, &'c str>,
    out: Vec<Assignment>,
    faults: Vec<PayloadFault>,
    /// Account id -> index of the payload that gave it first (rule 6).
    seen: BTreeMap<String, Option<usize>>,
}

impl<'c> Collector<'c> {
    pub(super) fn new(cat: &'c Catalogue) -> Self {
        let roles = cat.roles.iter().flatten().map(|r| (fold(r).into_owned(), r.as_str())).collect();
        Self { cat, roles, out: Vec::new(), faults: Vec::new(), seen: BTreeMap::new() }
    }

    pub(super) fn finish(self) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
        if self.faults.is_empty() { Ok(self.out) } else { Err(self.faults) }
    }

    fn fault(&mut self, index: Option<usize>, at: Option<Pos>, message: String) {
        self.faults.push(PayloadFault::new(ScimType::InvalidValue, index, at, message));
    }

    /// The attribute value: one of the four forms of [`parse_accounts`](super::parse_accounts).
    pub(super) fn value(&mut self, node: &Node) {
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
    pub(super) fn text(&mut self, text: &str, index: Option<usize>, whole: bool) {
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
