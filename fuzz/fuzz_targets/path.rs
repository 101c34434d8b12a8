//! Attribute paths and PATCH paths (RFC 7644 §3.10, §3.5.2) on arbitrary text: never a panic,
//! and an accepted path prints to text that parses back to the same path and resolves (or not)
//! against both resource types without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
#[path = "../common/same_filter.rs"]
mod same_filter;
use same_filter::same;
use scimbox_validator::filter::MAX_FILTER_LEN;
use scimbox_validator::path::{AttrPath, PatchPath};
use scimbox_validator::schema::{GROUP_RESOURCE, USER_RESOURCE};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(path) = PatchPath::parse(text) {
        let printed = path.to_string();
        // JSON escapes can make the canonical text longer than the input, past the length limit.
        if printed.chars().count() > MAX_FILTER_LEN {
            return;
        }
        let again = PatchPath::parse(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e:?}"));
        let same_filter = match (&again.filter, &path.filter) {
            (Some(a), Some(b)) => same(a, b),
            (a, b) => a == b,
        };
        assert!(again.attr == path.attr && again.sub == path.sub && same_filter, "{printed:?}: {again:?} != {path:?}");
    }
    if let Ok(attr) = AttrPath::parse(text) {
        let printed = attr.to_string();
        let again = AttrPath::parse(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e:?}"));
        assert_eq!(again, attr, "{printed:?} parses to a different path");
        for rt in [&USER_RESOURCE, &GROUP_RESOURCE] {
            let _ = attr.resolve(rt);
        }
    }
});
