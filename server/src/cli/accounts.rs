//! `scimbox account ...` and `scimbox role ...`: the accounts registry and the roles catalogue.

use clap::{ArgGroup, Args, Subcommand};

use super::{DbArg, Failure, see_list, with_store};
use crate::service::accounts::{self, TreeEntry};

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

pub(super) fn account(cmd: AccountCommand) -> Result<(), Failure> {
    match cmd {
        AccountCommand::Add(args) => account_add(args),
        AccountCommand::List { db } => {
            print_accounts(&with_store(&db.db, async |db| Ok(accounts::tree(db).await?))?);
            Ok(())
        }
        AccountCommand::Remove { db, id } => {
            with_store(&db.db, async |db| {
                accounts::remove(db, &id).await.map_err(|e| Failure::hinted(e, see_list("account")))
            })?;
            eprintln!("removed account {id}");
            Ok(())
        }
        AccountCommand::Move(args) => account_move(args),
    }
}

pub(super) fn account_add(args: AccountAddArgs) -> Result<(), Failure> {
    let AccountAddArgs { db, id, name, parent } = args;
    let added = with_store(&db.db, async |db| {
        accounts::add(db, &id, &name, parent.as_deref()).await.map_err(|e| Failure::hinted(e, see_list("account")))
    })?;
    match added.parent_id {
        Some(p) => eprintln!("added account {id} ({}) under {p}", added.name),
        None => eprintln!("added account {id} ({})", added.name),
    }
    Ok(())
}

pub(super) fn account_move(args: AccountMoveArgs) -> Result<(), Failure> {
    let AccountMoveArgs { db, id, parent, root: _ } = args;
    with_store(&db.db, async |db| {
        accounts::move_to(db, &id, parent.as_deref()).await.map_err(|e| Failure::hinted(e, see_list("account")))
    })?;
    match parent {
        Some(p) => eprintln!("moved account {id} under {p}"),
        None => eprintln!("moved account {id} to the top level"),
    }
    Ok(())
}

/// `ACC100  Acme Corp`, then each child two spaces further in.
pub(super) fn print_accounts(list: &[TreeEntry]) {
    if list.is_empty() {
        eprintln!("no accounts; add one with `scimbox account add ID --name NAME`");
    }
    for e in list {
        println!("{:indent$}{}  {}", "", e.account.id, e.account.name, indent = 2 * e.depth);
    }
}

pub(super) fn role(cmd: RoleCommand) -> Result<(), Failure> {
    match cmd {
        RoleCommand::Add { db, name } => {
            let added = with_store(&db.db, async |db| Ok(accounts::add_role(db, &name).await?))?;
            eprintln!("added role {added}");
        }
        RoleCommand::List { db } => {
            let roles = with_store(&db.db, async |db| Ok(accounts::roles(db).await?))?;
            if roles.is_empty() {
                eprintln!("no roles catalogued: any role name is accepted");
            }
            roles.iter().for_each(|r| println!("{}", r.name));
        }
        RoleCommand::Remove { db, name } => {
            with_store(&db.db, async |db| {
                accounts::remove_role(db, &name).await.map_err(|e| Failure::hinted(e, see_list("role")))
            })?;
            eprintln!("removed role {}", name.trim());
        }
    }
    Ok(())
}
