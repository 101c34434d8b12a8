//! The command line (clap). Each command's doc comment is its `--help`.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use scimbox_validator::accounts::{Catalogue, Document};
use scimbox_validator::check::{Fault, check_payloads};

use crate::config::Config;
use crate::db::{self, StoreError, accounts, tokens};
use crate::{auth, clock};

/// scimbox: a self-hosted SCIM 2.0 provisioning endpoint for Okta, Entra ID, OneLogin and
/// JumpCloud, over one embedded SQLite file.
#[derive(Debug, Parser)]
#[command(name = "scimbox", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the SCIM server (creates and migrates the database if needed).
    Serve(ServeArgs),
    /// Create or upgrade the database, then exit.
    Migrate(DbArg),
    /// Issue, list and revoke the bearer tokens IdPs authenticate with.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Register, list, move and remove the accounts that IdP payloads grant access to.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Keep the roles catalogue that payloads' roles are checked against.
    ///
    /// While the catalogue is empty any role name is accepted; otherwise only the catalogued
    /// ones, compared ignoring case.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Check `accounts` payloads, a list of them or a whole SCIM User body, as the server would.
    ///
    /// The input is one payload object, a JSON array of payloads, or a whole SCIM User body.
    /// Exit status: 0 when valid (`valid: N payload(s)` on stdout); 1 when not, with one line per
    /// fault on stdout (`accounts[INDEX] line L, column C: MESSAGE`); 2 when the input or the
    /// database cannot be read.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct DbArg {
    /// The SQLite database file.
    #[arg(long, env = "SCIMBOX_DB", default_value = "scimbox.db")]
    db: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    /// The address to listen on.
    #[arg(long, env = "SCIMBOX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The path the SCIM API is served under (for deployments behind a path prefix).
    #[arg(long, env = "SCIMBOX_BASE_PATH", default_value = "/scim/v2")]
    base_path: String,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token and print it (alone, on stdout). It is shown only this once.
    Create {
        #[command(flatten)]
        db: DbArg,
        /// The connection the token is for, such as "okta-prod".
        #[arg(long)]
        name: String,
        /// How long it stays valid: 90d, 12h, 30m, 2w, 1y. Without it, until revoked.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke the live token with this name; a running server refuses it within a second.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// The token's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
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
struct AccountAddArgs {
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
struct AccountMoveArgs {
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
enum RoleCommand {
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

#[derive(Debug, Args)]
struct ValidateArgs {
    /// The JSON to check; without it (or with "-"), standard input.
    file: Option<PathBuf>,
    /// Also check that every accountId is registered, and every role catalogued, in this
    /// database. Without it, registration is not checked.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

/// Runs the command line; the process exit code comes back.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Migrate(DbArg { db }) => {
            db::migrate(&db).map(|_| eprintln!("{} is up to date", db.display())).map_err(|e| e.to_string())
        }
        Command::Token(cmd) => token(cmd),
        Command::Account(cmd) => account(cmd),
        Command::Role(cmd) => role(cmd),
        Command::Validate(args) => return validate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("scimbox: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn serve(args: ServeArgs) -> Result<(), String> {
    init_tracing();
    let config = Config::new(args.db.db, args.listen).with_base_path(&args.base_path);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    rt.block_on(crate::run(config, shutdown_signal()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

fn token(cmd: TokenCommand) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    match cmd {
        TokenCommand::Create { db, name, expires_in } => {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err("--name must not be empty".into());
            }
            let now = clock::now();
            let expires = match expires_in {
                Some(d) => Some(db::timestamp(now + auth::parse_duration(&d)?)),
                None => None,
            };
            let conn = db::migrate(&db.db).map_err(err)?;
            let secret = auth::generate();
            tokens::insert(&conn, &name, &auth::hash(&secret), &db::timestamp(now), expires.as_deref()).map_err(err)?;
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List { db } => {
            let conn = db::migrate(&db.db).map_err(err)?;
            print_tokens(&tokens::list(&conn).map_err(err)?);
            Ok(())
        }
        TokenCommand::Revoke { db, name } => {
            let conn = db::migrate(&db.db).map_err(err)?;
            tokens::revoke(&conn, &name, &clock::now_stamp()).map_err(|e| match e {
                StoreError::NotFound => format!("no live token named \"{name}\" (see `scimbox token list`)"),
                other => other.to_string(),
            })?;
            eprintln!("revoked \"{name}\"");
            Ok(())
        }
    }
}

fn print_tokens(list: &[tokens::TokenInfo]) {
    if list.is_empty() {
        println!("no tokens; create one with `scimbox token create --name NAME`");
        return;
    }
    let now = clock::now_stamp();
    println!("{:<24} {:<8} {:<24} {:<24} {:<24}", "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED");
    for t in list {
        let status = match (&t.revoked, &t.expires) {
            (Some(_), _) => "revoked",
            (None, Some(e)) if *e <= now => "expired",
            _ => "active",
        };
        let dash = || "-".to_string();
        println!(
            "{:<24} {:<8} {:<24} {:<24} {:<24}",
            t.name,
            status,
            t.created,
            t.expires.clone().unwrap_or_else(dash),
            t.last_used.clone().unwrap_or_else(dash)
        );
    }
}

/// Opens (and migrates) the database and runs `f` in one `BEGIN IMMEDIATE` transaction, so that
/// its checks and its write see the same state even while a server writes to the same file.
fn in_transaction<T>(path: &Path, f: impl FnOnce(&Connection) -> Result<T, String>) -> Result<T, String> {
    let conn = db::migrate(path).map_err(|e| e.to_string())?;
    let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
    let out = f(&tx)?;
    tx.commit().map_err(|e| e.to_string())?;
    Ok(out)
}

/// The message for a store error. On `NotFound`, it names the first of `ids` not registered.
fn explain(conn: &Connection, e: StoreError, ids: &[&str]) -> String {
    match e {
        StoreError::NotFound => match ids.iter().find(|id| matches!(accounts::find(conn, id), Ok(None))) {
            Some(id) => format!("no account \"{id}\" is registered (see `scimbox account list`)"),
            None => "not found".into(),
        },
        StoreError::Invalid(v) => v.detail,
        other => other.to_string(),
    }
}

fn account(cmd: AccountCommand) -> Result<(), String> {
    match cmd {
        AccountCommand::Add(args) => account_add(args),
        AccountCommand::List { db } => {
            let conn = db::migrate(&db.db).map_err(|e| e.to_string())?;
            print_accounts(&accounts::list(&conn).map_err(|e| e.to_string())?);
            Ok(())
        }
        AccountCommand::Remove { db, id } => {
            in_transaction(&db.db, |c| accounts::remove(c, &id).map_err(|e| explain(c, e, &[&id])))?;
            eprintln!("removed account {id}");
            Ok(())
        }
        AccountCommand::Move(args) => account_move(args),
    }
}

fn account_add(args: AccountAddArgs) -> Result<(), String> {
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

fn account_move(args: AccountMoveArgs) -> Result<(), String> {
    let AccountMoveArgs { db, id, parent, root: _ } = args;
    in_transaction(&db.db, |c| {
        let ids: Vec<&str> = std::iter::once(id.as_str()).chain(parent.as_deref()).collect();
        accounts::move_to(c, &id, parent.as_deref()).map_err(|e| explain(c, e, &ids))
    })?;
    match parent {
        Some(p) => eprintln!("moved account {id} under {p}"),
        None => eprintln!("moved account {id} to the top level"),
    }
    Ok(())
}

/// `ACC100  Acme Corp`, then each child two spaces further in.
fn print_accounts(list: &[accounts::TreeEntry]) {
    if list.is_empty() {
        eprintln!("no accounts; add one with `scimbox account add ID --name NAME`");
    }
    for e in list {
        println!("{:indent$}{}  {}", "", e.account.id, e.account.name, indent = 2 * e.depth);
    }
}

fn role(cmd: RoleCommand) -> Result<(), String> {
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

/// `scimbox validate`: exit 0 when valid, 1 with one line per fault, 2 on a usage error.
fn validate(args: ValidateArgs) -> ExitCode {
    let input = read_input(args.file.as_deref()).and_then(|text| Ok((text, catalogue(args.db.as_deref())?)));
    let (text, cat) = match input {
        Ok(input) => input,
        Err(msg) => {
            eprintln!("scimbox: {msg}");
            return ExitCode::from(2);
        }
    };
    let verdict = check_payloads(&text, &cat);
    if verdict.valid {
        println!("valid: {} payload(s)", payload_count(&text, &cat));
        return ExitCode::SUCCESS;
    }
    verdict.errors.iter().for_each(|f| println!("{}", fault_line(f)));
    ExitCode::FAILURE
}

/// The text of `file`, or of standard input without one (or with "-").
fn read_input(file: Option<&Path>) -> Result<String, String> {
    match file {
        Some(path) if path != Path::new("-") => {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(text)
        }
    }
}

/// The registered accounts and catalogued roles of an existing database; without one, an empty
/// catalogue (nothing is checked for registration).
fn catalogue(path: Option<&Path>) -> Result<Catalogue, String> {
    let Some(path) = path else {
        return Ok(Catalogue::default());
    };
    if !path.is_file() {
        return Err(format!("no database at {}", path.display()));
    }
    let conn = db::migrate(path).map_err(|e| e.to_string())?;
    accounts::catalogue(&conn).map_err(|e| e.to_string())
}

/// How many payloads a valid input holds (a User body's `accounts`, or the payloads themselves).
fn payload_count(text: &str, cat: &Catalogue) -> usize {
    let Ok(doc) = Document::parse(text) else { return 0 };
    let payloads = if doc.is_user_body() { doc.split_user(cat).1 } else { doc.accounts(cat) };
    payloads.map_or(0, |p| p.len())
}

/// `accounts[INDEX] line L, column C: MESSAGE`, leaving out the parts the fault has not got.
fn fault_line(f: &Fault) -> String {
    let index = f.index.map(|i| format!("accounts[{i}]"));
    let position = f.line.zip(f.column).map(|(l, c)| format!("line {l}, column {c}"));
    let place: Vec<&str> = index.iter().chain(&position).map(String::as_str).collect();
    if place.is_empty() {
        return f.detail.clone();
    }
    format!("{}: {}", place.join(" "), message(f, index.as_deref(), position.as_deref()))
}

/// The fault's message without the place its `detail` starts with (`accounts[1] (line 1,
/// column 14): `, `line 3, column 1: `), since [`fault_line`] writes the place itself.
fn message<'a>(f: &'a Fault, index: Option<&str>, position: Option<&str>) -> &'a str {
    let name = index.unwrap_or("accounts");
    let mut places = vec![format!("{name}: ")];
    if let Some(p) = position {
        places.extend([format!("{name} ({p}): "), format!("{p}: ")]);
    }
    places.iter().find_map(|p| f.detail.strip_prefix(p.as_str())).unwrap_or(&f.detail)
}
