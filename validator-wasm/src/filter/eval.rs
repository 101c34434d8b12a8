//! Evaluating a filter against a resource or one element of a complex attribute
//! (RFC 7644 §3.4.2.2), and the value comparisons it uses (shared with `sortBy`).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{CompareOp, Filter, Literal, parse_date_time};
use crate::path::{AttrPath, get_ci, values_of};
use crate::schema::{AttrType, Attribute, ResourceType};

/// What a filter's paths are relative to, and the value they are read from.
#[derive(Clone, Copy)]
pub(super) enum Scope<'a> {
    Resource(&'a ResourceType, &'a Value),
    /// One element of the complex attribute: paths are its sub-attributes.
    Element(&'static Attribute, &'a Value),
}

/// An attribute found in a scope: the attribute, its sub-attribute, and the attribute's value.
struct Located<'a> {
    attr: &'static Attribute,
    sub: Option<&'static Attribute>,
    value: Option<&'a Value>,
}

fn locate<'a>(scope: Scope<'a>, p: &AttrPath) -> Option<Located<'a>> {
    match scope {
        Scope::Resource(rt, resource) => {
            let r = p.resolve(rt).ok()?;
            Some(Located { attr: r.attr, sub: r.sub, value: r.attr_value(resource) })
        }
        Scope::Element(parent, element) => {
            let (attr, sub) = p.resolve_in(parent)?;
            Some(Located { attr, sub, value: get_ci(element, attr.name) })
        }
    }
}

/// The values of a multi-valued attribute, or the single value; none for an absent or `null` one.
fn flatten(v: Option<&Value>) -> Vec<&Value> {
    v.map_or_else(Vec::new, values_of)
}

impl<'a> Located<'a> {
    /// The attribute compared and its non-null values (sub-attribute values of every element;
    /// for a comparison on a complex attribute, its `value` sub-attribute).
    fn leaves(&self, comparing: bool) -> (&'static Attribute, Vec<&'a Value>) {
        let mut target = self.attr;
        let mut values = flatten(self.value);
        if let Some(sub) = self.sub {
            (target, values) = (sub, descend(values, sub));
        }
        if comparing
            && target.ty == AttrType::Complex
            && let Some(value_sub) = target.sub("value")
        {
            (target, values) = (value_sub, descend(values, value_sub));
        }
        values.retain(|v| !v.is_null());
        (target, values)
    }
}

/// The values of sub-attribute `sub` across complex values.
fn descend<'a>(values: Vec<&'a Value>, sub: &Attribute) -> Vec<&'a Value> {
    values.into_iter().flat_map(|e| flatten(get_ci(e, sub.name))).collect()
}

/// Whether `f` matches in `scope`; see [`Filter::matches`].
pub(super) fn eval(f: &Filter, scope: Scope<'_>) -> bool {
    match f {
        Filter::And(a, b) => eval(a, scope) && eval(b, scope),
        Filter::Or(a, b) => eval(a, scope) || eval(b, scope),
        Filter::Not(inner) => !eval(inner, scope),
        Filter::Present(p) => locate(scope, p).is_some_and(|l| l.leaves(false).1.into_iter().any(present)),
        Filter::Compare(p, op, lit) => locate(scope, p).is_some_and(|l| {
            let (target, values) = l.leaves(true);
            compare_all(target, &values, *op, lit)
        }),
        Filter::ValuePath(p, inner) => locate(scope, p).is_some_and(|l| {
            l.sub.is_none()
                && flatten(l.value).into_iter().any(|e| e.is_object() && eval(inner, Scope::Element(l.attr, e)))
        }),
    }
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// `pr` on one value: not null/""/[]/{}, and an object must hold a non-empty member.
fn present(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.values().any(non_empty),
        other => non_empty(other),
    }
}

fn compare_all(target: &Attribute, values: &[&Value], op: CompareOp, lit: &Literal) -> bool {
    if values.is_empty() {
        return match lit {
            Literal::Null => op == CompareOp::Eq,
            _ => op == CompareOp::Ne,
        };
    }
    if *lit == Literal::Null {
        return op == CompareOp::Ne;
    }
    values.iter().any(|v| compare_one(target, v, op, lit))
}

fn compare_one(target: &Attribute, v: &Value, op: CompareOp, lit: &Literal) -> bool {
    match op {
        CompareOp::Eq => equals(target, v, lit),
        CompareOp::Ne => !equals(target, v, lit),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => substring(target, v, op, lit),
        _ => {
            !matches!(target.ty, AttrType::Boolean | AttrType::Binary)
                && order(target, v, lit).is_some_and(|o| op.accepts(o))
        }
    }
}

fn equals(target: &Attribute, v: &Value, lit: &Literal) -> bool {
    order(target, v, lit) == Some(Ordering::Equal)
}

/// How `v` orders against `lit`, if they are comparable.
fn order(target: &Attribute, v: &Value, lit: &Literal) -> Option<Ordering> {
    match (v, lit) {
        (Value::Number(a), Literal::Number(b)) => Some(cmp_numbers(a, b)),
        (Value::String(a), Literal::String(b)) => Some(cmp_strings(target, a, b)),
        (Value::String(a), Literal::Number(b)) => Some(cmp_text(target, a, &b.to_string())),
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        // Entra writes booleans as strings, in values and in filters: `roles[primary eq "True"]`.
        (Value::Bool(a), Literal::String(b)) => crate::resource::parse_bool(b).map(|b| a.cmp(&b)),
        (Value::String(a), Literal::Bool(b)) if target.ty == AttrType::Boolean => {
            crate::resource::parse_bool(a).map(|a| a.cmp(b))
        }
        _ => None,
    }
}

fn substring(target: &Attribute, v: &Value, op: CompareOp, lit: &Literal) -> bool {
    let (Value::String(value), Some(needle)) = (v, lit_text(lit)) else {
        return false;
    };
    let (value, needle) = (fold(target, value), fold(target, &needle));
    match op {
        CompareOp::Co => value.contains(needle.as_ref()),
        CompareOp::Sw => value.starts_with(needle.as_ref()),
        _ => value.ends_with(needle.as_ref()),
    }
}

fn lit_text(lit: &Literal) -> Option<Cow<'_, str>> {
    match lit {
        Literal::String(s) => Some(Cow::Borrowed(s)),
        Literal::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Case folding per `caseExact` (RFC 7643 §2.2), Unicode-aware.
pub(crate) fn fold<'s>(target: &Attribute, s: &'s str) -> Cow<'s, str> {
    if target.case_exact { Cow::Borrowed(s) } else { crate::text::fold(s) }
}

fn cmp_text(target: &Attribute, a: &str, b: &str) -> Ordering {
    fold(target, a).cmp(&fold(target, b))
}

/// dateTimes compare chronologically when both parse, else as text.
fn cmp_strings(target: &Attribute, a: &str, b: &str) -> Ordering {
    if target.ty == AttrType::DateTime
        && let (Some(x), Some(y)) = (parse_date_time(a), parse_date_time(b))
    {
        return x.cmp(&y);
    }
    cmp_text(target, a, b)
}

/// Numbers compare exactly as integers when both are, else as floats.
pub(super) fn cmp_numbers(a: &Number, b: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x.cmp(&y);
    }
    let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
    x.total_cmp(&y)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::filter::Filter;
    use crate::filter::fixtures::{bjensen, jsmith};
    use crate::path::PatchPath;
    use crate::schema::{USER_RESOURCE, USER_SCHEMA};

    /// The filter examples of RFC 7644 §3.4.2.2, with whether they match (bjensen, jsmith).
    const RFC_EXAMPLES: &[(&str, bool, bool)] = &[
        (r#"userName eq "bjensen""#, true, false),
        (r#"name.familyName co "O'Malley""#, true, false),
        (r#"userName sw "J""#, false, true),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#, false, true),
        ("title pr", true, false),
        (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, true, false),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true, true),
        (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false, false),
        (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, false, true),
        (r#"title pr and userType eq "Employee""#, true, false),
        (r#"title pr or userType eq "Intern""#, true, true),
        (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true, false),
        (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true, false),
        (r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false, false),
        (r#"userType eq "Employee" and (emails.type eq "work")"#, true, false),
        (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true, false),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            true,
            true,
        ),
    ];

    /// More filters: every operator, types, case rules, missing values, precedence and leniency.
    const MATCH_TABLE: &[(&str, bool, bool)] = &[
        // eq/ne and case-insensitivity of userName (caseExact false)
        (r#"userName eq "BJENSEN""#, true, false),
        (r#"userName ne "bjensen""#, false, true),
        (r#"userName co "jens""#, true, false),
        (r#"userName ew "SMITH""#, false, true),
        (r#"userName gt "c""#, false, true),
        (r#"userName ge "jsmith""#, false, true),
        (r#"userName lt "c""#, true, false),
        (r#"userName le "bjensen""#, true, false),
        // externalId and id are caseExact
        (r#"externalId eq "Bjensen-Ext""#, true, false),
        (r#"externalId eq "bjensen-ext""#, false, false),
        (r#"externalId sw "bjensen""#, false, false),
        (r#"externalId ne "bjensen-ext""#, true, true),
        (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false, false),
        (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true, false),
        // bare values (Entra, Okta)
        ("externalId eq Bjensen-Ext", true, false),
        ("externalId eq jyoung", false, false),
        ("userName eq bjensen", true, false),
        ("employeeNumber eq 701984", true, false),
        ("employeeNumber gt 7", true, false),
        // missing values: ne matches, the rest do not; null
        (r#"title eq "x""#, false, false),
        (r#"title ne "x""#, true, true),
        (r#"title co "Tour""#, true, false),
        (r#"title gt "a""#, true, false),
        ("title eq null", false, true),
        ("title ne null", true, false),
        (r#"phoneNumbers ne "x""#, true, true),
        ("phoneNumbers pr", false, false),
        // pr: "" and {} are absent
        ("name.familyName pr", true, false),
        ("name pr", true, true),
        ("emails pr", true, true),
        ("externalId pr", true, false),
        // Unicode case folding
        (r#"name.givenName eq "JÜRGEN""#, false, true),
        (r#"name.givenName sw "jü""#, false, true),
        // booleans
        ("active eq true", true, false),
        ("active eq false", false, true),
        ("active ne true", false, true),
        ("ACTIVE EQ TRUE", true, false),
        ("active eq True", true, false),
        // multi-valued complex: any value; the attribute itself means its value
        (r#"emails eq "BJENSEN@example.com""#, true, false),
        (r#"emails.value co "example.org""#, false, true),
        (r#"emails.type eq "home""#, true, false),
        (r#"emails.type ne "work""#, true, false),
        (r#"emails[type eq "work" and value co "@EXAMPLE.org"]"#, false, true),
        (r#"emails[not (type eq "work")]"#, true, false),
        (r#"emails[primary eq true]"#, true, false),
        (r#"emails[type eq "work"]"#, true, true),
        (r#"emails[type eq "work" or (type eq "home" and value ew "@jensen.org")]"#, true, true),
        (r#"addresses[type eq "work" and streetAddress co "universal"]"#, true, false),
        (r#"x509Certificates.value sw "MIID""#, true, false),
        // the extension, qualified or not
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#, true, false),
        (r#"department eq "Tour Operations""#, true, false),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
            true,
            false,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
            true,
            false,
        ),
        (r#"manager.displayName sw "john""#, true, false),
        (r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME eq "jsmith""#, false, true),
        // meta and dateTimes (chronological, not textual)
        (r#"meta.lastModified eq "2011-05-13T04:42:34Z""#, false, true),
        (r#"meta.lastModified ne "2011-05-13T04:42:34Z""#, true, false),
        (r#"meta.created lt "2011-01-01T00:00:00Z""#, true, false),
        (r#"meta.created gt "2011-05-13T04:42:33.999Z""#, false, true),
        (r#"meta.created sw "2010-""#, true, false),
        (r#"meta.resourceType eq "User""#, true, true),
        (r#"schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER""#, true, true),
        (r#"meta.version eq "W/\"3694e05e9dff591\"""#, true, false),
        // precedence () > not > and > or, grouping, keyword case, whitespace
        (r#"userType eq "Employee" or title pr and active eq false"#, true, false),
        (r#"not title pr and userType eq "Intern""#, false, true),
        (r#"not (userName eq "bjensen")"#, false, true),
        (r#"not(userName eq "bjensen")"#, false, true),
        (r#"NOT (UserName EQ "bjensen")"#, false, true),
        (r#"not not userName eq "bjensen""#, true, false),
        (r#"(userName eq "bjensen" or userName eq "jsmith") and active eq true"#, true, false),
        (r#"userName eq "bjensen" or userName eq "jsmith" and active eq true"#, true, false),
        ("((((userName pr))))", true, true),
        ("  userName   eq\t\"bjensen\"  ", true, false),
        (r#"userName eq "bjensen" AND active eq true"#, true, false),
        (r#"userName eq "bjensen" Or userName eq "jsmith""#, true, true),
        (r#"userType ne "Employee" and not (emails co "example.com")"#, false, true),
    ];

    #[test]
    fn rfc_examples_parse_check_and_match() {
        for &(text, b, j) in RFC_EXAMPLES.iter().chain(MATCH_TABLE) {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            f.check(&USER_RESOURCE).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(f.matches(&USER_RESOURCE, &bjensen()), b, "bjensen: {text}");
            assert_eq!(f.matches(&USER_RESOURCE, &jsmith()), j, "jsmith: {text}");
            let again = Filter::parse(&f.to_string()).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(again, f, "display round trip of {text}");
        }
    }

    #[test]
    fn matches_value_evaluates_one_element() {
        let emails = USER_SCHEMA.attribute("emails").unwrap();
        let work = json!({"type": "Work", "value": "A@Example.com", "primary": true});
        let cases = [
            (r#"type eq "work""#, true),
            (r#"value ew "@example.COM""#, true),
            ("primary eq true", true),
            ("display pr", false),
            (r#"display ne "x""#, true),
            (r#"type eq "home" or primary eq true"#, true),
            (r#"not (type eq "home")"#, true),
            (r#"foo eq "x""#, false),
            (r#"foo ne "x""#, false),
        ];
        for (text, want) in cases {
            let f = Filter::parse(text).unwrap();
            assert_eq!(f.matches_value(emails, &work), want, "{text}");
        }
        assert_eq!(Filter::parse(r#"type eq "work" and not (primary pr)"#).unwrap().check_value(emails), Ok(()));
        let err = Filter::parse(r#"typ eq "work""#).unwrap().check_value(emails).unwrap_err();
        assert!(err.detail.contains("\"typ\" is not a sub-attribute of \"emails\""), "{}", err.detail);
        let err = Filter::parse(r#"primary eq "yes""#).unwrap().check_value(emails).unwrap_err();
        assert!(err.detail.contains("boolean"), "{}", err.detail);
        let members = PatchPath::parse(r#"emails[value eq "a@example.com"]"#).unwrap();
        assert!(members.filter.unwrap().matches_value(emails, &work));
    }
}
