//! Effective access: what a user's `accounts` payloads grant once the account tree is applied.
//!
//! Rules: a grant on an account reaches every descendant (`inheritedFrom` names the account that
//! granted it, the nearest ancestor with an explicit grant); an explicit grant on an account
//! overrides what it would inherit; a deactivated user (`active: false`) keeps its payloads but
//! every entry is `Inactive`. Entries come in the account tree's order (parents before children),
//! then grants on accounts the tree does not know (an account removed after the grant).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::accounts::{Assignment, Status};

/// One account a user may (or, when `Inactive`, may no longer) enter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// The account.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// Roles in it.
    pub roles: Vec<String>,
    /// Teams in it.
    pub teams: Vec<String>,
    /// `Active` or `Inactive`.
    pub status: Status,
    /// The ancestor whose grant this is, when inherited.
    #[serde(rename = "inheritedFrom", skip_serializing_if = "Option::is_none")]
    pub inherited_from: Option<String>,
}

/// The registered accounts as `(id, parent)` pairs, parents listed before their children.
pub type Tree = [(String, Option<String>)];

/// Computes a user's effective access (see the module documentation).
///
/// ```
/// use scimbox_validator::access::effective_access;
/// use scimbox_validator::accounts::{Assignment, Status};
/// let tree = [("P".to_string(), None), ("C".to_string(), Some("P".to_string()))];
/// let grant = Assignment { account_id: "P".into(), roles: vec!["Editor".into()], teams: vec![], status: Status::Active };
/// let access = effective_access(&[grant], &tree, true);
/// assert_eq!(access[1].account_id, "C");
/// assert_eq!(access[1].inherited_from.as_deref(), Some("P"));
/// ```
pub fn effective_access(grants: &[Assignment], tree: &Tree, user_active: bool) -> Vec<Access> {
    let explicit: HashMap<&str, &Assignment> = grants.iter().map(|g| (g.account_id.as_str(), g)).collect();
    let parent: HashMap<&str, Option<&str>> = tree.iter().map(|(id, p)| (id.as_str(), p.as_deref())).collect();
    let mut out = Vec::new();
    for (id, _) in tree {
        if let Some((grant, from)) = nearest_grant(id, &explicit, &parent) {
            out.push(entry(id, grant, (from != id).then(|| from.to_owned()), user_active));
        }
    }
    let known: BTreeMap<&str, ()> = tree.iter().map(|(id, _)| (id.as_str(), ())).collect();
    for g in grants.iter().filter(|g| !known.contains_key(g.account_id.as_str())) {
        out.push(entry(&g.account_id, g, None, user_active));
    }
    out
}

/// The explicit grant on `id` or on its nearest ancestor, with the account that holds it.
/// Cycle-safe: the walk stops after visiting as many accounts as the tree has.
fn nearest_grant<'a>(
    id: &'a str,
    explicit: &HashMap<&str, &'a Assignment>,
    parent: &HashMap<&'a str, Option<&'a str>>,
) -> Option<(&'a Assignment, &'a str)> {
    let mut at = Some(id);
    for _ in 0..=parent.len() {
        let here = at?;
        if let Some(g) = explicit.get(here) {
            return Some((g, here));
        }
        at = parent.get(here).copied().flatten();
    }
    None
}

fn entry(id: &str, g: &Assignment, inherited_from: Option<String>, user_active: bool) -> Access {
    Access {
        account_id: id.to_owned(),
        roles: g.roles.clone(),
        teams: g.teams.clone(),
        status: if user_active { g.status } else { Status::Inactive },
        inherited_from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: &str, role: &str, status: Status) -> Assignment {
        Assignment { account_id: id.into(), roles: vec![role.into()], teams: vec![], status }
    }

    fn tree(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        pairs.iter().map(|(a, p)| (a.to_string(), p.map(str::to_string))).collect()
    }

    #[test]
    fn parent_grants_reach_descendants_and_explicit_grants_override() {
        let t = tree(&[("A", None), ("A1", Some("A")), ("A11", Some("A1")), ("A2", Some("A")), ("B", None)]);
        let grants = [grant("A", "Viewer", Status::Active), grant("A1", "Editor", Status::Active)];
        let got: Vec<(String, String, Option<String>)> = effective_access(&grants, &t, true)
            .into_iter()
            .map(|a| (a.account_id, a.roles[0].clone(), a.inherited_from))
            .collect();
        let want =
            [("A", "Viewer", None), ("A1", "Editor", None), ("A11", "Editor", Some("A1")), ("A2", "Viewer", Some("A"))];
        let want: Vec<_> = want.iter().map(|(a, r, f)| (a.to_string(), r.to_string(), f.map(str::to_string))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn inactive_users_and_grants() {
        let t = tree(&[("A", None), ("A1", Some("A"))]);
        let access = effective_access(&[grant("A", "Viewer", Status::Active)], &t, false);
        assert!(access.iter().all(|a| a.status == Status::Inactive));
        let access = effective_access(&[grant("A", "Viewer", Status::Inactive)], &t, true);
        assert_eq!(access[1].status, Status::Inactive, "an inactive grant is inherited as inactive");
    }

    #[test]
    fn unknown_accounts_and_cycles() {
        let t = tree(&[("X", Some("Y")), ("Y", Some("X"))]);
        assert!(effective_access(&[grant("Z", "r", Status::Active)], &t, true).iter().all(|a| a.account_id == "Z"));
        assert_eq!(effective_access(&[grant("X", "r", Status::Active)], &t, true).len(), 2);
    }
}
