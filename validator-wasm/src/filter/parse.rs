//! The filter parser: recursive descent over the tokens of [`super::lex`], for filters
//! (RFC 7644 §3.4.2.2) and PATCH paths (RFC 7644 §3.5.2). Recursion is bounded by
//! [`MAX_FILTER_DEPTH`].

use std::fmt;

use super::lex::{Syntax, Tok, Token, lex};
use super::{CompareOp, Filter, Literal, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use crate::error::{Result, ValidationError};
use crate::path::{self, AttrPath, PatchPath, clip, parse_attr_path};

const OPERATOR_LIST: &str = "(eq, ne, co, sw, ew, gt, ge, lt, le, pr)";

/// Parses a filter; see [`Filter::parse`].
pub(super) fn parse_filter(s: &str) -> Result<Filter> {
    let mut p = Parser::new(s, Syntax::Filter)?;
    if p.toks.is_empty() {
        return Err(ValidationError::filter(
            "invalid filter: the filter is empty; expected an expression such as userName eq \"bjensen\"",
        ));
    }
    let filter = p.or_expr(0, false)?;
    p.finish()?;
    Ok(filter)
}

/// Parses a PATCH path (RFC 7644 §3.5.2); see [`PatchPath::parse`].
pub(crate) fn parse_patch_path(s: &str) -> Result<PatchPath> {
    let mut p = Parser::new(s, Syntax::Path)?;
    if p.toks.is_empty() {
        return Err(ValidationError::path(
            "invalid path: the path is empty; expected e.g. name.givenName or emails[type eq \"work\"].value",
        ));
    }
    let (attr, _) = p.path()?;
    let mut patch = PatchPath { attr, filter: None, sub: None };
    if p.peek().is_some_and(|t| t.tok == Tok::LBracket) {
        patch.filter = Some(p.value_filter(&patch.attr, 0, false)?);
        patch.sub = p.trailing_sub()?;
    }
    if p.peek().is_some() {
        let detail = if patch.filter.is_some() {
            format!("expected the end of the path or \".subAttribute\" right after \"]\", found {}", p.found())
        } else {
            format!(
                "expected the end of the path after \"{}\", found {}; a path is an attribute (name.givenName) \
                 or a value filter (emails[type eq \"work\"].value)",
                patch.attr,
                p.found()
            )
        };
        return Err(p.error_here(detail));
    }
    Ok(patch)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Input length in characters, the position reported for "end of input".
    len: usize,
    syn: Syntax,
}

impl Parser {
    fn new(s: &str, syn: Syntax) -> Result<Parser> {
        if s.len() > MAX_FILTER_LEN {
            let n = s.chars().count();
            if n > MAX_FILTER_LEN {
                return Err(syn.error(format!(
                    ": the {} is {n} characters long; at most {MAX_FILTER_LEN} are allowed",
                    syn.noun()
                )));
            }
        }
        let chars: Vec<char> = s.chars().collect();
        let toks = lex(&chars, syn)?;
        Ok(Parser { toks, pos: 0, len: chars.len(), syn })
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += usize::from(t.is_some());
        t
    }

    /// What comes next, for "found ..." in error details.
    fn found(&self) -> String {
        self.peek().map_or_else(|| format!("the end of the {}", self.syn.noun()), Token::describe)
    }

    /// ` after "x"` naming the previous token, if any.
    fn after(&self) -> String {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or_else(String::new, |t| format!(" after {}", t.describe()))
    }

    /// An error at the next token (or the end of input).
    fn error_here(&self, detail: impl fmt::Display) -> ValidationError {
        let at = self.peek().map_or(self.len, |t| t.start);
        self.syn.error_at(at, detail)
    }

    fn deeper(&self, depth: usize) -> Result<usize> {
        let depth = depth + 1;
        if depth > MAX_FILTER_DEPTH {
            return Err(self.error_here(format!(
                "the {} nests more than {MAX_FILTER_DEPTH} levels of parentheses, \"not\" and \"[...]\"; simplify it",
                self.syn.noun()
            )));
        }
        Ok(depth)
    }

    /// `or` has the lowest precedence.
    fn or_expr(&mut self, depth: usize, in_brackets: bool) -> Result<Filter> {
        self.chain("or", Filter::Or, Self::and_expr, depth, in_brackets)
    }

    fn and_expr(&mut self, depth: usize, in_brackets: bool) -> Result<Filter> {
        self.chain("and", Filter::And, Self::unary, depth, in_brackets)
    }

    /// `operand *(keyword operand)`, grouped to the left with `join`.
    fn chain(
        &mut self,
        keyword: &str,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
        operand: fn(&mut Self, usize, bool) -> Result<Filter>,
        depth: usize,
        in_brackets: bool,
    ) -> Result<Filter> {
        let mut left = operand(self, depth, in_brackets)?;
        while self.peek().is_some_and(|t| t.is_word(keyword)) {
            self.bump();
            let right = operand(self, depth, in_brackets)?;
            left = join(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `not X`, `(FILTER)`, or an attribute expression.
    fn unary(&mut self, depth: usize, in_brackets: bool) -> Result<Filter> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.expected_expression());
        };
        match &tok.tok {
            Tok::LParen => self.group(depth, in_brackets),
            Tok::Word(_) if tok.is_word("not") && self.not_is_keyword() => {
                let depth = self.deeper(depth)?;
                self.bump();
                let inner = if self.peek().is_some_and(|t| t.tok == Tok::LParen) {
                    self.parenthesized(depth, in_brackets)?
                } else {
                    self.unary(depth, in_brackets)?
                };
                Ok(Filter::Not(Box::new(inner)))
            }
            Tok::Word(_) => self.attr_expr(depth, in_brackets),
            Tok::Str(s) => Err(self.error_here(format!(
                "expected an attribute name, found the string \"{}\"; attribute names are written without quotes",
                clip(s)
            ))),
            _ => Err(self.expected_expression()),
        }
    }

    fn expected_expression(&self) -> ValidationError {
        self.error_here(format!("expected an attribute name, \"(\" or \"not\"{}, found {}", self.after(), self.found()))
    }

    /// `not` is the keyword unless it is an attribute named "not" (`not pr`, `not eq 1`).
    fn not_is_keyword(&self) -> bool {
        match self.toks.get(self.pos + 1).map(|t| &t.tok) {
            Some(Tok::Word(w)) => !(w.eq_ignore_ascii_case("pr") || CompareOp::from_word(w).is_some()),
            Some(Tok::LBracket) => false,
            _ => true,
        }
    }

    fn group(&mut self, depth: usize, in_brackets: bool) -> Result<Filter> {
        let depth = self.deeper(depth)?;
        self.parenthesized(depth, in_brackets)
    }

    /// `"(" FILTER ")"`, the `(` being next; `depth` already counts it.
    fn parenthesized(&mut self, depth: usize, in_brackets: bool) -> Result<Filter> {
        let open = self.bump().map_or(self.len, |t| t.start);
        let inner = self.or_expr(depth, in_brackets)?;
        self.close(Tok::RParen, open)?;
        Ok(inner)
    }

    /// Consumes the `)` or `]` matching the opener at `open`, returning its token.
    fn close(&mut self, tok: Tok, open: usize) -> Result<Token> {
        if let Some(t) = self.peek().filter(|t| t.tok == tok).cloned() {
            self.bump();
            return Ok(t);
        }
        let (c, o) = if tok == Tok::RParen { (")", "(") } else { ("]", "[") };
        let mut detail = format!("expected \"{c}\" to close the \"{o}\" at character {}", open + 1);
        if self.peek().is_some() {
            detail.push_str(&format!(
                " or \"and\"/\"or\" to continue the expression{}, found {}",
                self.after(),
                self.found()
            ));
        } else {
            detail.push_str(&format!(", found {}", self.found()));
        }
        Err(self.error_here(detail))
    }

    /// An attribute path, the word being next.
    fn path(&mut self) -> Result<(AttrPath, Token)> {
        let tok = self.bump().ok_or_else(|| self.expected_expression())?;
        let Tok::Word(word) = &tok.tok else {
            return Err(self.syn.error_at(tok.start, format!("expected an attribute name, found {}", tok.describe())));
        };
        let path = parse_attr_path(word).map_err(|d| self.syn.error_at(tok.start, d))?;
        Ok((path, tok))
    }

    /// `attrPath "[" valFilter "]"`, `attrPath SP "pr"` or `attrPath SP compareOp SP compValue`.
    fn attr_expr(&mut self, depth: usize, in_brackets: bool) -> Result<Filter> {
        let (path, _) = self.path()?;
        if self.peek().is_some_and(|t| t.tok == Tok::LBracket) {
            let inner = self.value_filter(&path, depth, in_brackets)?;
            let inner = match self.trailing_sub()? {
                // Entra's `emails[type eq "work"].value eq "x"`: the same element must match
                // both, i.e. `emails[type eq "work" and value eq "x"]`.
                Some(sub) => {
                    let sub = AttrPath { urn: None, name: sub, sub: None };
                    Filter::And(Box::new(inner), Box::new(self.comparison(sub)?))
                }
                None => inner,
            };
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.comparison(path)
    }

    /// `pr` or `compareOp SP compValue` after `path`.
    fn comparison(&mut self, path: AttrPath) -> Result<Filter> {
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("pr") => None,
            Some(Tok::Word(w)) if CompareOp::from_word(w).is_some() => CompareOp::from_word(w),
            _ => {
                return Err(self.error_here(format!(
                    "expected a comparison operator {OPERATOR_LIST}{}, found {}",
                    self.after(),
                    self.found()
                )));
            }
        };
        self.bump();
        match op {
            None => Ok(Filter::Present(path)),
            Some(op) => Ok(Filter::Compare(path, op, self.literal()?)),
        }
    }

    /// `"[" valFilter "]"` after `path`, the `[` being next.
    fn value_filter(&mut self, path: &AttrPath, depth: usize, in_brackets: bool) -> Result<Filter> {
        if in_brackets {
            return Err(self.error_here(
                "value filters cannot be nested: \"[\" inside \"[...]\" (RFC 7644 §3.4.2.2 valFilter); \
                 paths inside brackets are sub-attributes",
            ));
        }
        if let Some(sub) = &path.sub {
            return Err(self.error_here(format!(
                "a \"[...]\" value filter must follow a complex attribute, not the sub-attribute \"{}.{}\"; \
                 write {}[{} ...]",
                path.name, sub, path.name, sub
            )));
        }
        let depth = self.deeper(depth)?;
        let open = self.bump().map_or(self.len, |t| t.start);
        let inner = self.or_expr(depth, true)?;
        self.close(Tok::RBracket, open)?;
        Ok(inner)
    }

    /// A `compValue`, after the operator.
    fn literal(&mut self) -> Result<Literal> {
        let lit = match self.peek().map(|t| &t.tok) {
            Some(Tok::Str(s)) => Literal::String(s.clone()),
            Some(Tok::Word(w)) if w.starts_with('\'') => {
                return Err(self.error_here(format!(
                    "strings are written in double quotes (\"{}\"), not single quotes",
                    clip(w.trim_matches('\''))
                )));
            }
            Some(Tok::Word(w)) => Literal::from_bare(w),
            _ => {
                return Err(self.error_here(format!(
                    "expected a value{} (a \"quoted string\", a number, true, false or null), found {}",
                    self.after(),
                    self.found()
                )));
            }
        };
        self.bump();
        Ok(lit)
    }

    /// Fails unless every token was consumed.
    fn finish(&self) -> Result<()> {
        let Some(t) = self.peek() else { return Ok(()) };
        let detail = match t.tok {
            Tok::RParen => "found \")\" without a matching \"(\"".to_string(),
            Tok::RBracket => "found \"]\" without a matching \"[\"".to_string(),
            _ => format!("expected \"and\", \"or\" or the end of the filter{}, found {}", self.after(), self.found()),
        };
        Err(self.error_here(detail))
    }

    /// `.subAttr` written immediately after the closing `]`.
    fn trailing_sub(&mut self) -> Result<Option<String>> {
        let close_end = self.pos.checked_sub(1).and_then(|i| self.toks.get(i)).map(|t| t.end);
        let Some(t) = self.peek().cloned() else {
            return Ok(None);
        };
        let Tok::Word(w) = &t.tok else {
            return Ok(None);
        };
        let Some(sub) = w.strip_prefix('.') else {
            return Ok(None);
        };
        if close_end != Some(t.start) {
            return Ok(None);
        }
        if sub.contains('.') {
            return Err(self
                .syn
                .error_at(t.start, format!("\"{}\" has more than one sub-attribute level; one is allowed", clip(w))));
        }
        path::check_name(sub).map_err(|d| self.syn.error_at(t.start + 1, d))?;
        self.bump();
        Ok(Some(sub.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn entra_value_path_with_a_sub_attribute_means_the_same_element() {
        let entra = super::super::Filter::parse(r#"emails[type eq "work"].value eq "b@x.org""#).unwrap();
        let rfc = super::super::Filter::parse(r#"emails[type eq "work" and value eq "b@x.org"]"#).unwrap();
        assert_eq!(entra, rfc);
        assert!(super::super::Filter::parse(r#"emails[type eq "work"].value.x eq "b""#).is_err());
    }

    use super::*;
    use crate::error::ScimType;
    use crate::filter::fixtures::{and, bjensen, cmp, jsmith, not, or, p, pr};
    use crate::schema::{ENTERPRISE_USER_URN as ENT, USER_RESOURCE, USER_URN};

    #[test]
    fn parse_trees_follow_precedence() {
        let cases = vec![
            ("a pr or b pr and c pr", or(pr("a"), and(pr("b"), pr("c")))),
            ("a pr and b pr or c pr", or(and(pr("a"), pr("b")), pr("c"))),
            ("a pr and b pr and c pr", and(and(pr("a"), pr("b")), pr("c"))),
            ("a pr or b pr or c pr", or(or(pr("a"), pr("b")), pr("c"))),
            ("a pr and (b pr or c pr)", and(pr("a"), or(pr("b"), pr("c")))),
            ("(a pr or b pr) and c pr", and(or(pr("a"), pr("b")), pr("c"))),
            ("not a pr and b pr", and(not(pr("a")), pr("b"))),
            ("not (a pr and b pr)", not(and(pr("a"), pr("b")))),
            ("not not a pr", not(not(pr("a")))),
            ("a pr or not (b pr) and c pr", or(pr("a"), and(not(pr("b")), pr("c")))),
            ("(((a pr)))", pr("a")),
            ("not pr", pr("not")),
            (
                r#"emails[type eq "work" and value pr]"#,
                Filter::ValuePath(p("emails"), Box::new(and(cmp("type", CompareOp::Eq, "work".into()), pr("value")))),
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
                cmp(&format!("{USER_URN}:userName"), CompareOp::Sw, "J".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Filter::parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn every_operator_parses_in_any_case() {
        for op in CompareOp::ALL {
            for word in [op.as_str().to_string(), op.as_str().to_uppercase(), {
                let mut s = op.as_str().to_string();
                s[..1].make_ascii_uppercase();
                s
            }] {
                let text = format!("title {word} \"x\"");
                assert_eq!(Filter::parse(&text), Ok(cmp("title", op, "x".into())), "{text}");
            }
        }
        assert_eq!(Filter::parse("title PR"), Ok(pr("title")));
    }

    #[test]
    fn parse_errors_are_positioned_and_actionable() {
        let err = Filter::parse(r#"userName equals "bjensen""#).unwrap_err();
        assert_eq!(err.scim_type, ScimType::InvalidFilter);
        assert_eq!(
            err.detail,
            "invalid filter at character 10: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) \
             after \"userName\", found \"equals\""
        );
        let cases = [
            ("", "invalid filter: the filter is empty"),
            ("   ", "the filter is empty"),
            ("userName eq", "character 12: expected a value after \"eq\""),
            (
                r#"userName eq "x" and"#,
                "character 20: expected an attribute name, \"(\" or \"not\" after \"and\", found the end of the filter",
            ),
            (r#"(userName eq "x""#, "character 17: expected \")\" to close the \"(\" at character 1"),
            (r#"(userName eq "x" "y")"#, "expected \")\" to close the \"(\" at character 1 or \"and\"/\"or\""),
            (r#"userName eq "x")"#, "character 16: found \")\" without a matching \"(\""),
            (r#"userName pr]"#, "found \"]\" without a matching \"[\""),
            (
                r#"userName eq "x" userName eq "y""#,
                "character 17: expected \"and\", \"or\" or the end of the filter after the string \"x\", found \"userName\"",
            ),
            (r#"userName eq "bjensen"#, "character 13: unterminated string"),
            (r#"userName eq "a\qb""#, "character 15: invalid escape \"\\q\""),
            (r#"userName eq "\ud83d""#, "high surrogate"),
            (r#"userName eq "\ud83dx\ude00""#, "high surrogate"),
            (r#"userName eq "\udc00""#, "lone low surrogate"),
            (r#"userName eq "\u12""#, "4 hexadecimal digits"),
            (r#"userName eq "\"#, "unterminated string"),
            (
                r#""userName" eq "x""#,
                "character 1: expected an attribute name, found the string \"userName\"; attribute names are written without quotes",
            ),
            (r#"emails[type eq "work""#, "expected \"]\" to close the \"[\" at character 7"),
            (r#"emails[type[value pr]]"#, "character 12: value filters cannot be nested"),
            (r#"emails[type eq "work" and ims[type pr]]"#, "value filters cannot be nested"),
            (r#"emails.value[type pr]"#, "must follow a complex attribute, not the sub-attribute \"emails.value\""),
            (r#"userName = "x""#, "found \"=\""),
            ("()", "character 2: expected an attribute name, \"(\" or \"not\" after \"(\", found \")\""),
            (
                "not",
                "character 4: expected an attribute name, \"(\" or \"not\" after \"not\", found the end of the filter",
            ),
            ("1abc pr", "character 1: \"1abc\" is not a valid attribute name"),
            ("userName=bjensen", "comparison operators are words"),
            ("[", "found \"[\""),
            ("name.given.name pr", "more than one sub-attribute level"),
            (r#"userName eq ("#, "expected a value after \"eq\""),
            ("userName eq 'bjensen'", "character 13: strings are written in double quotes (\"bjensen\")"),
        ];
        for (text, needle) in cases {
            let err = Filter::parse(text).expect_err(text);
            assert_eq!(err.scim_type, ScimType::InvalidFilter, "{text}");
            assert!(err.detail.contains(needle), "{text}: {}", err.detail);
            assert!(err.detail.starts_with("invalid filter"), "{text}: {}", err.detail);
        }
    }

    #[test]
    fn limits_on_length_and_depth() {
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
        let err = Filter::parse(&long).unwrap_err();
        assert!(err.detail.contains("at most 4096"), "{}", err.detail);
        let just = format!("userName eq \"{}\"", "é".repeat(MAX_FILTER_LEN - 14));
        assert!(Filter::parse(&just).is_ok(), "4096 characters (more bytes) are accepted");

        let nest = |open: &str, n: usize, close: &str| format!("{}a pr{}", open.repeat(n), close.repeat(n));
        for (open, close) in [("(", ")"), ("not ", ""), ("not (", ")"), ("not(", ")"), ("((", "))")] {
            let per = if open == "((" { 2 } else { 1 };
            let ok = nest(open, MAX_FILTER_DEPTH / per, close);
            assert!(Filter::parse(&ok).is_ok(), "{ok}");
            let deep = nest(open, MAX_FILTER_DEPTH / per + 1, close);
            let err = Filter::parse(&deep).expect_err(&deep);
            assert_eq!(err.scim_type, ScimType::InvalidFilter);
            assert!(err.detail.contains("nests more than 32 levels"), "{}", err.detail);
        }
        let in_brackets = format!("{}emails[type pr]{}", "(".repeat(31), ")".repeat(31));
        assert!(Filter::parse(&in_brackets).is_ok());
        let too_deep = format!("{}emails[type pr]{}", "(".repeat(32), ")".repeat(32));
        assert!(Filter::parse(&too_deep).is_err());
        // Long and/or chains are not nesting.
        let chain = vec!["a pr"; 400].join(" and ");
        let f = Filter::parse(&chain).unwrap();
        assert!(!f.matches(&USER_RESOURCE, &bjensen()));
    }

    /// xorshift64*: a tiny deterministic generator, so the test needs no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    const FRAGMENTS: &[&str] = &[
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\\",
        "\\u",
        "d83d",
        "\\ude00",
        " ",
        "  ",
        "\t",
        "not ",
        " and ",
        " or ",
        " eq ",
        " ne ",
        " co ",
        " sw ",
        " gt ",
        " le ",
        " pr",
        "userName",
        "emails",
        "type",
        "value",
        ".",
        ":",
        "urn:ietf:params:scim:schemas:core:2.0:User:",
        ENT,
        "\"x\"",
        "\"wörk\"",
        "42",
        "-1.5e3",
        "true",
        "null",
        "é",
        "😀",
        "\u{0}",
        "\u{202e}",
        "meta.lastModified",
        "\"2011-05-13T04:42:34Z\"",
        "password",
        "active",
        "$ref",
        "name.givenName",
        "=",
        "'",
        "\n",
    ];

    fn exercise(text: &str) {
        let Ok(f) = Filter::parse(text) else { return };
        let _ = f.check(&USER_RESOURCE);
        let _ = f.matches(&USER_RESOURCE, &bjensen());
        let _ = f.matches(&USER_RESOURCE, &jsmith());
        let again = Filter::parse(&f.to_string());
        assert_eq!(again.as_ref(), Ok(&f), "display round trip of {text:?} via {f}");
    }

    #[test]
    fn random_and_adversarial_input_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let n = 1 + rng.below(12);
            let text: String = (0..n).map(|_| FRAGMENTS[rng.below(FRAGMENTS.len())]).collect();
            exercise(&text);
            let _ = PatchPath::parse(&text);
        }
        for _ in 0..2_000 {
            let n = rng.below(40);
            let text: String = (0..n)
                .map(|_| char::from_u32(u32::try_from(rng.below(0x11_0000)).unwrap_or(0)).unwrap_or('?'))
                .collect();
            exercise(&text);
            let _ = PatchPath::parse(&text);
        }
        let adversarial = [
            "(".repeat(100_000),
            "(".repeat(4000),
            "[".repeat(4000),
            "a[".repeat(2000),
            "not ".repeat(1000),
            "\"".repeat(4095),
            format!("\"{}", "x".repeat(4000)),
            "\\u".repeat(2000),
            format!("userName eq \"{}\"", "\\ud83d".repeat(600)),
            format!("emails[{}type pr{}]", "(".repeat(40), ")".repeat(40)),
            vec!["a pr"; 800].join(" or "),
            "x".repeat(10_000_000),
            "😀".repeat(5000),
        ];
        for text in &adversarial {
            exercise(text);
            let _ = PatchPath::parse(text);
        }
    }
}
