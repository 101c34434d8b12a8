//! The `accounts` payload parser (issue 4) on arbitrary text, as a lone payload, as an
//! attribute value and as a whole User body: never a panic, and the position of every fault of
//! the text itself lies within it (1-based line and a column at most one past that line's last
//! character). A first version also held document faults to the text; the fuzzer showed that a
//! payload written in a string is positioned within that string, as documented (input in
//! fuzz/regressions/accounts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimbox_validator::accounts::{Catalogue, Document, PayloadFault, parse_accounts, parse_payload};
use serde_json::Value;

fn check_positions(text: &str, faults: &[PayloadFault]) {
    let lines: Vec<&str> = text.split('\n').collect();
    for f in faults {
        if let (Some(line), Some(column)) = (f.line, f.column) {
            assert!(line >= 1 && line <= lines.len(), "line {line} outside {} lines: {f:?}", lines.len());
            let width = lines[line - 1].chars().count();
            assert!(column >= 1 && column <= width + 1, "column {column} outside a {width}-char line: {f:?}");
        }
        let _ = f.detail();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let open = Catalogue::default();
    let closed = Catalogue {
        accounts: Some(["ACC123".to_owned(), "ACC456".to_owned()].into()),
        roles: Some(vec!["Editor".to_owned(), "Viewer".to_owned()]),
    };
    for cat in [&open, &closed] {
        match parse_payload(text, cat) {
            Ok(a) => {
                let again = parse_payload(&a.to_payload(), cat).expect("a canonical payload parses");
                assert_eq!(again.to_payload(), a.to_payload());
            }
            Err(faults) => check_positions(text, &faults),
        }
        // As an attribute value or a document: positions are within `text`, or within the
        // string a payload was written in when it holds payload strings (the module's rule), so
        // only their shape is checked here.
        let mut faults = parse_accounts(&Value::from(text), cat).err().unwrap_or_default();
        faults.extend(match Document::parse(text) {
            Ok(doc) if doc.is_user_body() => doc.split_user(cat).1.err().unwrap_or_default(),
            Ok(doc) => doc.accounts(cat).err().unwrap_or_default(),
            Err(fault) => vec![fault],
        });
        for f in &faults {
            assert!(f.line.is_none_or(|l| l >= 1) && f.column.is_none_or(|c| c >= 1), "{f:?}");
            let _ = f.detail();
        }
    }
});
