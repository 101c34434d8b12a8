//! PATCH tests: the examples of RFC 7644 §3.5.2.

use super::*;

#[test]
fn rfc_examples_on_groups() {
    let new_member =
        json!({"display": "Babs Jensen", "$ref": format!("https://example.com/v2/Users/{U1}"), "value": U1});
    let cases = vec![
        (
            "§3.5.2.1 add member to an empty group",
            json!({"displayName": "G"}),
            json!([{"op": "add", "path": "members", "value": [new_member]}]),
            doc(&[
                ("/members/0/value", json!(U1)),
                ("/members/0/display", json!("Babs Jensen")),
                ("/members/1", Value::Null),
            ]),
        ),
        (
            "§3.5.2.1 add an existing member: no duplicate",
            group(),
            json!([{"op": "add", "path": "members", "value": [new_member]}]),
            doc(&[("/members/0/$ref", new_member["$ref"].clone()), ("/members/2", Value::Null)]),
        ),
        (
            "§3.5.2.2 remove a single member",
            group(),
            json!([{"op": "remove", "path": format!("members[value eq \"{U1}\"]")}]),
            doc(&[("/members/0/value", json!(U2)), ("/members/1", Value::Null)]),
        ),
        (
            "§3.5.2.2 remove all members",
            group(),
            json!([{"op": "remove", "path": "members"}]),
            doc(&[("/members", Value::Null), ("/displayName", json!("Tour Guides"))]),
        ),
        (
            "§3.5.2.2 replace all members: remove then add",
            group(),
            json!([{"op": "remove", "path": "members"},
                {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}]),
            doc(&[("/members/0/value", json!("08e1d05d")), ("/members/1", Value::Null)]),
        ),
        (
            "§3.5.2.3 replace all members",
            group(),
            json!([{"op": "replace", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}]),
            doc(&[("/members/0/value", json!("08e1d05d")), ("/members/1", Value::Null)]),
        ),
        (
            "Okta membership update",
            group(),
            json!([{"op": "remove", "path": format!("members[value eq \"{U2}\"]")},
                {"op": "add", "path": "members", "value": [{"value": "u3", "display": "user@x"}]}]),
            doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!("u3")), ("/members/2", Value::Null)]),
        ),
        (
            "Okta group rename with id in the value",
            group(),
            json!([{"op": "replace", "value": {"id": "g-1", "displayName": "New name"}}]),
            doc(&[("/displayName", json!("New name")), ("/id", Value::Null)]),
        ),
        (
            "Entra remove members by value list",
            group(),
            json!([{"op": "Remove", "path": "members", "value": [{"value": U1}]}]),
            doc(&[("/members/0/value", json!(U2)), ("/members/1", Value::Null)]),
        ),
        (
            "remove by value list never removes all: unknown value",
            group(),
            json!([{"op": "Remove", "path": "members", "value": [{"value": "nobody"}]}]),
            doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!(U2))]),
        ),
        (
            "remove by value list never removes all: empty element",
            group(),
            json!([{"op": "Remove", "path": "members", "value": [{}]}]),
            doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!(U2))]),
        ),
        (
            "remove by value list never removes all: empty list",
            group(),
            json!([{"op": "Remove", "path": "members", "value": []}]),
            doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!(U2))]),
        ),
        (
            "remove by bare ids",
            group(),
            json!([{"op": "remove", "path": "members", "value": [U1, U2]}]),
            doc(&[("/members", Value::Null)]),
        ),
        (
            "remove a member that is not there: no-op",
            group(),
            json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
            doc(&[("/members/1/value", json!(U2))]),
        ),
        (
            "members filter on an unknown sub-attribute",
            group(),
            json!([{"op": "remove", "path": "members[foo eq \"x\"]"}]),
            Fails(ScimType::InvalidPath, "foo"),
        ),
        (
            "removing the required displayName",
            group(),
            json!([{"op": "remove", "path": "displayName"}]),
            Fails(ScimType::Mutability, "displayName"),
        ),
    ];
    check_all(&GROUP_RESOURCE, cases);
}

#[test]
fn rfc_examples_on_users() {
    let cases = vec![
        (
            "§3.5.2.1 add without path",
            bare_user(),
            json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
            doc(&[("/emails/0/value", json!("babs@jensen.org")), ("/nickName", json!("Babs"))]),
        ),
        (
            "§3.5.2.1 add without path: existing email not duplicated",
            user(),
            json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
            doc(&[
                ("/emails/1/value", json!("babs@jensen.org")),
                ("/emails/2", Value::Null),
                ("/nickName", json!("Babs")),
            ]),
        ),
        (
            "§3.5.2.2 remove with a complex filter",
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
            doc(&[("/emails/0/value", json!("babs@jensen.org")), ("/emails/1", Value::Null)]),
        ),
        (
            "§3.5.2.3 replace a whole work address",
            user(),
            json!([{"op": "replace", "path": "addresses[type eq \"work\"]",
                 "value": {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
                           "region": "CA", "postalCode": "91608", "country": "US",
                           "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true}}]),
            doc(&[
                ("/addresses/0/streetAddress", json!("911 Universal City Plaza")),
                ("/addresses/0/postalCode", json!("91608")),
                ("/addresses/1", Value::Null),
            ]),
        ),
        (
            "§3.5.2.3 replace a sub-attribute of matching elements",
            user(),
            json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
            doc(&[
                ("/addresses/0/streetAddress", json!("1010 Broadway Ave")),
                ("/addresses/0/locality", json!("Hollywood")),
            ]),
        ),
        (
            "§3.5.2.3 replace without path",
            user(),
            json!([{"op": "replace", "value": {
             "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                        {"value": "babs@jensen.org", "type": "home"}],
             "nickname": "Babs"}}]),
            doc(&[("/emails/0/primary", json!(true)), ("/emails/2", Value::Null), ("/nickName", json!("Babs"))]),
        ),
    ];
    check_all(&USER_RESOURCE, cases);
}
