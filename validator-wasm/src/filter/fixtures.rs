//! Test fixtures shared by the filter tests: two users after RFC 7643 §8.2 and tree builders.

use serde_json::{Value, json};

use super::{CompareOp, Filter, Literal};
use crate::path::AttrPath;
use crate::schema::{ENTERPRISE_USER_URN as ENT, USER_URN};

/// Barbara Jensen, after RFC 7643 §8.2 (with a few changes to exercise more cases).
pub(super) fn bjensen() -> Value {
    json!({
        "schemas": [USER_URN, ENT],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen-Ext",
        "userName": "BJensen",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "O'Malley-Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "primary": true}],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
        ENT: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2012-01-01T00:00:00Z",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
            "version": "W/\"3694e05e9dff591\""
        }
    })
}

/// A sparser user: no title, externalId or extension; an empty family name; a lastModified
/// equal to 2011-05-13T04:42:34Z but written with an offset.
pub(super) fn jsmith() -> Value {
    json!({
        "schemas": [USER_URN],
        "id": "c0ffee00-0000-4000-8000-000000000001",
        "userName": "jsmith",
        "name": {"givenName": "Jürgen", "familyName": ""},
        "userType": "Intern",
        "active": false,
        "emails": [{"value": "JS@Example.ORG", "type": "work"}],
        "ims": [{"value": "js@foo.com", "type": "xmpp"}],
        "meta": {
            "resourceType": "User",
            "created": "2011-05-13T04:42:34Z",
            "lastModified": "2011-05-13T06:42:34+02:00"
        }
    })
}

pub(super) fn p(name: &str) -> AttrPath {
    AttrPath::parse(name).unwrap()
}
pub(super) fn pr(name: &str) -> Filter {
    Filter::Present(p(name))
}
pub(super) fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}
pub(super) fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}
pub(super) fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}
pub(super) fn cmp(name: &str, op: CompareOp, lit: Literal) -> Filter {
    Filter::Compare(p(name), op, lit)
}
