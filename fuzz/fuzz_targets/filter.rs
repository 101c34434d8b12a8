//! The SCIM filter parser (RFC 7644 §3.4.2.2) on arbitrary text: it must never panic, every
//! filter it accepts must check and evaluate against both resource types without panicking, and
//! the canonical text it prints must parse back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
#[path = "../common/same_filter.rs"]
mod same_filter;
use same_filter::same;
use scimbox_validator::filter::{Filter, MAX_FILTER_LEN};
use scimbox_validator::schema::{GROUP_RESOURCE, USER_RESOURCE};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(filter) = Filter::parse(text) else { return };
    let printed = filter.to_string();
    // JSON escapes can make the canonical text longer than the input, past the length limit.
    if printed.chars().count() > MAX_FILTER_LEN {
        return;
    }
    let again = Filter::parse(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e:?}"));
    assert!(same(&again, &filter), "{printed:?} parses to a different tree: {again:?} != {filter:?}");
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "BJensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"}
    });
    for rt in [&USER_RESOURCE, &GROUP_RESOURCE] {
        if filter.check(rt).is_ok() {
            let _ = filter.matches(rt, &user);
        }
    }
});
