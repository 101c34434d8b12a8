//! The accounts registry and the roles catalogue, as `scimbox account ...`, `scimbox role ...`,
//! the demo and the `/accounts` page use them: add, list as a tree, move, remove; roles add,
//! list, remove; and the catalogue payloads are checked against.
//!
//! Each change runs in one write job of [`Db`] (one transaction), so that the checks in
//! [`crate::db::accounts`] (the parent exists, no cycle, no children left) and the write see the
//! same state even while a server and the CLI share the file. A refusal names what is missing:
//! `no account "ACC9" is registered`.

use std::collections::HashMap;

use crate::db::sql::Connection;
use scimbox_validator::accounts::Catalogue;
use scimbox_validator::schema::AccountsExample;

use super::{Error, Result, events, users};
use crate::clock;
use crate::db::{Db, StoreError, accounts, ui};

pub use crate::db::accounts::{Account, Role, TreeEntry};

/// The longest account id accepted, in characters.
pub const MAX_ID_CHARS: usize = 64;

/// Checks an account id: non-empty, at most [`MAX_ID_CHARS`] characters, and without whitespace
/// or control characters. Ids are compared exactly, so they are not trimmed.
pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("an account id must not be empty"));
    }
    let len = id.chars().count();
    if len > MAX_ID_CHARS {
        return Err(Error::invalid(format!(
            "account id \"{id}\" is {len} characters long; the most is {MAX_ID_CHARS}"
        )));
    }
    match id.chars().enumerate().find(|(_, c)| c.is_whitespace() || c.is_control()) {
        Some((at, c)) => {
            let what = if c.is_control() { "a control character" } else { "whitespace" };
            Err(Error::invalid(format!(
                "account id {id:?} contains {what} ({c:?}, character {}); use an id such as ACC123",
                at + 1
            )))
        }
        None => Ok(()),
    }
}

/// Checks an account's display name or a role name (`what` says which): not blank, no control
/// characters. Returns it trimmed.
pub fn check_label<'a>(what: &str, text: &'a str) -> Result<&'a str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid(format!("the {what} must not be empty")));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::invalid(format!("the {what} {text:?} contains a control character")));
    }
    Ok(text)
}

/// The registry as the accounts page shows it.
#[derive(Debug, Clone)]
pub struct Registry {
    /// Every account in tree order.
    pub tree: Vec<TreeEntry>,
    /// How many users' payloads name each account directly; `None` when there are too many
    /// users to count cheaply.
    pub direct_users: Option<HashMap<String, u64>>,
    /// The roles catalogue.
    pub roles: Vec<Role>,
}

/// Runs a registry change in one write; a `NotFound` from storage becomes a message naming the
/// first of `ids` that is not registered (looked up in the same transaction).
async fn change<T, F>(db: &Db, ids: Vec<String>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    // A refusal is returned as `Ok(Err(..))` so that the job can look the ids up; it wrote
    // nothing (storage refuses before it writes), so committing it changes nothing.
    db.write(move |c| match f(c) {
        Err(StoreError::NotFound) => Ok(Err(missing(c, &ids)?)),
        other => other.map(Ok),
    })
    .await?
}

/// Runs registry change `f` and records, in the same write, the `access.*` events of every user
/// whose effective access it changed (issue 14): the users whose payloads name accounts are read
/// with their access before `f`, and compared after it, the registry indexed once each side. A
/// move under a new parent thus grants the parent's users the moved subtree. An `f` that fails
/// records nothing.
fn with_access_events<T>(
    c: &Connection,
    actor: &str,
    now: &str,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let before = users::access_snapshot(c)?;
    let out = f(c)?;
    users::registry_access_events(c, before, actor, now)?;
    Ok(out)
}

/// The `NotFound` naming the first of `ids` that is not registered.
fn missing(c: &Connection, ids: &[String]) -> Result<Error, StoreError> {
    for id in ids {
        if accounts::find(c, id)?.is_none() {
            return Ok(Error::NotFound(format!("no account \"{id}\" is registered")));
        }
    }
    Ok(Error::NotFound("not found".into()))
}

/// Registers an account, under `parent` if given; returns it. `Invalid` for a malformed id or a
/// blank name, `Conflict` if the id is taken, `NotFound` if the parent is not registered.
pub async fn add(db: &Db, id: &str, name: &str, parent: Option<&str>) -> Result<Account> {
    check_id(id)?;
    let name = check_label("account name", name)?;
    let (id, name, parent) = (id.to_owned(), name.to_owned(), parent.map(str::to_owned));
    let (now, actor) = (clock::now_stamp(), events::actor());
    change(db, parent.iter().cloned().collect(), move |c| {
        with_access_events(c, &actor, &now, |c| {
            accounts::add(c, &id, &name, parent.as_deref(), &now)?;
            accounts::get(c, &id)
        })
    })
    .await
}

/// Every account as a tree: each parent before its children, siblings in id order.
pub async fn tree(db: &Db) -> Result<Vec<TreeEntry>> {
    Ok(db.read(accounts::list).await?)
}

/// Moves an account (with everything below it) under `parent`, or to the top level with
/// `None`. `NotFound` naming the id not registered; `Conflict` naming the path if the move
/// would make a cycle.
pub async fn move_to(db: &Db, id: &str, parent: Option<&str>) -> Result<()> {
    let (id, parent) = (id.to_owned(), parent.map(str::to_owned));
    let ids = std::iter::once(id.clone()).chain(parent.clone()).collect();
    let (now, actor) = (clock::now_stamp(), events::actor());
    change(db, ids, move |c| {
        with_access_events(c, &actor, &now, |c| accounts::move_to(c, &id, parent.as_deref(), &now))
    })
    .await
}

/// Unregisters an account; refused (`Conflict`, naming them) while it has child accounts.
pub async fn remove(db: &Db, id: &str) -> Result<()> {
    let key = id.to_owned();
    let (now, actor) = (clock::now_stamp(), events::actor());
    change(db, vec![key.clone()], move |c| with_access_events(c, &actor, &now, |c| accounts::remove(c, &key, &now)))
        .await
}

/// Adds a role to the catalogue; returns its name as stored (trimmed). `Conflict` if it is
/// there in any case.
pub async fn add_role(db: &Db, name: &str) -> Result<String> {
    let (name, now) = (check_label("role name", name)?.to_owned(), clock::now_stamp());
    let (stored, actor) = (name.clone(), events::actor());
    // A catalogued role respells the roles payloads name in another case: access may change.
    db.write(move |c| with_access_events(c, &actor, &now, |c| accounts::add_role(c, &name, &now))).await?;
    Ok(stored)
}

/// The roles catalogue, in name order.
pub async fn roles(db: &Db) -> Result<Vec<Role>> {
    Ok(db.read(accounts::roles).await?)
}

/// Removes the role called `name` in any case. `NotFound` if the catalogue has no such role.
pub async fn remove_role(db: &Db, name: &str) -> Result<()> {
    let (key, now, actor) = (name.trim().to_owned(), clock::now_stamp(), events::actor());
    db.write(move |c| with_access_events(c, &actor, &now, |c| accounts::remove_role(c, &key))).await.map_err(
        |e| match e {
            StoreError::NotFound => Error::NotFound(format!("no role \"{}\" is catalogued", name.trim())),
            other => other.into(),
        },
    )
}

/// What payloads are checked against: every registered account id and the roles catalogue.
pub async fn catalogue(db: &Db) -> Result<Catalogue> {
    Ok(db.read(accounts::catalogue).await?)
}

/// What `/Schemas` shows of the registry in the `accounts` attribute (issue 13 item 4): the
/// first registered account (in id order) and the first catalogued role, read together, so the
/// published example is a payload this server accepts and follows the registry as it changes.
pub async fn schema_example(db: &Db) -> Result<AccountsExample> {
    let (account, role) = db.read(accounts::first_account_and_role).await?;
    Ok(match account {
        Some(account_id) => AccountsExample::Registered { account_id, role },
        None => AccountsExample::NoAccounts,
    })
}

/// The registry, the per-account direct user counts (when there are at most `count_up_to`
/// users) and the roles, read together (the accounts page).
pub async fn registry(db: &Db, count_up_to: u64) -> Result<Registry> {
    let read = move |c: &Connection| {
        Ok(Registry {
            tree: accounts::list(c)?,
            direct_users: ui::direct_grants(c, count_up_to)?,
            roles: accounts::roles(c)?,
        })
    };
    Ok(db.read(read).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("a.db")).expect("open");
        (dir, db)
    }

    #[test]
    fn ids_and_labels() {
        for bad in ["", "A B", "A\tB", "A\u{7}", &"x".repeat(MAX_ID_CHARS + 1)] {
            assert!(matches!(check_id(bad), Err(Error::Invalid(_))), "{bad:?}");
        }
        let e = check_id("ACC 1").unwrap_err().to_string();
        assert!(e.contains("whitespace") && e.contains("character 4"), "{e}");
        assert_eq!(check_id(&"é".repeat(MAX_ID_CHARS)), Ok(()));
        assert_eq!(check_label("role name", " Editor "), Ok("Editor"));
        assert!(matches!(check_label("account name", "  "), Err(Error::Invalid(_))));
        assert!(matches!(check_label("role name", "a\u{0}b"), Err(Error::Invalid(_))));
    }

    #[tokio::test]
    async fn refusals_name_what_is_missing() {
        let (_dir, db) = store();
        let acme = add(&db, "ACME", " Acme Corp ", None).await.expect("add");
        assert_eq!((acme.name.as_str(), acme.parent_id), ("Acme Corp", None));
        add(&db, "EU", "Acme EU", Some("ACME")).await.expect("add");
        let e = add(&db, "X", "X", Some("NOPE")).await.unwrap_err();
        assert_eq!(e, Error::NotFound("no account \"NOPE\" is registered".into()));
        assert_eq!(e.exit_code(), 66);
        let e = move_to(&db, "GHOST", Some("ACME")).await.unwrap_err();
        assert_eq!(e, Error::NotFound("no account \"GHOST\" is registered".into()));
        let e = move_to(&db, "EU", Some("ELSEWHERE")).await.unwrap_err();
        assert_eq!(e, Error::NotFound("no account \"ELSEWHERE\" is registered".into()));
        assert!(matches!(move_to(&db, "ACME", Some("EU")).await, Err(Error::Conflict(m)) if m.contains("cycle")));
        assert!(matches!(remove(&db, "ACME").await, Err(Error::Conflict(m)) if m.contains("EU")));
        assert!(matches!(add(&db, "A B", "X", None).await, Err(Error::Invalid(_))));
        move_to(&db, "EU", None).await.expect("to the top");
        remove(&db, "ACME").await.expect("remove");
        let ids: Vec<(String, usize)> =
            tree(&db).await.expect("tree").into_iter().map(|e| (e.account.id, e.depth)).collect();
        assert_eq!(ids, [("EU".to_owned(), 0)]);
    }

    #[tokio::test]
    async fn roles_and_the_catalogue() {
        let (_dir, db) = store();
        assert_eq!(add_role(&db, " Editor ").await, Ok("Editor".into()));
        assert!(matches!(add_role(&db, "EDITOR").await, Err(Error::Conflict(_))));
        assert!(matches!(add_role(&db, "a\u{7}").await, Err(Error::Invalid(_))));
        add(&db, "ACME", "Acme", None).await.expect("add");
        let cat = catalogue(&db).await.expect("catalogue");
        assert!(cat.accounts.is_some_and(|a| a.contains("ACME")));
        assert_eq!(cat.roles.map(|r| r.into_iter().collect::<Vec<_>>()), Some(vec!["Editor".to_owned()]));
        let reg = registry(&db, 10).await.expect("registry");
        assert_eq!((reg.tree.len(), reg.roles.len()), (1, 1));
        assert_eq!(reg.direct_users.and_then(|m| m.get("ACME").copied()), None, "no user names it");
        remove_role(&db, "editor").await.expect("remove");
        assert_eq!(remove_role(&db, "editor").await, Err(Error::NotFound("no role \"editor\" is catalogued".into())));
        assert!(roles(&db).await.expect("roles").is_empty());
    }
}
