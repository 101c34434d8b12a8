//! The layering of docs/architecture.md, checked on the server's source: entry points reach
//! storage only through the service, storage never reads the clock nor knows the layers above
//! it, nothing below `http` depends on `http`, and the top-level modules form no cycle. A new
//! import that breaks one of these fails here with the file and the line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file: its top-level module (`http`, `db`, ...) and its non-comment lines before
/// its unit tests (tests may reach into any layer).
struct Source {
    path: PathBuf,
    module: String,
    lines: Vec<(usize, String)>,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).expect("under src");
                let first = rel.components().next().expect("a component").as_os_str().to_string_lossy();
                let module = first.trim_end_matches(".rs").to_owned();
                let text = std::fs::read_to_string(&path).expect("read source");
                let lines = text
                    .lines()
                    .enumerate()
                    .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
                    .filter(|(_, l)| !l.trim_start().starts_with("//"))
                    .map(|(n, l)| (n + 1, l.to_owned()))
                    .collect();
                out.push(Source { path: rel.to_path_buf(), module, lines });
            }
        }
    }
    assert!(out.len() > 50, "found only {} source files under {}", out.len(), root.display());
    out
}

/// The `crate::NAME` modules a line names.
fn crate_refs(line: &str) -> Vec<String> {
    line.match_indices("crate::")
        .filter(|(at, _)| !line[..*at].ends_with("::") && !line[..*at].ends_with(|c: char| c.is_alphanumeric()))
        .map(|(at, _)| line[at + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
        .collect()
}

/// The items a line takes from storage: `crate::db::X`, `crate::db::{X, Y}` and, after
/// `use crate::db::{self, ..}`, `db::X`.
fn db_items(line: &str) -> Vec<String> {
    let mut items = Vec::new();
    for (at, _) in line.match_indices("db::") {
        let before = &line[..at];
        if before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if before.ends_with("::") && !before.ends_with("crate::") {
            continue;
        }
        let rest = &line[at + 4..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = group.split('}').next().unwrap_or_default();
            items.extend(group.split(',').map(|s| s.trim().split("::").next().unwrap_or_default().to_owned()));
        } else {
            items.push(rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    items.retain(|i| !i.is_empty() && i != "self");
    items
}

fn report(what: &str, faults: &[String]) {
    assert!(faults.is_empty(), "{what}:\n  {}", faults.join("\n  "));
}

#[test]
fn entry_points_reach_storage_only_through_the_service() {
    // Opening the store is an entry point's business; everything else goes through the service.
    let allowed = ["Db", "migrate", "READERS"];
    let mut faults = Vec::new();
    for s in sources().iter().filter(|s| ["http", "cli", "demo"].contains(&s.module.as_str())) {
        for (n, line) in &s.lines {
            for item in db_items(line) {
                if !allowed.contains(&item.as_str()) {
                    faults.push(format!("{}:{n}: db::{item}", s.path.display()));
                }
            }
        }
    }
    report("entry points using storage directly (call a service function instead)", &faults);
}

/// The top-level modules that import nothing of the crate (`stamp`, `deadline`...): anyone may
/// use them without making a cycle or reaching up a layer.
fn leaves(all: &[Source]) -> BTreeSet<String> {
    let modules: BTreeSet<String> = all.iter().map(|s| s.module.clone()).collect();
    modules
        .into_iter()
        .filter(|m| {
            all.iter()
                .filter(|s| &s.module == m)
                .all(|s| s.lines.iter().all(|(_, l)| crate_refs(l).iter().all(|r| r == m)))
        })
        .collect()
}

#[test]
fn storage_knows_nothing_above_it_and_never_reads_the_clock() {
    let all = sources();
    let leaves = leaves(&all);
    assert!(!leaves.contains("clock") && leaves.contains("stamp"), "leaves: {leaves:?}");
    let mut faults = Vec::new();
    for s in all.iter().filter(|s| s.module == "db") {
        for (n, line) in &s.lines {
            for m in crate_refs(line) {
                if m != "db" && !leaves.contains(&m) {
                    faults.push(format!("{}:{n}: crate::{m}", s.path.display()));
                }
            }
            if line.contains("now_utc") || line.contains("SystemTime::now") {
                faults.push(format!("{}:{n}: reads the clock", s.path.display()));
            }
        }
    }
    report("storage must be SQL only, handed the time of each write", &faults);
}

#[test]
fn nothing_below_http_depends_on_http_and_the_service_speaks_no_http() {
    let mut faults = Vec::new();
    for s in sources().iter().filter(|s| !["http", "cli", "lib", "main"].contains(&s.module.as_str())) {
        for (n, line) in &s.lines {
            if crate_refs(line).iter().any(|m| m == "http") {
                faults.push(format!("{}:{n}: crate::http", s.path.display()));
            }
            if s.module == "service"
                && (line.contains("axum::")
                    || line.contains("StatusCode")
                    || crate_refs(line).iter().any(|m| m == "error"))
            {
                faults.push(format!("{}:{n}: HTTP types in the service", s.path.display()));
            }
        }
    }
    report("layers below http importing it", &faults);
}

#[test]
fn top_level_modules_form_no_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in sources().iter().filter(|s| !["lib", "main"].contains(&s.module.as_str())) {
        let deps = graph.entry(s.module.clone()).or_default();
        for (_, line) in &s.lines {
            deps.extend(crate_refs(line).into_iter().filter(|m| *m != s.module && !m.is_empty()));
        }
    }
    // Depth-first search for a back edge; the cycle found is printed whole.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for d in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("an import cycle across module folders: {}", cycle.join(" -> "));
        }
    }
    assert!(graph.get("http").is_some_and(|d| d.contains("service")), "the scan sees http -> service");
}

/// Whether a line names the rusqlite crate in code (not in a `//` comment).
fn names_rusqlite(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or_default();
    code.match_indices("rusqlite").any(|(at, _)| !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// Issue 18: every SQL call goes through `db::sql`, so that a second engine plugs in there. A
/// file outside `db/` that names rusqlite (unit tests included) would bypass that seam.
#[test]
fn nothing_outside_storage_names_rusqlite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut faults = Vec::new();
    let mut dirs = vec![root.clone()];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path == root.join("db") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                seen += 1;
                let text = std::fs::read_to_string(&path).expect("read source");
                for (n, line) in text.lines().enumerate().filter(|(_, l)| names_rusqlite(l)) {
                    faults.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(seen > 50, "found only {seen} source files outside src/db");
    report("rusqlite named outside server/src/db (use crate::db::sql's types)", &faults);
}

#[test]
fn the_scanner_reads_imports_as_written() {
    assert_eq!(db_items("use crate::db::{self, Db, StoreError};"), ["Db", "StoreError"]);
    assert_eq!(db_items("let c = db::migrate(path)?;"), ["migrate"]);
    assert_eq!(db_items("use crate::db::users::fold;"), ["users"]);
    assert!(db_items("use scimbox::db::Db; x.db::<T>()").iter().all(|i| i == "Db" || i.is_empty()));
    assert_eq!(crate_refs("use crate::service::{self, tokens}; crate::clock::now()"), ["service", "clock"]);
    assert!(names_rusqlite("use rusqlite::Connection;") && names_rusqlite("f(c: &rusqlite::Connection)"));
    assert!(!names_rusqlite("// rusqlite keeps 16 statements") && !names_rusqlite("use crate::db::sql::Connection;"));
}
