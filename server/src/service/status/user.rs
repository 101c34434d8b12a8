//! One user's view: its attributes, its effective access (typed, as the SCIM API computes it for
//! `GET /Users/{id}?attributes=...:access`) laid out as a tree, its groups, the changes recorded
//! and the requests that named it.

use std::collections::HashMap;

use scimbox_validator::access::Access;
use scimbox_validator::accounts::Status;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::journal::Request;
use super::{Change, HISTORY};
use crate::clock;
use crate::db::Db;
use crate::db::accounts::{self, TreeEntry};
pub use crate::db::groups::Membership;
use crate::db::journal as store;
use crate::db::{groups, users};
use crate::service::Result;

/// One account the user has access to, in the order of the tree it belongs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// How many accounts the user also has access to are above it (0: at the top).
    pub depth: usize,
    /// The account's id.
    pub account_id: String,
    /// Its registered name, if it is registered.
    pub name: Option<String>,
    /// Roles in it.
    pub roles: Vec<String>,
    /// Teams in it.
    pub teams: Vec<String>,
    /// Whether the grant is in force.
    pub active: bool,
    /// The ancestor whose grant reaches this account, when inherited.
    pub inherited_from: Option<String>,
}

/// One user's view.
#[derive(Debug, Clone)]
pub struct UserView {
    /// When it was read.
    pub at: OffsetDateTime,
    /// The SCIM id.
    pub id: String,
    /// Its userName (its id if it somehow has none).
    pub user_name: String,
    /// Whether it is active.
    pub active: bool,
    /// Its version (`meta.version` is `W/"<version>"`).
    pub version: i64,
    /// `meta.created`.
    pub created: String,
    /// `meta.lastModified`.
    pub last_modified: String,
    /// Its attributes as stored (without id, meta, schemas).
    pub doc: Map<String, Value>,
    /// Its effective access: each account under the nearest ancestor it also has access to.
    pub access: Vec<AccessEntry>,
    /// The groups it belongs to, directly or not.
    pub groups: Vec<Membership>,
    /// The latest [`HISTORY`] changes recorded, newest first.
    pub changes: Vec<Change>,
    /// The latest [`HISTORY`] requests that named it, newest first.
    pub requests: Vec<Request>,
}

/// The user with this id, if there is one.
pub async fn user(db: &Db, id: String) -> Result<Option<UserView>> {
    let found = db
        .read(move |c| {
            let Some(row) = users::get(c, &id)? else { return Ok(None) };
            let access = crate::service::users::access_of(c, &row.doc)?;
            let tree = accounts::list(c)?;
            let groups = groups::memberships(c, &id)?;
            let changes = store::changes_for(c, "User", &id, HISTORY)?;
            let requests = store::for_resource(c, "User", &id, HISTORY)?;
            Ok(Some((row, access_tree(&access, &tree), groups, changes, requests)))
        })
        .await?;
    let Some((row, access, groups, changes, requests)) = found else { return Ok(None) };
    Ok(Some(UserView {
        at: clock::now(),
        user_name: row.doc.get("userName").and_then(Value::as_str).unwrap_or(&row.id).to_owned(),
        active: row.doc.get("active").and_then(Value::as_bool).unwrap_or(true),
        id: row.id,
        version: row.version,
        created: row.created,
        last_modified: row.last_modified,
        doc: row.doc,
        access,
        groups,
        changes,
        requests: requests.into_iter().map(Request::new).collect(),
    }))
}

/// The access list in tree order: each account under the nearest ancestor the user also has
/// access to (the registry's order, parents before children), then the accounts the registry
/// does not know, at the top.
fn access_tree(access: &[Access], tree: &[TreeEntry]) -> Vec<AccessEntry> {
    let parents: HashMap<&str, Option<&str>> =
        tree.iter().map(|e| (e.account.id.as_str(), e.account.parent_id.as_deref())).collect();
    let names: HashMap<&str, &str> = tree.iter().map(|e| (e.account.id.as_str(), e.account.name.as_str())).collect();
    let granted: HashMap<&str, &Access> = access.iter().map(|a| (a.account_id.as_str(), a)).collect();
    let depth = |id: &str| {
        let (mut d, mut steps) = (0, 0);
        let mut cur = parents.get(id).copied().flatten();
        // Bounded by the tree's size, should the registry ever hold a cycle.
        while let Some(p) = cur.filter(|_| steps < tree.len()) {
            d += usize::from(granted.contains_key(p));
            steps += 1;
            cur = parents.get(p).copied().flatten();
        }
        d
    };
    let known = tree.iter().filter_map(|e| granted.get(e.account.id.as_str()).map(|a| (depth(&e.account.id), *a)));
    let unknown = access.iter().filter(|a| !parents.contains_key(a.account_id.as_str())).map(|a| (0, a));
    known
        .chain(unknown)
        .map(|(depth, a)| AccessEntry {
            depth,
            account_id: a.account_id.clone(),
            name: names.get(a.account_id.as_str()).map(|n| (*n).to_owned()),
            roles: a.roles.clone(),
            teams: a.teams.clone(),
            active: !matches!(a.status, Status::Inactive),
            inherited_from: a.inherited_from.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::accounts::Account;

    fn account(id: &str, parent: Option<&str>) -> TreeEntry {
        let account = Account {
            id: id.into(),
            name: format!("{id} Corp"),
            parent_id: parent.map(Into::into),
            created: String::new(),
        };
        TreeEntry { account, depth: 0 }
    }

    fn grant(id: &str, status: Status, from: Option<&str>) -> Access {
        Access {
            account_id: id.into(),
            roles: vec!["Editor".into()],
            teams: Vec::new(),
            status,
            inherited_from: from.map(Into::into),
        }
    }

    #[test]
    fn access_nests_under_the_nearest_granted_ancestor() {
        // A > B > C, the user has A and C (through A) but not B; X is not registered.
        let tree = [account("A", None), account("B", Some("A")), account("C", Some("B")), account("D", None)];
        let access = [
            grant("X", Status::Active, None),
            grant("C", Status::Inactive, Some("A")),
            grant("A", Status::Active, None),
        ];
        let entries = access_tree(&access, &tree);
        let got: Vec<(usize, &str, Option<&str>, bool)> =
            entries.iter().map(|e| (e.depth, e.account_id.as_str(), e.name.as_deref(), e.active)).collect();
        assert_eq!(got, [(0, "A", Some("A Corp"), true), (1, "C", Some("C Corp"), false), (0, "X", None, true)]);
    }
}
