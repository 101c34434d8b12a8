//! `scimbox account ...` and `scimbox role ...`: the accounts registry and the roles catalogue.

use std::path::Path;

use clap::{ArgGroup, Args, Subcommand};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::DbArg;
use crate::clock;
use crate::db::{self, StoreError, accounts};

#[derive(Debug, Subcommand)]
pub(super) enum AccountCommand {
    /// Register an account, at the top level or under a parent account.
    Add(AccountAddArgs),
    /// List the accounts as a tree: each parent followed by its children, indented.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Unregister an account (refused while it has child accounts).
    ///
    /// Users whose payloads name it keep those payloads, but the access they grant to it no
    /// longer resolves; it comes back if the id is registered again.
    Remove {
        #[command(flatten)]
        db: DbArg,
        /// The account's id.
        id: String,
    },
    /// Move an account, with everything below it, under another parent or to the top level.
    Move(AccountMoveArgs),
}

#[derive(Debug, Args)]
pub(super) struct AccountAddArgs {
    #[command(flatten)]
    db: DbArg,
    /// The id payloads name it by (`accountId`), such as ACC123: at most 64 characters, no
    /// whitespace; compared exactly.
    id: String,
    /// Its name for people, such as "Acme Corp".
    #[arg(long)]
    name: String,
    /// The account it belongs under: grants on the parent reach it.
    #[arg(long, value_name = "ID")]
    parent: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("to").required(true).args(["parent", "root"])))]
pub(super) struct AccountMoveArgs {
    #[command(flatten)]
    db: DbArg,
    /// The account to move.
    id: String,
    /// The new parent; refused if it is the account itself or one of its descendants.
    #[arg(long, value_name = "ID")]
    parent: Option<String>,
    /// Make it a top-level account (no parent).
    #[arg(long)]
    root: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum RoleCommand {
    /// Add a role to the catalogue (refused if it is there in any case).
    Add {
        #[command(flatten)]
        db: DbArg,
        /// The role's name, such as Editor.
        name: String,
    },
    /// List the catalogued roles, one per line.
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Remove a role from the catalogue (its name in any case).
    Remove {
        #[command(flatten)]
        db: DbArg,
        /// The role's name.
        name: String,
    },
}

/// Opens (and migrates) the database and runs `f` in one `BEGIN IMMEDIATE` transaction, so that
/// its checks and its write see the same state even while a server writes to the same file.
pub(super) fn in_transaction<T>(path: &Path, f: impl FnOnce(&Connection) -> Result<T, String>) -> Result<T, String> {
    let conn = db::migrate(path).map_err(|e| e.to_string())?;
    let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
    let out = f(&tx)?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The message for a store error. On `NotFound`, it names the first of `ids` not registered.
pub(super) fn explain(conn: &Connection, e: StoreError, ids: &[&str]) -> String {
    match e {
        StoreError::NotFound => match ids.iter().find(|id| matches!(accounts::find(conn, id), Ok(None))) {
            Some(id) => format!("no account \"{id}\" is registered (see `scimbox account list`)"),
            None => "not found".into(),
        },
        StoreError::Invalid(v) => v.detail,
        other => other.to_string(),
    }
}

pub(super) fn account(cmd: AccountCommand) -> Result<(), String> {
    match cmd {
        AccountCommand::Add(args) => account_add(args),
        AccountCommand::List { db } => {
            let conn = db::migrate(&db.db).map_err(|e| e.to_string())?;
            print_accounts(&accounts::list(&conn).map_err(|e| e.to_string())?);
            Ok(())
        }
        AccountCommand::Remove { db, id } => {
            in_transaction(&db.db, |c| {
                accounts::remove(c, &id, &clock::now_stamp()).map_err(|e| explain(c, e, &[&id]))
            })?;
            eprintln!("removed account {id}");
            Ok(())
        }
        AccountCommand::Move(args) => account_move(args),
    }
}

pub(super) fn account_add(args: AccountAddArgs) -> Result<(), String> {
    let AccountAddArgs { db, id, name, parent } = args;
    in_transaction(&db.db, |c| {
        let ids: Vec<&str> = parent.iter().map(String::as_str).collect();
        accounts::add(c, &id, &name, parent.as_deref(), &clock::now_stamp()).map_err(|e| explain(c, e, &ids))
    })?;
    match parent {
        Some(p) => eprintln!("added account {id} ({}) under {p}", name.trim()),
        None => eprintln!("added account {id} ({})", name.trim()),
    }
    Ok(())
}

pub(super) fn account_move(args: AccountMoveArgs) -> Result<(), String> {
    let AccountMoveArgs { db, id, parent, root: _ } = args;
    in_transaction(&db.db, |c| {
        let ids: Vec<&str> = std::iter::once(id.as_str()).chain(parent.as_deref()).collect();
        accounts::move_to(c, &id, parent.as_deref(), &clock::now_stamp()).map_err(|e| explain(c, e, &ids))
    })?;
    match parent {
        Some(p) => eprintln!("moved account {id} under {p}"),
        None => eprintln!("moved account {id} to the top level"),
    }
    Ok(())
}

/// `ACC100  Acme Corp`, then each child two spaces further in.
pub(super) fn print_accounts(list: &[accounts::TreeEntry]) {
    if list.is_empty() {
        eprintln!("no accounts; add one with `scimbox account add ID --name NAME`");
    }
    for e in list {
        println!("{:indent$}{}  {}", "", e.account.id, e.account.name, indent = 2 * e.depth);
    }
}

pub(super) fn role(cmd: RoleCommand) -> Result<(), String> {
    match cmd {
        RoleCommand::Add { db, name } => {
            in_transaction(&db.db, |c| {
                accounts::add_role(c, &name, &clock::now_stamp()).map_err(|e| explain(c, e, &[]))
            })?;
            eprintln!("added role {}", name.trim());
        }
        RoleCommand::List { db } => {
            let conn = db::migrate(&db.db).map_err(|e| e.to_string())?;
            let roles = accounts::roles(&conn).map_err(|e| e.to_string())?;
            if roles.is_empty() {
                eprintln!("no roles catalogued: any role name is accepted");
            }
            roles.iter().for_each(|r| println!("{}", r.name));
        }
        RoleCommand::Remove { db, name } => {
            in_transaction(&db.db, |c| {
                accounts::remove_role(c, &name).map_err(|e| match e {
                    StoreError::NotFound => {
                        format!("no role \"{}\" is catalogued (see `scimbox role list`)", name.trim())
                    }
                    other => explain(c, other, &[]),
                })
            })?;
            eprintln!("removed role {}", name.trim());
        }
    }
    Ok(())
}
