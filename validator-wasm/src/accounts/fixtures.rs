//! Test fixtures shared by the accounts tests: a catalogue and fault and assignment helpers.

use super::{Assignment, Catalogue, PayloadFault, Status};

/// Registered ACC123, ACC200, ..., ACC700; roles Editor and Viewer.
pub(super) fn cat() -> Catalogue {
    let accounts = ["ACC123", "ACC200", "ACC300", "ACC400", "ACC500", "ACC600", "ACC700"];
    Catalogue {
        accounts: Some(accounts.iter().map(|a| a.to_string()).collect()),
        roles: Some(vec!["Editor".into(), "Viewer".into()]),
    }
}

/// No catalogue: any account and role (the offline browser check).
pub(super) fn open() -> Catalogue {
    Catalogue::default()
}

/// Each fault's detail, as the SCIM error joins them.
pub(super) fn details(faults: &[PayloadFault]) -> Vec<String> {
    faults.iter().map(PayloadFault::detail).collect()
}

/// An assignment spelled out.
pub(super) fn assignment(id: &str, roles: &[&str], teams: &[&str], status: Status) -> Assignment {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    Assignment { account_id: id.into(), roles: strings(roles), teams: strings(teams), status }
}
