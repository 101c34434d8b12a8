//! PATCH (RFC 7644 §3.5.2): arbitrary JSON as a PatchOp body, parsed and applied onto a User and
//! a Group. Never a panic, and a list that applies means the same as its operations one by one.
//!
//! (An operation that fails may leave the working document half changed: the server always
//! patches a copy and drops it on error, so that is not asserted here; see fuzz/README.md.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimbox_validator::patch::{apply_patch, parse_patch};
use scimbox_validator::resource::normalize;
use scimbox_validator::schema::{GROUP_RESOURCE, USER_RESOURCE};
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(ops) = parse_patch(&body) else { return };
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs",
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "manager": {"value": "26118915"}
        }
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Tour Guides",
        "members": [{"value": "2819c223", "type": "User"}]
    });
    for (rt, doc) in [(&USER_RESOURCE, user), (&GROUP_RESOURCE, group)] {
        let Ok(start) = normalize(rt, &doc) else { continue };
        // The whole list at once, as the server applies it (on a working copy it drops on error).
        let mut all = start.clone();
        if apply_patch(rt, &mut all, &ops).is_ok() {
            // Then one operation at a time: all-at-once must mean the same as in sequence.
            let mut one_by_one = start;
            for op in &ops {
                apply_patch(rt, &mut one_by_one, std::slice::from_ref(op)).expect("each op succeeded in the list");
            }
            assert_eq!(all, one_by_one, "applying the list differs from applying its operations in turn");
        }
    }
});
