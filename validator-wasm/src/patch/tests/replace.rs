//! PATCH tests: replace (RFC 7644 §3.5.2.3).

use super::*;

#[test]
fn replace_with_path() {
    let cases = vec![
        (
            "Entra disable (string boolean kept for the caller)",
            user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            doc(&[("/active", json!("False"))]),
        ),
        (
            "flagged Entra disable",
            user(),
            json!([{"op": "replace", "path": "active", "value": false}]),
            doc(&[("/active", json!(false))]),
        ),
        (
            "missing attribute is added",
            user(),
            json!([{"op": "replace", "path": "title", "value": "Guide"}]),
            doc(&[("/title", json!("Guide"))]),
        ),
        (
            "missing sub-attribute is added",
            bare_user(),
            json!([{"op": "replace", "path": "name.familyName", "value": "Doe"}]),
            doc(&[("/name/familyName", json!("Doe"))]),
        ),
        (
            "multi-valued without filter: all replaced",
            user(),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x", "type": "work"}]}]),
            doc(&[("/emails/0/value", json!("only@x")), ("/emails/1", Value::Null)]),
        ),
        (
            "multi-valued replaced by an empty list is unassigned",
            user(),
            json!([{"op": "replace", "path": "emails", "value": []}]),
            doc(&[("/emails", Value::Null)]),
        ),
        (
            "filter with no match",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@x"}}]),
            Fails(ScimType::NoTarget, "emails"),
        ),
        (
            "filter with no match, eq and sub-attribute: Entra upsert",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}]),
            doc(&[("/emails/2", json!({"type": "other", "value": "o@x"}))]),
        ),
        (
            "filter with no match, non-eq and sub-attribute",
            user(),
            json!([{"op": "replace", "path": "emails[value sw \"zzz\"].display", "value": "x"}]),
            Fails(ScimType::NoTarget, "matched no value"),
        ),
        (
            "filter with no match, or-filter and sub-attribute",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "x"}]),
            Fails(ScimType::NoTarget, "emails"),
        ),
        (
            "filter matching: sub-attribute replaced on every match",
            json!({"userName": "a",
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "work"}, {"value": "c@x", "type": "home"}]}),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].display", "value": "W"}]),
            doc(&[
                ("/emails/0/display", json!("W")),
                ("/emails/1/display", json!("W")),
                ("/emails/2/display", Value::Null),
            ]),
        ),
        (
            "new primary via a filter clears the old one",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
            doc(&[("/emails/1/primary", json!(true)), ("/emails/0/primary", json!(false))]),
        ),
        (
            "replace manager with a raw string",
            enterprise_user(),
            json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": "m-2"}]),
            doc(&[(&ent("manager/value"), json!("m-2")), (&ent("manager/displayName"), json!("John Smith"))]),
        ),
        (
            "Entra clears the manager",
            enterprise_user(),
            json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": ""}}]),
            doc(&[(&ent("manager"), Value::Null), (&ent("employeeNumber"), json!("701984"))]),
        ),
        (
            "clearing the last extension attribute drops the extension",
            {
                let mut u = user();
                u["schemas"] = json!([USER_URN, ENT]);
                u[ENT] = json!({"manager": {"value": "m-1"}});
                u
            },
            json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": ""}}]),
            doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
        ),
        (
            "whole extension as the path",
            user(),
            json!([{"op": "replace", "path": ENT, "value": {"department": "D", "costCenter": "4130"}}]),
            doc(&[(&ent("department"), json!("D")), (&ent("costCenter"), json!("4130"))]),
        ),
        (
            "userName set to null",
            user(),
            json!([{"op": "replace", "path": "userName", "value": null}]),
            Fails(ScimType::Mutability, "userName"),
        ),
        (
            "replace with filter and null value unassigns matches",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": null}]),
            doc(&[("/emails/1", Value::Null), ("/emails/0/type", json!("work"))]),
        ),
        (
            "replace a filtered element given as a one-element list",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"]",
                    "value": [{"value": "h@x", "type": "home"}]}]),
            doc(&[("/emails/1", json!({"value": "h@x", "type": "home"}))]),
        ),
        (
            "replace a filtered element with a new primary",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"]",
                    "value": {"value": "h@x", "type": "home", "primary": true}}]),
            doc(&[("/emails/1/primary", json!(true)), ("/emails/0/primary", json!(false))]),
        ),
        (
            "filter on primary",
            user(),
            json!([{"op": "replace", "path": "emails[primary eq true].display", "value": "P"}]),
            doc(&[("/emails/0/display", json!("P")), ("/emails/1/display", Value::Null)]),
        ),
    ];
    check_all(&USER_RESOURCE, cases);
}
