//! SQL for the accounts registry and the roles catalogue (`migrations/V3__accounts.sql`).
//!
//! Accounts form trees through `parent_id`, and every change made here keeps them trees: [`add`]
//! needs an existing parent, [`move_to`] refuses to put an account under itself or one of its
//! descendants, and [`remove`] refuses an account that still has children. The recursive queries
//! ([`ancestors`], [`descendants`]) and [`list`] still stop on a cycle written by hand.
//!
//! The functions that check and then write ([`add`], [`move_to`], [`remove`], [`add_role`],
//! [`remove_role`]) expect to run inside one transaction (a writer job of [`super::Db`], or the
//! CLI's `BEGIN IMMEDIATE`), so that no concurrent change slips between the check and the write.

use std::collections::{BTreeSet, HashMap};

use super::sql::{Connection, OptionalExtension, params};
use scimbox_validator::accounts::Catalogue;

use super::StoreError;
use super::changes::{self, Action};

/// A registered account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// What IdP payloads name it by (`accountId`); compared exactly.
    pub id: String,
    /// Its name for people, such as "Acme Corp".
    pub name: String,
    /// The account it belongs under; `None` for a root.
    pub parent_id: Option<String>,
    /// When it was registered.
    pub created: String,
}

/// An account in tree order, with how deep it sits (0 for a root).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TreeEntry {
    /// The account.
    #[serde(flatten)]
    pub account: Account,
    /// The number of ancestors it has.
    pub depth: usize,
}

/// A catalogued role.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Role {
    /// The role's name as first added (matched case-insensitively).
    pub name: String,
    /// When it was added.
    pub created: String,
}

/// Registers an account, under `parent` if given. `Conflict` if the id is taken, `NotFound` if
/// the parent is not registered. The id and the name are checked by the caller
/// (`service::accounts`).
pub fn add(conn: &Connection, id: &str, name: &str, parent: Option<&str>, created: &str) -> Result<(), StoreError> {
    if let Some(existing) = find(conn, id)? {
        return Err(StoreError::Conflict(format!("account {id} already exists (\"{}\")", existing.name)));
    }
    if let Some(p) = parent {
        get(conn, p)?;
    }
    conn.execute(
        "INSERT INTO accounts (id, name, parent_id, created) VALUES (?1, ?2, ?3, ?4)",
        params![id, name, parent, created],
    )?;
    let after = serde_json::json!({"name": name, "parent": parent});
    changes::record_account(conn, id, Action::Created, None, Some(after), created)
}

/// What the change history shows of an account.
fn snapshot(a: &Account) -> serde_json::Value {
    serde_json::json!({"name": a.name, "parent": a.parent_id})
}

/// The account with this id, if registered.
pub fn find(conn: &Connection, id: &str) -> Result<Option<Account>, StoreError> {
    conn.query_row("SELECT id, name, parent_id, created FROM accounts WHERE id = ?1", [id], account_row)
        .optional()
        .map_err(Into::into)
}

/// The account with this id; `NotFound` if it is not registered.
pub fn get(conn: &Connection, id: &str) -> Result<Account, StoreError> {
    find(conn, id)?.ok_or(StoreError::NotFound)
}

fn account_row(r: &super::sql::Row<'_>) -> super::sql::Result<Account> {
    Ok(Account { id: r.get(0)?, name: r.get(1)?, parent_id: r.get(2)?, created: r.get(3)? })
}

/// Every account as a tree: each parent before its children, siblings in id order.
pub fn list(conn: &Connection) -> Result<Vec<TreeEntry>, StoreError> {
    let mut stmt = conn.prepare("SELECT id, name, parent_id, created FROM accounts ORDER BY id")?;
    let all = stmt.query_map([], account_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(tree_order(all))
}

/// Orders accounts (given in id order) depth-first from the roots. Accounts on a cycle, which no
/// root reaches, follow as if the first of them were a root, so none is ever left out.
fn tree_order(all: Vec<Account>) -> Vec<TreeEntry> {
    let index: HashMap<&str, usize> = all.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    let mut kids = vec![Vec::new(); all.len()];
    let mut roots = Vec::new();
    for (i, a) in all.iter().enumerate() {
        match a.parent_id.as_deref().and_then(|p| index.get(p)) {
            Some(&p) => kids[p].push(i),
            None => roots.push(i),
        }
    }
    let mut seen = vec![false; all.len()];
    let mut order = Vec::with_capacity(all.len());
    for start in roots.into_iter().chain(0..all.len()) {
        walk(start, &kids, &mut seen, &mut order);
    }
    let mut slots: Vec<Option<Account>> = all.into_iter().map(Some).collect();
    order.into_iter().filter_map(|(i, depth)| Some(TreeEntry { account: slots[i].take()?, depth })).collect()
}

/// Depth-first, pre-order walk from `start`, appending `(index, depth)` of each unseen account.
fn walk(start: usize, kids: &[Vec<usize>], seen: &mut [bool], order: &mut Vec<(usize, usize)>) {
    let mut stack = vec![(start, 0)];
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        order.push((i, depth));
        stack.extend(kids[i].iter().rev().map(|&k| (k, depth + 1)));
    }
}

/// The ids of the accounts directly under `id`, in id order.
pub fn children(conn: &Connection, id: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT id FROM accounts WHERE parent_id = ?1 ORDER BY id")?;
    let ids = stmt.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Unregisters an account. Refused (`Conflict`, naming them) while it has child accounts;
/// `NotFound` if it is not registered.
///
/// Removing an account that users' payloads still name is allowed: payloads are not foreign keys.
/// Their access to it simply no longer resolves, and comes back if the id is registered again.
pub fn remove(conn: &Connection, id: &str, now: &str) -> Result<(), StoreError> {
    let before = get(conn, id)?;
    let kids = children(conn, id)?;
    if !kids.is_empty() {
        return Err(StoreError::Conflict(format!(
            "account {id} still has child accounts: {}; move or remove them first",
            kids.join(", ")
        )));
    }
    conn.execute("DELETE FROM accounts WHERE id = ?1", [id])?;
    changes::record_account(conn, id, Action::Deleted, Some(snapshot(&before)), None, now)
}

/// Moves an account under `parent`, or makes it a root with `None`. `NotFound` if either is not
/// registered; `Conflict`, naming the path, if `parent` is the account itself or one of its
/// descendants (the move would make a cycle).
pub fn move_to(conn: &Connection, id: &str, parent: Option<&str>, now: &str) -> Result<(), StoreError> {
    let before = get(conn, id)?;
    if let Some(p) = parent {
        get(conn, p)?;
        refuse_cycle(conn, id, p)?;
    }
    conn.execute("UPDATE accounts SET parent_id = ?2 WHERE id = ?1", params![id, parent])?;
    let after = Account { parent_id: parent.map(str::to_owned), ..before.clone() };
    changes::record_account(conn, id, Action::Updated, Some(snapshot(&before)), Some(snapshot(&after)), now)
}

/// `Conflict` if putting `id` under `parent` would make a cycle.
fn refuse_cycle(conn: &Connection, id: &str, parent: &str) -> Result<(), StoreError> {
    if id == parent {
        return Err(StoreError::Conflict(format!("cannot move account {id} under itself")));
    }
    let up = ancestors(conn, parent)?;
    let Some(pos) = up.iter().position(|a| a == id) else {
        return Ok(());
    };
    let mut path: Vec<&str> = up[..=pos].iter().rev().map(String::as_str).collect();
    path.push(parent);
    Err(StoreError::Conflict(format!(
        "cannot move account {id} under {parent}: {parent} is one of its descendants ({}), so this would make a cycle",
        path.join(" > ")
    )))
}

/// The ids of the accounts above `id`, nearest first (its parent, then that one's parent...).
/// Empty for a root or an unregistered id. Stops on a cycle.
pub fn ancestors(conn: &Connection, id: &str) -> Result<Vec<String>, StoreError> {
    // UNION drops repeated (id, depth) rows and the depth bound ends a walk round a cycle; the
    // outer query keeps each account once, at its nearest depth.
    let sql = "WITH RECURSIVE up(id, depth) AS (
                   SELECT parent_id, 1 FROM accounts WHERE id = ?1 AND parent_id IS NOT NULL
                   UNION
                   SELECT a.parent_id, up.depth + 1 FROM up JOIN accounts a ON a.id = up.id
                   WHERE a.parent_id IS NOT NULL AND up.depth < (SELECT count(*) FROM accounts)
               )
               SELECT id FROM up WHERE id <> ?1 GROUP BY id ORDER BY min(depth)";
    collect_ids(conn, sql, id)
}

/// The ids of every account below `id` (children, grandchildren...), nearest first and in id
/// order within a level. Empty for a leaf or an unregistered id. Stops on a cycle.
pub fn descendants(conn: &Connection, id: &str) -> Result<Vec<String>, StoreError> {
    let sql = "WITH RECURSIVE down(id, depth) AS (
                   SELECT id, 1 FROM accounts WHERE parent_id = ?1
                   UNION
                   SELECT a.id, down.depth + 1 FROM down JOIN accounts a ON a.parent_id = down.id
                   WHERE down.depth < (SELECT count(*) FROM accounts)
               )
               SELECT id FROM down WHERE id <> ?1 GROUP BY id ORDER BY min(depth), id";
    collect_ids(conn, sql, id)
}

fn collect_ids(conn: &Connection, sql: &str, id: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let ids = stmt.query_map([id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(ids)
}

/// The ids of all registered accounts.
pub fn ids(conn: &Connection) -> Result<BTreeSet<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT id FROM accounts")?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(ids)
}

/// What payloads are checked against: every registered account id and the roles catalogue (an
/// empty catalogue accepts any role).
pub fn catalogue(conn: &Connection) -> Result<Catalogue, StoreError> {
    let roles = roles(conn)?.into_iter().map(|r| r.name).collect();
    Ok(Catalogue { accounts: Some(ids(conn)?), roles: Some(roles) })
}

/// Adds a role to the catalogue (its name checked by the caller, `service::accounts`).
/// `Conflict` if one with the same name in any case is there.
pub fn add_role(conn: &Connection, name: &str, created: &str) -> Result<(), StoreError> {
    if let Some(existing) = find_role(conn, name)? {
        return Err(StoreError::Conflict(format!("role \"{existing}\" already exists (role names ignore case)")));
    }
    conn.execute("INSERT INTO roles (name, created) VALUES (?1, ?2)", params![name, created])?;
    Ok(())
}

/// The catalogue, in name order ignoring case.
pub fn roles(conn: &Connection) -> Result<Vec<Role>, StoreError> {
    let mut stmt = conn.prepare("SELECT name, created FROM roles ORDER BY name")?;
    let roles = stmt.query_map([], |r| Ok(Role { name: r.get(0)?, created: r.get(1)? }))?;
    roles.collect::<Result<_, _>>().map_err(Into::into)
}

/// The catalogued spelling of the role called `name` in any case, if there is one. The column
/// collation (NOCASE) folds ASCII only; this folds Unicode too, as the validator does.
pub fn find_role(conn: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    let key = scimbox_validator::text::fold(name.trim());
    Ok(roles(conn)?.into_iter().map(|r| r.name).find(|n| scimbox_validator::text::fold(n) == key))
}

/// Removes the role called `name` in any case; `NotFound` if the catalogue has no such role.
pub fn remove_role(conn: &Connection, name: &str) -> Result<(), StoreError> {
    let stored = find_role(conn, name)?.ok_or(StoreError::NotFound)?;
    conn.execute("DELETE FROM roles WHERE name = ?1", [stored])?;
    Ok(())
}

/// The first registered account id and the first catalogued role, in the orders of [`ids`]
/// and [`roles`]; `None` where there is none. Each is one step of a primary-key index.
pub fn first_account_and_role(conn: &Connection) -> Result<(Option<String>, Option<String>), StoreError> {
    let account = conn.query_row("SELECT id FROM accounts ORDER BY id LIMIT 1", [], |r| r.get(0)).optional()?;
    let role = conn.query_row("SELECT name FROM roles ORDER BY name LIMIT 1", [], |r| r.get(0)).optional()?;
    Ok((account, role))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026-01-01T00:00:00.000Z";

    /// A migrated database in a temporary directory (kept alive by the returned guard).
    fn db() -> (tempfile::TempDir, Connection) {
        crate::db::scratch()
    }

    /// Acme (ACC100) with EU (ACC110, itself with FR ACC111) and US (ACC120); Beta (ACC200).
    fn acme() -> (tempfile::TempDir, Connection) {
        let (dir, c) = db();
        for (id, name, parent) in [
            ("ACC200", "Beta", None),
            ("ACC100", "Acme Corp", None),
            ("ACC120", "Acme US", Some("ACC100")),
            ("ACC110", "Acme EU", Some("ACC100")),
            ("ACC111", "Acme FR", Some("ACC110")),
        ] {
            add(&c, id, name, parent, T).expect(id);
        }
        (dir, c)
    }

    fn shape(c: &Connection) -> Vec<(String, usize)> {
        list(c).unwrap().into_iter().map(|e| (e.account.id, e.depth)).collect()
    }

    fn owned(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn list_is_in_tree_order() {
        let (_d, c) = acme();
        let want = [("ACC100", 0), ("ACC110", 1), ("ACC111", 2), ("ACC120", 1), ("ACC200", 0)];
        assert_eq!(shape(&c), want.map(|(id, d)| (id.to_string(), d)));
        assert_eq!(get(&c, "ACC111").unwrap().parent_id.as_deref(), Some("ACC110"));
        assert_eq!(ids(&c).unwrap().len(), 5);
    }

    #[test]
    fn ancestors_and_descendants() {
        let (_d, c) = acme();
        assert_eq!(ancestors(&c, "ACC111").unwrap(), owned(&["ACC110", "ACC100"]));
        assert_eq!(ancestors(&c, "ACC100").unwrap(), Vec::<String>::new());
        assert_eq!(descendants(&c, "ACC100").unwrap(), owned(&["ACC110", "ACC120", "ACC111"]));
        assert_eq!(descendants(&c, "ACC111").unwrap(), Vec::<String>::new());
        assert_eq!(descendants(&c, "NOPE").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn cycles_are_refused_and_named() {
        let (_d, c) = acme();
        let err = move_to(&c, "ACC100", Some("ACC111"), T).unwrap_err().to_string();
        assert!(err.contains("ACC100 > ACC110 > ACC111") && err.contains("cycle"), "{err}");
        let err = move_to(&c, "ACC110", Some("ACC110"), T).unwrap_err().to_string();
        assert!(err.contains("under itself"), "{err}");
        assert!(matches!(move_to(&c, "ACC110", Some("NOPE"), T), Err(StoreError::NotFound)));
        assert!(matches!(move_to(&c, "NOPE", None, T), Err(StoreError::NotFound)));
        // Legal moves: a subtree travels with its root.
        move_to(&c, "ACC110", Some("ACC200"), T).unwrap();
        assert_eq!(ancestors(&c, "ACC111").unwrap(), owned(&["ACC110", "ACC200"]));
        move_to(&c, "ACC110", None, T).unwrap();
        assert_eq!(ancestors(&c, "ACC111").unwrap(), owned(&["ACC110"]));
    }

    #[test]
    fn cycles_written_by_hand_do_not_hang() {
        let (_d, c) = acme();
        c.execute("UPDATE accounts SET parent_id = 'ACC111' WHERE id = 'ACC100'", []).unwrap();
        assert_eq!(ancestors(&c, "ACC111").unwrap(), owned(&["ACC110", "ACC100"]));
        assert_eq!(descendants(&c, "ACC110").unwrap(), owned(&["ACC111", "ACC100", "ACC120"]));
        let listed = shape(&c);
        assert_eq!(listed.len(), 5, "{listed:?}");
        assert_eq!(listed[0], ("ACC200".to_string(), 0));
    }

    #[test]
    fn remove_with_children_is_refused() {
        let (_d, c) = acme();
        let err = remove(&c, "ACC100", T).unwrap_err().to_string();
        assert!(err.contains("ACC110, ACC120"), "{err}");
        remove(&c, "ACC111", T).unwrap();
        remove(&c, "ACC110", T).unwrap();
        assert!(matches!(remove(&c, "ACC110", T), Err(StoreError::NotFound)));
        assert_eq!(children(&c, "ACC100").unwrap(), owned(&["ACC120"]));
    }

    #[test]
    fn add_checks_taken_ids_and_parents() {
        let (_d, c) = acme();
        assert!(matches!(add(&c, "ACC100", "Again", None, T), Err(StoreError::Conflict(m)) if m.contains("Acme Corp")));
        assert!(matches!(add(&c, "ACC300", "X", Some("NOPE"), T), Err(StoreError::NotFound)));
        add(&c, "acc100", "ids are case-sensitive", None, T).unwrap();
    }

    #[test]
    fn roles_are_case_insensitive() {
        let (_d, c) = db();
        add_role(&c, "Editor", T).unwrap();
        add_role(&c, "viewer", T).unwrap();
        add_role(&c, "Straße", T).unwrap();
        for dup in ["editor", "EDITOR", " Editor ", "STRASSE"] {
            assert!(matches!(add_role(&c, dup, T), Err(StoreError::Conflict(_))), "{dup}");
        }
        let names: Vec<String> = roles(&c).unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, owned(&["Editor", "Straße", "viewer"]));
        assert_eq!(find_role(&c, "VIEWER").unwrap().as_deref(), Some("viewer"));
        remove_role(&c, "EDITOR").unwrap();
        assert!(matches!(remove_role(&c, "Editor"), Err(StoreError::NotFound)));
        assert_eq!(roles(&c).unwrap().len(), 2);
    }

    /// Registry changes are in the change history: added, moved, removed, with before/after.
    #[test]
    fn registry_changes_are_recorded() {
        let (_dir, c) = acme();
        move_to(&c, "ACC111", Some("ACC120"), "2026-01-02T00:00:00.000Z").expect("move");
        remove(&c, "ACC111", "2026-01-03T00:00:00.000Z").expect("remove");
        let history = crate::db::changes::changes_for(&c, "Account", "ACC111", 10).expect("history");
        let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
        assert_eq!(actions, ["deleted", "updated", "created"], "newest first");
        let at: Vec<&str> = history.iter().map(|h| h.at.as_str()).collect();
        assert_eq!(at, ["2026-01-03T00:00:00.000Z", "2026-01-02T00:00:00.000Z", T], "each at the time it was given");
        let moved = &history[1];
        assert!(moved.before.as_deref().is_some_and(|b| b.contains("ACC110")), "{moved:?}");
        assert!(moved.after.as_deref().is_some_and(|a| a.contains("ACC120")), "{moved:?}");
        assert!(history[0].after.is_none() && history[2].before.is_none());
        assert!(move_to(&c, "ACC100", Some("ACC111"), T).is_err());
        let acc100 = crate::db::changes::changes_for(&c, "Account", "ACC100", 10).expect("history");
        assert_eq!(acc100.len(), 1, "a refused move records nothing");
    }
}
