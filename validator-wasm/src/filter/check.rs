//! Checking a filter against a resource type (RFC 7644 §3.4.2.2): paths resolve, hidden
//! attributes are refused, operators and literals suit the attribute's type.

use std::fmt;

use super::{CompareOp, Filter, Literal, parse_date_time};
use crate::error::{Result, ValidationError};
use crate::path::{self, AttrPath, clip};
use crate::schema::{AttrType, Attribute, ResourceType};

/// What a filter's paths are relative to.
#[derive(Clone, Copy)]
pub(super) enum CheckScope<'a> {
    Resource(&'a ResourceType),
    /// Inside `attr[...]`: paths are sub-attributes of `attr`.
    Element(&'static Attribute),
}

fn invalid(detail: impl fmt::Display) -> ValidationError {
    ValidationError::filter(format!("invalid filter: {detail}"))
}

/// Checks `f` in `scope`; see [`Filter::check`].
pub(super) fn check_in(f: &Filter, scope: CheckScope<'_>) -> Result<()> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_in(a, scope)?;
            check_in(b, scope)
        }
        Filter::Not(inner) => check_in(inner, scope),
        Filter::Present(p) => check_target(scope, p).map(|_| ()),
        Filter::Compare(p, op, lit) => {
            let target = comparable(check_target(scope, p)?, p)?;
            check_literal(target, p, *op, lit)
        }
        Filter::ValuePath(p, inner) => {
            let attr = check_value_path(scope, p)?;
            check_in(inner, CheckScope::Element(attr))
        }
    }
}

/// The attribute `p` designates in `scope`, unless unknown or never returned.
fn check_target(scope: CheckScope<'_>, p: &AttrPath) -> Result<&'static Attribute> {
    let (attr, sub) = match scope {
        CheckScope::Resource(rt) => {
            let r = p.resolve(rt).map_err(|e| invalid(e.detail))?;
            (r.attr, r.sub)
        }
        CheckScope::Element(parent) => resolve_in_element(parent, p)?,
    };
    if let Some(hidden) = [Some(attr), sub].into_iter().flatten().find(|a| path::is_hidden(a)) {
        return Err(invalid(format!(
            "\"{}\" cannot be used in a filter: its value is never returned (RFC 7643 §7 returned: never)",
            hidden.name
        )));
    }
    Ok(sub.unwrap_or(attr))
}

fn resolve_in_element(
    parent: &'static Attribute,
    p: &AttrPath,
) -> Result<(&'static Attribute, Option<&'static Attribute>)> {
    if p.urn.is_some() {
        return Err(invalid(format!(
            "inside \"{}[...]\" paths are sub-attributes of {}: write \"{}\", not \"{p}\"",
            parent.name, parent.name, p.name
        )));
    }
    let attr = parent.sub(&p.name).ok_or_else(|| {
        invalid(format!(
            "\"{}\" is not a sub-attribute of \"{}\" (its sub-attributes are {})",
            p.name,
            parent.name,
            path::sub_names(parent)
        ))
    })?;
    match &p.sub {
        None => Ok((attr, None)),
        Some(sub) => Err(invalid(format!(
            "\"{}.{}\" has no sub-attribute \"{sub}\": sub-attributes do not nest",
            parent.name, attr.name
        ))),
    }
}

/// A complex attribute compared directly means its `value` sub-attribute (RFC 7644 §3.4.2.2).
fn comparable(target: &'static Attribute, p: &AttrPath) -> Result<&'static Attribute> {
    if target.ty != AttrType::Complex {
        return Ok(target);
    }
    target.sub("value").ok_or_else(|| {
        invalid(format!(
            "\"{p}\" is a complex attribute without a value sub-attribute; compare one of its sub-attributes ({}) or use pr",
            path::sub_names(target)
        ))
    })
}

fn check_literal(t: &Attribute, p: &AttrPath, op: CompareOp, lit: &Literal) -> Result<()> {
    if *lit == Literal::Null {
        return match op {
            CompareOp::Eq | CompareOp::Ne => Ok(()),
            _ => Err(invalid(format!("null can only be compared with eq or ne, not {op} (\"{p}\")"))),
        };
    }
    match t.ty {
        AttrType::Boolean => check_boolean(p, op, lit),
        AttrType::Integer | AttrType::Decimal => check_number(t, p, op, lit),
        AttrType::Binary if op.is_ordering() => Err(invalid(format!(
            "{op} cannot be applied to the binary attribute \"{p}\" (RFC 7644 §3.4.2.2); use eq, ne, co, sw, ew or pr"
        ))),
        AttrType::DateTime => check_date_time(p, op, lit),
        _ => match lit {
            Literal::Bool(b) => Err(invalid(format!(
                "\"{p}\" is a {} attribute; compare it with a quoted string such as \"{b}\", not {b}",
                t.ty.as_str()
            ))),
            _ => Ok(()),
        },
    }
}

fn check_boolean(p: &AttrPath, op: CompareOp, lit: &Literal) -> Result<()> {
    if op != CompareOp::Eq && op != CompareOp::Ne {
        return Err(invalid(format!(
            "{op} cannot be applied to the boolean attribute \"{p}\" (RFC 7644 §3.4.2.2); use eq, ne or pr"
        )));
    }
    match lit {
        Literal::Bool(_) => Ok(()),
        // "True"/"False" strings, as Entra ID writes them (idp-behaviour.md §2.4 item 2).
        Literal::String(s) if crate::resource::parse_bool(s).is_some() => Ok(()),
        other => Err(invalid(format!(
            "\"{p}\" is a boolean attribute; compare it with true or false, not {}",
            other.describe()
        ))),
    }
}

fn check_number(t: &Attribute, p: &AttrPath, op: CompareOp, lit: &Literal) -> Result<()> {
    if op.is_substring() {
        return Err(invalid(format!(
            "{op} applies to strings; \"{p}\" is a {} attribute (use eq, ne, gt, ge, lt, le or pr)",
            t.ty.as_str()
        )));
    }
    match lit {
        Literal::Number(_) => Ok(()),
        other => Err(invalid(format!(
            "\"{p}\" is a {} attribute; compare it with a number, not {}",
            t.ty.as_str(),
            other.describe()
        ))),
    }
}

fn check_date_time(p: &AttrPath, op: CompareOp, lit: &Literal) -> Result<()> {
    let Literal::String(s) = lit else {
        return Err(invalid(format!(
            "\"{p}\" is a dateTime attribute; compare it with a quoted dateTime such as \"2011-05-13T04:42:34Z\", not {}",
            lit.describe()
        )));
    };
    if !op.is_substring() && parse_date_time(s).is_none() {
        return Err(invalid(format!(
            "\"{}\" is not a valid dateTime for \"{p}\"; use RFC 3339, e.g. \"2011-05-13T04:42:34Z\"",
            clip(s)
        )));
    }
    Ok(())
}

fn check_value_path(scope: CheckScope<'_>, p: &AttrPath) -> Result<&'static Attribute> {
    if let CheckScope::Element(parent) = scope {
        return Err(invalid(format!("value filters cannot be nested: \"{p}[...]\" inside \"{}[...]\"", parent.name)));
    }
    let attr = check_target(scope, p)?;
    if p.sub.is_some() || attr.ty != AttrType::Complex {
        return Err(invalid(format!(
            "\"{p}\" is not a complex attribute; \"[...]\" value filters apply to complex attributes such as emails[type eq \"work\"]"
        )));
    }
    Ok(attr)
}

#[cfg(test)]
mod tests {
    use crate::error::ScimType;
    use crate::filter::Filter;
    use crate::filter::fixtures::{p, pr};
    use crate::schema::USER_RESOURCE;

    #[test]
    fn check_rejects_unknown_hidden_and_mistyped() {
        let cases = [
            (r#"nickname2 eq "x""#, "unknown attribute \"nickname2\""),
            (r#"name.first eq "x""#, "unknown sub-attribute \"first\" of \"name\""),
            (r#"userName.x eq "x""#, "\"userName\" has no sub-attributes"),
            (r#"urn:example:x:foo eq 1"#, "unknown schema \"urn:example:x\""),
            (r#"password eq "x""#, "\"password\" cannot be used in a filter"),
            ("password pr", "\"password\" cannot be used in a filter"),
            ("active gt true", "gt cannot be applied to the boolean attribute \"active\""),
            (r#"active co "t""#, "co cannot be applied to the boolean attribute"),
            (
                r#"active eq "yes""#,
                "\"active\" is a boolean attribute; compare it with true or false, not the string \"yes\"",
            ),
            ("active eq 1", "compare it with true or false, not the number 1"),
            (r#"x509Certificates.value gt "a""#, "gt cannot be applied to the binary attribute"),
            (r#"x509Certificates le "a""#, "binary attribute"),
            ("userName eq true", "compare it with a quoted string such as \"true\""),
            (r#"meta.lastModified gt "yesterday""#, "\"yesterday\" is not a valid dateTime"),
            ("meta.lastModified gt 5", "is a dateTime attribute"),
            ("title gt null", "null can only be compared with eq or ne"),
            (r#"name eq "x""#, "\"name\" is a complex attribute without a value sub-attribute"),
            (r#"userName[value eq "x"]"#, "\"userName\" is not a complex attribute"),
            (
                r#"emails[foo eq "x"]"#,
                "\"foo\" is not a sub-attribute of \"emails\" (its sub-attributes are value, display, type, primary)",
            ),
            (r#"emails[urn:ietf:params:scim:schemas:core:2.0:User:type eq "x"]"#, "write \"type\""),
            (r#"emails[type.x eq "x"]"#, "sub-attributes do not nest"),
            (r#"title pr and (active eq "yes" or title pr)"#, "boolean attribute"),
            (r#"not (password eq "x")"#, "password"),
        ];
        for (text, needle) in cases {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let err = f.check(&USER_RESOURCE).expect_err(text);
            assert_eq!(err.scim_type, ScimType::InvalidFilter, "{text}");
            assert!(err.detail.contains(needle), "{text}: {}", err.detail);
        }
        let nested = Filter::ValuePath(p("emails"), Box::new(Filter::ValuePath(p("type"), Box::new(pr("value")))));
        assert!(nested.check(&USER_RESOURCE).unwrap_err().detail.contains("cannot be nested"));
        // Fine: pr on anything visible, operators on the types they suit.
        for text in ["name pr", "x509Certificates pr", "meta pr", "emails.primary eq false", "meta.created sw \"2011\""]
        {
            let f = Filter::parse(text).unwrap();
            assert_eq!(f.check(&USER_RESOURCE), Ok(()), "{text}");
        }
    }
}
