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
    TreeIndex::new(tree).effective_access(grants, user_active)
}

/// The account tree indexed once for many users (a list page renders up to 1,000): each
/// user's access then costs the accounts its grants reach, not a walk of the whole tree.
#[derive(Debug, Clone, Default)]
pub struct TreeIndex {
    /// Account ids in tree order.
    ids: Vec<String>,
    /// Each account's position in `ids`.
    pos: HashMap<String, usize>,
    /// Each account's children, by position.
    children: Vec<Vec<usize>>,
}

impl TreeIndex {
    /// Indexes `tree` (parents listed before their children).
    pub fn new(tree: &Tree) -> Self {
        let ids: Vec<String> = tree.iter().map(|(id, _)| id.clone()).collect();
        let pos: HashMap<String, usize> = ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        let mut children = vec![Vec::new(); ids.len()];
        for (i, (_, parent)) in tree.iter().enumerate() {
            if let Some(&p) = parent.as_deref().and_then(|p| pos.get(p)) {
                children[p].push(i);
            }
        }
        Self { ids, pos, children }
    }

    /// [`effective_access`] over this tree. Each granted account's subtree is walked down to
    /// the accounts with an explicit grant of their own (theirs is nearer); every account is
    /// visited at most once, so a cycle written by hand ends the walk.
    pub fn effective_access(&self, grants: &[Assignment], user_active: bool) -> Vec<Access> {
        let explicit: HashMap<&str, &Assignment> = grants.iter().map(|g| (g.account_id.as_str(), g)).collect();
        let mut reached: BTreeMap<usize, (&Assignment, usize)> = BTreeMap::new();
        for (&id, &grant) in &explicit {
            let Some(&start) = self.pos.get(id) else { continue };
            let mut stack = vec![start];
            while let Some(at) = stack.pop() {
                if reached.contains_key(&at) || (at != start && explicit.contains_key(self.ids[at].as_str())) {
                    continue;
                }
                reached.insert(at, (grant, start));
                stack.extend(self.children[at].iter().copied());
            }
        }
        let mut out: Vec<Access> = reached
            .into_iter()
            .map(|(at, (grant, from))| {
                let inherited = (from != at).then(|| self.ids[from].clone());
                entry(&self.ids[at], grant, inherited, user_active)
            })
            .collect();
        for g in grants.iter().filter(|g| !self.pos.contains_key(g.account_id.as_str())) {
            out.push(entry(&g.account_id, g, None, user_active));
        }
        out
    }
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

    /// The walk of the index is the per-account walk up to the nearest grant it replaced, on
    /// every forest of up to 12 accounts a small generator makes, with grants on any of them.
    #[test]
    fn the_index_agrees_with_the_walk_up_to_the_nearest_grant() {
        fn walk_up(grants: &[Assignment], tree: &Tree, user_active: bool) -> Vec<Access> {
            let explicit: HashMap<&str, &Assignment> = grants.iter().map(|g| (g.account_id.as_str(), g)).collect();
            let parent: HashMap<&str, Option<&str>> = tree.iter().map(|(id, p)| (id.as_str(), p.as_deref())).collect();
            let mut out = Vec::new();
            for (id, _) in tree {
                let mut at = Some(id.as_str());
                while let Some(here) = at {
                    if let Some(g) = explicit.get(here) {
                        out.push(entry(id, g, (here != id).then(|| here.to_owned()), user_active));
                        break;
                    }
                    at = parent.get(here).copied().flatten();
                }
            }
            let known: Vec<&str> = tree.iter().map(|(id, _)| id.as_str()).collect();
            out.extend(
                grants
                    .iter()
                    .filter(|g| !known.contains(&g.account_id.as_str()))
                    .map(|g| entry(&g.account_id, g, None, user_active)),
            );
            out
        }
        let mut seed = 7_u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        for _ in 0..500 {
            let n = 1 + next(12) as usize;
            // Parents come before children (as the registry lists them): a parent among the earlier.
            let t: Vec<(String, Option<String>)> = (0..n)
                .map(|i| (format!("A{i}"), (i > 0 && next(3) > 0).then(|| format!("A{}", next(i as u64)))))
                .collect();
            let grants: Vec<Assignment> = (0..n + 1)
                .filter(|_| next(3) == 0)
                .map(|i| grant(&format!("A{i}"), &format!("r{i}"), Status::Active))
                .collect();
            assert_eq!(effective_access(&grants, &t, true), walk_up(&grants, &t, true), "{t:?} {grants:?}");
        }
    }

    #[test]
    fn unknown_accounts_and_cycles() {
        let t = tree(&[("X", Some("Y")), ("Y", Some("X"))]);
        assert!(effective_access(&[grant("Z", "r", Status::Active)], &t, true).iter().all(|a| a.account_id == "Z"));
        assert_eq!(effective_access(&[grant("X", "r", Status::Active)], &t, true).len(), 2);
    }
}
