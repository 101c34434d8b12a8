//! Property tests for the parsers (issue 11, "Fuzzing"): on any input they return a verdict, never
//! panic, and what they accept prints back to text that parses to the same thing. The cargo-fuzz
//! targets in `fuzz/` check the same properties for longer (`scripts/fuzz.sh`); these run in the
//! normal test suite, a few hundred cases each.

use proptest::prelude::*;
use scimbox_validator::accounts::{Catalogue, Document, PayloadFault, parse_accounts, parse_payload};
use scimbox_validator::filter::{CompareOp, Filter, Literal, MAX_FILTER_LEN};
use scimbox_validator::patch::{apply_patch, parse_patch};
use scimbox_validator::path::{AttrPath, PatchPath};
use scimbox_validator::resource::normalize;
use scimbox_validator::schema::{GROUP_RESOURCE, USER_RESOURCE};
use serde_json::{Value, json};

// ------------------------------------------------------------------------------- strategies

/// Text made of the filter grammar's pieces and a little noise: far more likely than random
/// strings to reach deep into the parser.
fn filterish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("userName"),
        Just("emails"),
        Just("name.givenName"),
        Just("meta.created"),
        Just("type"),
        Just("urn:ietf:params:scim:schemas:core:2.0:User:"),
        Just("value"),
        Just("."),
        Just(":"),
        Just(" "),
        Just("  "),
        Just("eq"),
        Just("Co"),
        Just("pr"),
        Just("gt"),
        Just("and"),
        Just("OR"),
        Just("not"),
        Just("("),
        Just(")"),
        Just("["),
        Just("]"),
        Just("\""),
        Just("\"work\""),
        Just("\"é\\u00e9\\\"\""),
        Just("1.5e3"),
        Just("-7"),
        Just("true"),
        Just("null"),
        Just("\t"),
        Just("ü"),
        Just("😀"),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// An attribute name the grammar accepts and that is not a keyword.
fn attr_name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,6}"
        .prop_filter("not a keyword", |s| !["not", "and", "or"].iter().any(|k| s.eq_ignore_ascii_case(k)))
}

fn attr_path(with_urn: bool) -> impl Strategy<Value = AttrPath> {
    let urn = if with_urn {
        prop_oneof![3 => Just(None), 1 => Just(Some("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()))].boxed()
    } else {
        Just(None).boxed()
    };
    (urn, attr_name(), prop::option::of(attr_name())).prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<String>().prop_map(Literal::String),
        any::<i64>().prop_map(|n| Literal::Number(n.into())),
        (-1_000_000i32..1_000_000, 0u8..3).prop_map(|(n, d)| {
            Literal::Number(serde_json::Number::from_f64(f64::from(n) / 10f64.powi(i32::from(d))).expect("finite"))
        }),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Lt,
        CompareOp::Ge,
        CompareOp::Le,
    ])
}

/// Filter trees; `value_paths` says whether `a[...]` may appear (never inside another one).
fn filter_tree(value_paths: bool) -> BoxedStrategy<Filter> {
    let leaf = prop_oneof![
        attr_path(value_paths).prop_map(Filter::Present),
        (attr_path(value_paths), compare_op(), literal()).prop_map(|(p, o, l)| Filter::Compare(p, o, l)),
    ];
    let tree = leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    });
    if !value_paths {
        return tree.boxed();
    }
    let value_path = (attr_path(false), filter_tree(false))
        .prop_map(|(mut p, inner)| {
            p.sub = None;
            Filter::ValuePath(p, Box::new(inner))
        })
        .boxed();
    prop_oneof![3 => tree.clone(), 1 => value_path.clone(),
        1 => (tree, value_path).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b)))]
    .boxed()
}

// ----------------------------------------------------------------------------------- filters

proptest! {
    #[test]
    fn the_filter_parser_never_panics(s in prop_oneof![any::<String>(), filterish()]) {
        if let Ok(f) = Filter::parse(&s) {
            let printed = f.to_string();
            if printed.chars().count() <= MAX_FILTER_LEN {
                prop_assert_eq!(Filter::parse(&printed).ok(), Some(f), "{:?} -> {:?}", s, printed);
            }
        }
    }

    #[test]
    fn filters_print_and_parse_back(f in filter_tree(true)) {
        let printed = f.to_string();
        prop_assert_eq!(Filter::parse(&printed).ok(), Some(f), "{:?}", printed);
    }
}

// ------------------------------------------------------------------------------------- paths

proptest! {
    #[test]
    fn the_path_parsers_never_panic(s in prop_oneof![any::<String>(), filterish()]) {
        if let Ok(p) = PatchPath::parse(&s) {
            let printed = p.to_string();
            if printed.chars().count() <= MAX_FILTER_LEN {
                prop_assert_eq!(PatchPath::parse(&printed).ok(), Some(p), "{:?} -> {:?}", s, printed);
            }
        }
        if let Ok(p) = AttrPath::parse(&s) {
            prop_assert_eq!(AttrPath::parse(&p.to_string()).ok(), Some(p.clone()));
            let _ = p.resolve(&USER_RESOURCE);
            let _ = p.resolve(&GROUP_RESOURCE);
        }
    }

    #[test]
    fn patch_paths_print_and_parse_back(
        attr in attr_path(true),
        filter in prop::option::of(filter_tree(false)),
        sub in prop::option::of(attr_name()),
    ) {
        let path = match filter {
            Some(f) => PatchPath { attr: AttrPath { sub: None, ..attr }, filter: Some(f), sub },
            None => PatchPath { attr, filter: None, sub: None },
        };
        let printed = path.to_string();
        prop_assert_eq!(PatchPath::parse(&printed).ok(), Some(path), "{:?}", printed);
    }
}

// ------------------------------------------------------------------------------------- PATCH

fn patch_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        prop_oneof![Just(""), Just("work"), Just("x@example.com"), Just("True"), Just("2011-05-13T04:42:34Z")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("value"),
                        Just("type"),
                        Just("primary"),
                        Just("givenName"),
                        Just("display"),
                        Just("employeeNumber"),
                        Just("bogus")
                    ],
                    inner
                ),
                0..3
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn patch_op() -> impl Strategy<Value = Value> {
    let op = prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("move")];
    let path = prop::option::of(prop_oneof![
        Just("userName".to_owned()),
        Just("name.givenName".to_owned()),
        Just("emails".to_owned()),
        Just("emails[type eq \"work\"].value".to_owned()),
        Just("emails[value co \"x\"]".to_owned()),
        Just("members".to_owned()),
        Just("members[value eq \"2819c223\"]".to_owned()),
        Just("active".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        Just("displayName".to_owned()),
        Just("id".to_owned()),
        filterish(),
    ]);
    (op, path, prop::option::of(patch_value())).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), op.into());
        if let Some(p) = path {
            o.insert("path".into(), p.into());
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

fn start_docs() -> Vec<(&'static scimbox_validator::schema::ResourceType, serde_json::Map<String, Value>)> {
    let user = json!({
        "userName": "bjensen", "name": {"givenName": "Barbara"}, "active": true,
        "emails": [{"value": "b@example.com", "type": "work", "primary": true}, {"value": "b@home.org", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "26118915"}}
    });
    let group = json!({"displayName": "Tour Guides", "members": [{"value": "2819c223", "type": "User"}]});
    vec![
        (&USER_RESOURCE, normalize(&USER_RESOURCE, &user).expect("a valid user")),
        (&GROUP_RESOURCE, normalize(&GROUP_RESOURCE, &group).expect("a valid group")),
    ]
}

proptest! {
    /// Arbitrary operation lists never panic. The server patches a working copy and drops it on
    /// error, so a failing request leaves the stored document as it was; the error names the
    /// operation at fault; and a list that applies means the same as its operations in turn.
    #[test]
    fn patch_application_never_panics(ops in prop::collection::vec(patch_op(), 0..6)) {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let Ok(ops) = parse_patch(&body) else { return Ok(()) };
        for (rt, stored) in start_docs() {
            let mut work = stored.clone();
            match apply_patch(rt, &mut work, &ops) {
                Err(e) => prop_assert!(e.detail.starts_with("Operations["), "{:?}", e),
                Ok(()) => {
                    let mut stepwise = stored.clone();
                    for op in &ops {
                        prop_assert!(apply_patch(rt, &mut stepwise, std::slice::from_ref(op)).is_ok());
                    }
                    prop_assert_eq!(&work, &stepwise);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------- accounts

/// JSON-ish text with multi-byte characters and line breaks, so that positions are tested
/// where characters and bytes differ.
fn payloadish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(","),
        Just(":"),
        Just("\""),
        Just("\n"),
        Just("\r\n"),
        Just(" "),
        Just("\t"),
        Just("\"accountId\""),
        Just("\"acountId\""),
        Just("\"roles\""),
        Just("\"teams\""),
        Just("\"status\""),
        Just("\"ACC123\""),
        Just("\"Editor\""),
        Just("\"Active\""),
        Just("\"é😀\""),
        Just("é"),
        Just("😀"),
        Just("null"),
        Just("tru"),
        Just("1e"),
        Just("-0.5"),
        Just("//"),
        Just("/*"),
        Just("\\u00e9"),
        Just("\\ud800"),
        Just("'"),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

/// Asserts that a fault's line and column point inside `text`, at a character boundary.
fn assert_positioned(text: &str, faults: &[PayloadFault]) -> Result<(), TestCaseError> {
    for f in faults {
        let (Some(line), Some(column)) = (f.line, f.column) else { continue };
        let lines: Vec<&str> = text.split('\n').collect();
        prop_assert!(line >= 1 && line <= lines.len(), "line {} of {}: {:?}", line, lines.len(), f);
        let this = lines[line - 1];
        let width = this.chars().count();
        prop_assert!(column >= 1 && column <= width + 1, "column {} of {}: {:?}", column, width, f);
        let line_start: usize = lines[..line - 1].iter().map(|l| l.len() + 1).sum();
        let in_line = this.char_indices().nth(column - 1).map_or(this.len(), |(i, _)| i);
        let at = line_start + in_line;
        prop_assert!(at <= text.len() && text.is_char_boundary(at), "{:?} in {:?}", f, text);
        let _ = f.detail();
    }
    Ok(())
}

proptest! {
    #[test]
    fn the_accounts_parser_never_panics_and_positions_are_in_the_text(
        text in prop_oneof![any::<String>(), payloadish()],
        closed in any::<bool>(),
    ) {
        let cat = if closed {
            Catalogue { accounts: Some(["ACC123".to_owned()].into()), roles: Some(vec!["Editor".to_owned()]) }
        } else {
            Catalogue::default()
        };
        match parse_payload(&text, &cat) {
            Ok(a) => prop_assert_eq!(parse_payload(&a.to_payload(), &cat).map(|b| b.to_payload()), Ok(a.to_payload())),
            Err(faults) => assert_positioned(&text, &faults)?,
        }
        // As an attribute value or a document, a payload written in a string is positioned
        // within that string (the module's rule), so only the position's shape is checked.
        let mut faults = parse_accounts(&Value::from(text.as_str()), &cat).err().unwrap_or_default();
        faults.extend(match Document::parse(&text) {
            Ok(doc) if doc.is_user_body() => doc.split_user(&cat).1.err().unwrap_or_default(),
            Ok(doc) => doc.accounts(&cat).err().unwrap_or_default(),
            Err(fault) => vec![fault],
        });
        for f in &faults {
            prop_assert!(f.line.is_none_or(|l| l >= 1) && f.column.is_none_or(|c| c >= 1), "{:?}", f);
        }
    }
}
