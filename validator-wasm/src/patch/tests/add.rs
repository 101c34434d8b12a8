//! PATCH tests: add (RFC 7644 §3.5.2.1), with and without a path.

use super::*;

#[test]
fn add_with_path() {
    let cases = vec![
        (
            "new single-valued attribute",
            user(),
            json!([{"op": "add", "path": "nickName", "value": "Babs"}]),
            doc(&[("/nickName", json!("Babs"))]),
        ),
        (
            "existing single-valued attribute is replaced",
            user(),
            json!([{"op": "add", "path": "DISPLAYNAME", "value": "B. Jensen"}]),
            doc(&[("/displayName", json!("B. Jensen")), ("/DISPLAYNAME", Value::Null)]),
        ),
        (
            "complex: sub-attributes merged",
            user(),
            json!([{"op": "add", "path": "name", "value": {"middleName": "Jane", "GIVENNAME": "Babs"}}]),
            doc(&[
                ("/name/givenName", json!("Babs")),
                ("/name/familyName", json!("Jensen")),
                ("/name/middleName", json!("Jane")),
                ("/name/GIVENNAME", Value::Null),
            ]),
        ),
        (
            "dotted sub-attribute",
            bare_user(),
            json!([{"op": "add", "path": "name.givenName", "value": "John"}]),
            doc(&[("/name/givenName", json!("John"))]),
        ),
        (
            "URN-qualified core attribute",
            user(),
            json!([{"op": "add", "path": format!("{USER_URN}:title"), "value": "Tour Guide"}]),
            doc(&[("/title", json!("Tour Guide"))]),
        ),
        (
            "multi-valued: one object appended",
            user(),
            json!([{"op": "add", "path": "emails", "value": {"value": "b@other.org", "type": "other"}}]),
            doc(&[("/emails/2/value", json!("b@other.org")), ("/emails/0/primary", json!(true))]),
        ),
        (
            "multi-valued: a bare string becomes {value}",
            user(),
            json!([{"op": "add", "path": "emails", "value": "b@other.org"}]),
            doc(&[("/emails/2/value", json!("b@other.org"))]),
        ),
        (
            "multi-valued: equal value (other case) not duplicated",
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "BJensen@Example.com", "type": "work"}]}]),
            doc(&[("/emails/2", Value::Null), ("/emails/0/value", json!("bjensen@example.com"))]),
        ),
        (
            "multi-valued: new primary clears the old one",
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "work", "primary": true}]}]),
            doc(&[("/emails/2/primary", json!(true)), ("/emails/0/primary", json!(false))]),
        ),
        (
            "multi-valued: Entra's string primary counts",
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "primary": "True"}]}]),
            doc(&[("/emails/2/primary", json!("True")), ("/emails/0/primary", json!(false))]),
        ),
        (
            "multi-valued: adding to a missing attribute",
            bare_user(),
            json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "555-1234", "type": "work"}]}]),
            doc(&[("/phoneNumbers/0/value", json!("555-1234"))]),
        ),
        (
            "Entra upsert: no emails yet",
            bare_user(),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y"}]),
            doc(&[("/emails/0", json!({"type": "work", "value": "x@y"})), ("/emails/1", Value::Null)]),
        ),
        (
            "Entra upsert: a work email exists",
            user(),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y"}]),
            doc(&[("/emails/0/value", json!("x@y")), ("/emails/0/primary", json!(true)), ("/emails/2", Value::Null)]),
        ),
        (
            "Entra upsert: only a home email exists",
            json!({"userName": "a", "emails": [{"value": "h@x", "type": "home"}]}),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y"}]),
            doc(&[("/emails/0/value", json!("h@x")), ("/emails/1", json!({"type": "work", "value": "x@y"}))]),
        ),
        (
            "Entra upsert: address street",
            user(),
            json!([{"op": "Add", "path": "addresses[type eq \"home\"].streetAddress", "value": "1 Main St"}]),
            doc(&[("/addresses/1", json!({"type": "home", "streetAddress": "1 Main St"}))]),
        ),
        (
            "upsert with two eq terms",
            bare_user(),
            json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\" and primary eq true].value", "value": "555"}]),
            doc(&[("/phoneNumbers/0", json!({"type": "mobile", "primary": true, "value": "555"}))]),
        ),
        (
            "add with a filter and no sub-attribute merges into matches",
            user(),
            json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
            doc(&[("/emails/1/display", json!("Home")), ("/emails/1/value", json!("babs@jensen.org"))]),
        ),
        (
            "add with a filter, no match, no sub-attribute: created",
            bare_user(),
            json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"value": "h@x"}}]),
            doc(&[("/emails/0", json!({"type": "home", "value": "h@x"}))]),
        ),
        (
            "add with a non-eq filter matching nothing",
            user(),
            json!([{"op": "add", "path": "emails[value co \"nomatch\"].display", "value": "x"}]),
            Fails(ScimType::NoTarget, "emails"),
        ),
        (
            "enterprise manager as a raw string",
            user(),
            json!([{"op": "add", "path": format!("{ENT}:manager"), "value": "mgr-id"}]),
            doc(&[(&ent("manager"), json!({"value": "mgr-id"})), ("/schemas/1", json!(ENT))]),
        ),
        (
            "enterprise manager as Entra's one-element list",
            user(),
            json!([{"op": "add", "path": format!("{ENT}:manager"), "value": [{"$ref": "../Users/m", "value": "m"}]}]),
            doc(&[(&ent("manager/value"), json!("m")), (&ent("manager/$ref"), json!("../Users/m"))]),
        ),
        (
            "enterprise attribute, qualified",
            bare_user(),
            json!([{"op": "add", "path": format!("{ENT}:employeeNumber"), "value": "42"}]),
            doc(&[(&ent("employeeNumber"), json!("42")), ("/schemas", Value::Null)]),
        ),
        (
            "enterprise attribute, unqualified",
            enterprise_user(),
            json!([{"op": "add", "path": "department", "value": "Tour Operations"}]),
            doc(&[(&ent("department"), json!("Tour Operations")), (&ent("employeeNumber"), json!("701984"))]),
        ),
        (
            "password is accepted and never stored",
            user(),
            json!([{"op": "add", "path": "password", "value": "t1meMa$heen"}]),
            doc(&[("/password", Value::Null), ("/userName", json!("bjensen"))]),
        ),
        (
            "null unassigns",
            user(),
            json!([{"op": "add", "path": "displayName", "value": null}]),
            doc(&[("/displayName", Value::Null)]),
        ),
        (
            "complex attribute given a bare string",
            user(),
            json!([{"op": "add", "path": "name", "value": "Babs"}]),
            Fails(ScimType::InvalidValue, "\"name\" is complex"),
        ),
        (
            "singular complex given a long list",
            user(),
            json!([{"op": "add", "path": format!("{ENT}:manager"), "value": [{"value": "a"}, {"value": "b"}]}]),
            Fails(ScimType::InvalidValue, "manager"),
        ),
        (
            "multi-valued element that is a list",
            user(),
            json!([{"op": "add", "path": "emails", "value": [["x"]]}]),
            Fails(ScimType::InvalidValue, "emails"),
        ),
        (
            "unknown attribute",
            user(),
            json!([{"op": "add", "path": "favouriteColour", "value": "red"}]),
            Fails(ScimType::InvalidPath, "favouriteColour"),
        ),
        (
            "unknown sub-attribute",
            user(),
            json!([{"op": "add", "path": "name.nickname", "value": "x"}]),
            Fails(ScimType::InvalidPath, "nickname"),
        ),
        (
            "unknown sub-attribute after a filter",
            user(),
            json!([{"op": "add", "path": "emails[type eq \"work\"].label", "value": "x"}]),
            Fails(ScimType::InvalidPath, "label"),
        ),
        (
            "filter on a single-valued attribute",
            user(),
            json!([{"op": "add", "path": "name[givenName eq \"x\"].familyName", "value": "x"}]),
            Fails(ScimType::InvalidPath, "single-valued"),
        ),
        (
            "readOnly id",
            user(),
            json!([{"op": "add", "path": "id", "value": "x"}]),
            Fails(ScimType::Mutability, "\"id\" is readOnly"),
        ),
        (
            "readOnly meta",
            user(),
            json!([{"op": "add", "path": "meta", "value": {"version": "x"}}]),
            Fails(ScimType::Mutability, "\"meta\""),
        ),
        (
            "readOnly meta.created",
            user(),
            json!([{"op": "replace", "path": "meta.created", "value": "x"}]),
            Fails(ScimType::Mutability, "\"meta.created\""),
        ),
        (
            "readOnly groups",
            user(),
            json!([{"op": "add", "path": "groups", "value": [{"value": "g-2"}]}]),
            Fails(ScimType::Mutability, "\"groups\""),
        ),
        (
            "readOnly manager.displayName",
            enterprise_user(),
            json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "x"}]),
            Fails(ScimType::Mutability, "\"manager.displayName\""),
        ),
        (
            "server-owned schemas",
            user(),
            json!([{"op": "add", "path": "schemas", "value": [ENT]}]),
            Fails(ScimType::Mutability, "\"schemas\""),
        ),
        (
            "readOnly sub-attribute inside a value is dropped",
            user(),
            json!([{"op": "add", "path": format!("{ENT}:manager"), "value": {"value": "m", "displayName": "x"}}]),
            doc(&[(&ent("manager"), json!({"value": "m"}))]),
        ),
        (
            "dotted sub-attribute of a multi-valued attribute: every element",
            user(),
            json!([{"op": "add", "path": "emails.display", "value": "E"}]),
            doc(&[("/emails/0/display", json!("E")), ("/emails/1/display", json!("E"))]),
        ),
        (
            "dotted sub-attribute of a missing multi-valued attribute: one element",
            bare_user(),
            json!([{"op": "add", "path": "ims.value", "value": "babs"}]),
            doc(&[("/ims", json!([{"value": "babs"}]))]),
        ),
        (
            "add with a filter and a one-element list",
            user(),
            json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": [{"display": "H"}]}]),
            doc(&[("/emails/1/display", json!("H"))]),
        ),
        (
            "null with a filter matching nothing: no element created",
            bare_user(),
            json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": null}]),
            doc(&[("/emails", Value::Null)]),
        ),
    ];
    check_all(&USER_RESOURCE, cases);
}

#[test]
fn add_and_replace_without_path() {
    let entra_flagged = json!({
        "displayName": "Babs J", "name.givenName": "Babs", "name.familyName": "Jensen-Smith",
        format!("{ENT}:employeeNumber"): "42"
    });
    let cases = vec![
        (
            "Okta deactivate",
            user(),
            json!([{"op": "replace", "value": {"active": false}}]),
            doc(&[("/active", json!(false)), ("/userName", json!("bjensen"))]),
        ),
        (
            "Okta reactivate with password",
            user(),
            json!([{"op": "replace", "value": {"active": true, "password": "secret"}}]),
            doc(&[("/active", json!(true)), ("/password", Value::Null)]),
        ),
        (
            "Entra path-less replace with dotted and URN keys",
            user(),
            json!([{"op": "replace", "value": entra_flagged}]),
            doc(&[
                ("/displayName", json!("Babs J")),
                ("/name/givenName", json!("Babs")),
                ("/name/familyName", json!("Jensen-Smith")),
                (&ent("employeeNumber"), json!("42")),
                ("/schemas/1", json!(ENT)),
            ]),
        ),
        (
            "extension URN key holding an object",
            user(),
            json!([{"op": "add", "value": {ENT: {"department": "Tours", "manager": "m-9", "bogus": 1}}}]),
            doc(&[
                (&ent("department"), json!("Tours")),
                (&ent("manager/value"), json!("m-9")),
                (&ent("bogus"), Value::Null),
            ]),
        ),
        (
            "read-only, server-owned and unknown keys ignored",
            user(),
            json!([{"op": "replace", "value": {
             "id": "other", "meta": {"version": "x"}, "schemas": [USER_URN], "groups": [],
             "customThing": 1, "urn:example:custom:1.0:User:x": "y", "nickName": "B"}}]),
            doc(&[
                ("/id", json!("u-1")),
                ("/meta/version", json!("W/\"1\"")),
                ("/schemas", json!([USER_URN])),
                ("/groups/0/value", json!("g-1")),
                ("/customThing", Value::Null),
                ("/nickName", json!("B")),
            ]),
        ),
        (
            "replace of a complex attribute keeps unspecified sub-attributes",
            user(),
            json!([{"op": "replace", "value": {"name": {"givenName": "Babs"}}}]),
            doc(&[("/name/givenName", json!("Babs")), ("/name/familyName", json!("Jensen"))]),
        ),
        (
            "add merges multi-valued values",
            user(),
            json!([{"op": "add", "value": {"emails": [{"value": "new@x", "type": "other"}]}}]),
            doc(&[("/emails/2/value", json!("new@x")), ("/emails/0/value", json!("bjensen@example.com"))]),
        ),
        (
            "replace replaces multi-valued values",
            user(),
            json!([{"op": "replace", "value": {"emails": [{"value": "new@x", "type": "other"}]}}]),
            doc(&[("/emails/0/value", json!("new@x")), ("/emails/1", Value::Null)]),
        ),
        (
            "keys with a value filter",
            user(),
            json!([{"op": "replace", "value": {"emails[type eq \"work\"].value": "w@x"}}]),
            doc(&[("/emails/0/value", json!("w@x"))]),
        ),
        (
            "value must be an object",
            user(),
            json!([{"op": "replace", "value": "x"}]),
            Fails(ScimType::InvalidValue, "object"),
        ),
        (
            "value null is not an object",
            user(),
            json!([{"op": "add", "value": null}]),
            Fails(ScimType::InvalidValue, "object"),
        ),
        (
            "extension key with a non-object",
            user(),
            json!([{"op": "add", "value": {ENT: "x"}}]),
            Fails(ScimType::InvalidValue, ENT),
        ),
        (
            "userName set to null is required",
            user(),
            json!([{"op": "replace", "value": {"userName": null}}]),
            Fails(ScimType::Mutability, "userName"),
        ),
        (
            "core schema URN key holding an object",
            user(),
            json!([{"op": "replace", "value": {USER_URN: {"title": "T", "id": "x"}}}]),
            doc(&[("/title", json!("T")), ("/id", json!("u-1"))]),
        ),
        (
            "extension URN key holding null removes the extension",
            enterprise_user(),
            json!([{"op": "replace", "value": {ENT: null}}]),
            doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
        ),
        (
            "keys in any case",
            user(),
            json!([{"op": "replace", "value": {"NICKNAME": "B", "Name.GivenName": "G"}}]),
            doc(&[("/nickName", json!("B")), ("/name/givenName", json!("G"))]),
        ),
    ];
    check_all(&USER_RESOURCE, cases);
}
