//! PATCH tests: remove (RFC 7644 §3.5.2.2).

use super::*;

#[test]
fn remove_with_path() {
    let cases = vec![
        (
            "single attribute",
            user(),
            json!([{"op": "remove", "path": "displayName"}]),
            doc(&[("/displayName", Value::Null), ("/userName", json!("bjensen"))]),
        ),
        (
            "absent attribute: no-op",
            user(),
            json!([{"op": "remove", "path": "title"}]),
            doc(&[("/title", Value::Null)]),
        ),
        (
            "sub-attribute",
            user(),
            json!([{"op": "remove", "path": "name.givenName"}]),
            doc(&[("/name/givenName", Value::Null), ("/name/familyName", json!("Jensen"))]),
        ),
        (
            "last sub-attribute removes the complex attribute",
            user(),
            json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "NAME.FAMILYNAME"}]),
            doc(&[("/name", Value::Null)]),
        ),
        (
            "multi-valued without filter",
            user(),
            json!([{"op": "remove", "path": "emails"}]),
            doc(&[("/emails", Value::Null)]),
        ),
        (
            "Entra: remove emails[type eq \"work\"]",
            user(),
            json!([{"op": "Remove", "path": "emails[type eq \"work\"]"}]),
            doc(&[("/emails/0/type", json!("home")), ("/emails/1", Value::Null)]),
        ),
        (
            "filter removing the last element unassigns",
            json!({"userName": "a", "emails": [{"value": "a@x", "type": "work"}]}),
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
            doc(&[("/emails", Value::Null)]),
        ),
        (
            "filter and sub-attribute",
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
            doc(&[("/emails/0/primary", Value::Null), ("/emails/0/value", json!("bjensen@example.com"))]),
        ),
        (
            "filter matching nothing: no-op",
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
            doc(&[("/emails/1/type", json!("home"))]),
        ),
        (
            "value list on emails removes only those",
            user(),
            json!([{"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
            doc(&[("/emails/0/type", json!("work")), ("/emails/1", Value::Null)]),
        ),
        (
            "value on a single-valued attribute is ignored",
            enterprise_user(),
            json!([{"op": "remove", "path": format!("{ENT}:manager"), "value": [{"value": "m-1"}]}]),
            doc(&[(&ent("manager"), Value::Null)]),
        ),
        (
            "from an extension the user lacks: no-op",
            user(),
            json!([{"op": "remove", "path": format!("{ENT}:department")}]),
            doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
        ),
        (
            "the whole extension",
            enterprise_user(),
            json!([{"op": "remove", "path": ENT}]),
            doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
        ),
        ("password", user(), json!([{"op": "remove", "path": "password"}]), doc(&[("/password", Value::Null)])),
        (
            "required userName",
            user(),
            json!([{"op": "remove", "path": "userName"}]),
            Fails(ScimType::Mutability, "\"userName\" is required"),
        ),
        (
            "required userName, URN-qualified",
            user(),
            json!([{"op": "remove", "path": format!("{USER_URN}:username")}]),
            Fails(ScimType::Mutability, "userName"),
        ),
        ("readOnly id", user(), json!([{"op": "remove", "path": "id"}]), Fails(ScimType::Mutability, "\"id\"")),
        ("readOnly meta", user(), json!([{"op": "remove", "path": "meta"}]), Fails(ScimType::Mutability, "\"meta\"")),
        (
            "readOnly groups",
            user(),
            json!([{"op": "remove", "path": "groups[value eq \"g-1\"]"}]),
            Fails(ScimType::Mutability, "\"groups\""),
        ),
        (
            "unknown attribute",
            user(),
            json!([{"op": "remove", "path": "shoeSize"}]),
            Fails(ScimType::InvalidPath, "shoeSize"),
        ),
    ];
    check_all(&USER_RESOURCE, cases);
}
