//! `scimbox validate`: check access payloads or a User body, as the server would.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use scimbox_validator::accounts::{Catalogue, Document};
use scimbox_validator::check::{Fault, check_payloads};

#[derive(Debug, Args)]
pub(super) struct ValidateArgs {
    /// The JSON to check; without it (or with "-"), standard input.
    file: Option<PathBuf>,
    /// Also check that every accountId is registered, and every role catalogued, in this
    /// database. Without it, registration is not checked.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

/// `scimbox validate`: exit 0 when valid, 1 with one line per fault, 2 on a usage error.
pub(super) fn validate(args: ValidateArgs) -> ExitCode {
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
pub(super) fn read_input(file: Option<&Path>) -> Result<String, String> {
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
pub(super) fn catalogue(path: Option<&Path>) -> Result<Catalogue, String> {
    let Some(path) = path else {
        return Ok(Catalogue::default());
    };
    crate::service::existing_database(path).map_err(|e| e.to_string())?;
    super::with_store(path, async |db| Ok(crate::service::accounts::catalogue(db).await?)).map_err(|f| f.message)
}

/// How many payloads a valid input holds (a User body's `accounts`, or the payloads themselves).
pub(super) fn payload_count(text: &str, cat: &Catalogue) -> usize {
    let Ok(doc) = Document::parse(text) else { return 0 };
    let payloads = if doc.is_user_body() { doc.split_user(cat).1 } else { doc.accounts(cat) };
    payloads.map_or(0, |p| p.len())
}

/// `accounts[INDEX] line L, column C: MESSAGE`, leaving out the parts the fault has not got.
pub(super) fn fault_line(f: &Fault) -> String {
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
pub(super) fn message<'a>(f: &'a Fault, index: Option<&str>, position: Option<&str>) -> &'a str {
    let name = index.unwrap_or("accounts");
    let mut places = vec![format!("{name}: ")];
    if let Some(p) = position {
        places.extend([format!("{name} ({p}): "), format!("{p}: ")]);
    }
    places.iter().find_map(|p| f.detail.strip_prefix(p.as_str())).unwrap_or(&f.detail)
}
