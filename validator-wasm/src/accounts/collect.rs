//! The rules (2-6): the [`Collector`] walks a parsed `accounts` value and turns each payload into
//! an [`Assignment`] or faults.

use std::collections::{BTreeMap, BTreeSet};

use super::json::{self, Kind, Member, Node, Origin, Pos};
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
            Kind::String(s) => self.text(s, node.origin(), None, true),
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
        if let [item @ Node { kind: Kind::String(s), .. }] = items
            && s.trim_start().starts_with('[')
        {
            return self.text(s, item.origin(), None, true);
        }
        for (i, item) in items.iter().enumerate() {
            match &item.kind {
                Kind::Null => {}
                Kind::String(s) if s.is_empty() => {}
                Kind::String(s) => self.text(s, item.origin(), Some(i), false),
                _ => self.payload(item, Some(i)),
            }
        }
    }

    /// A string holding a payload, or (when `whole`, Entra's form) a JSON array of payloads.
    /// With an `origin` (the string was read from a text), positions are in that text;
    /// otherwise in the string itself.
    pub(super) fn text(&mut self, text: &str, origin: Option<Origin<'_>>, index: Option<usize>, whole: bool) {
        match json::parse_in(text, origin) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use crate::accounts::fixtures::{assignment, cat, details, open};
    use crate::accounts::*;
    use crate::error::ScimType;

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
}
