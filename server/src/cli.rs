//! The command line (clap). Each command's doc comment is its `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::db::{self, StoreError, tokens};
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

/// Runs the command line; the process exit code comes back.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Migrate(DbArg { db }) => {
            db::migrate(&db).map(|_| eprintln!("{} is up to date", db.display())).map_err(|e| e.to_string())
        }
        Command::Token(cmd) => token(cmd),
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
