//! Filter-tree equality for the round-trip checks of the `filter` and `path` targets.

use scimbox_validator::filter::{Filter, Literal};

/// Tree equality, except that numbers may differ in their last bits: serde_json's default float
/// parser (which the filter lexer and stored documents share) is not correctly rounded, so
/// `7.109e+53` can print and parse back one ulp away (found by this target; see fuzz/README.md).
pub fn same(a: &Filter, b: &Filter) -> bool {
    use Filter::*;
    match (a, b) {
        (And(a1, a2), And(b1, b2)) | (Or(a1, a2), Or(b1, b2)) => same(a1, b1) && same(a2, b2),
        (Not(x), Not(y)) => same(x, y),
        (Present(p), Present(q)) => p == q,
        (Compare(p, o, l), Compare(q, r, m)) => p == q && o == r && same_literal(l, m),
        (ValuePath(p, x), ValuePath(q, y)) => p == q && same(x, y),
        _ => false,
    }
}

fn same_literal(a: &Literal, b: &Literal) -> bool {
    match (a, b) {
        (Literal::Number(x), Literal::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || ((x - y) / x.abs().max(y.abs())).abs() < 1e-14,
            _ => x == y,
        },
        _ => a == b,
    }
}
