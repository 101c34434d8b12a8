//! SCIM filters (RFC 7644 §3.4.2.2): parsing, checking against a resource type, evaluation, and
//! the `sortBy` key (RFC 7644 §3.4.2.3).
//!
//! The grammar is the ABNF of RFC 7644 §3.4.2.2 (Figure 1):
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! ```
//!
//! with precedence `()` > `not` > `and` > `or`, and these deliberate leniencies for real
//! identity providers: keywords, operators and attribute names are case-insensitive; any run of
//! whitespace separates tokens; `not` may precede an expression without parentheses
//! (`not title pr`); `true`/`false`/`null` are recognised in any case; and an unquoted value
//! that is not `true`, `false`, `null` or a JSON number is a string (`externalId eq jyoung`).
//! Value filters do not nest (`a[b[c pr]]` is rejected, RFC 7644 errata 4690).
//!
//! Limits: at most [`MAX_FILTER_LEN`] characters and [`MAX_FILTER_DEPTH`] levels of nesting.
//! Parsing never panics and takes time linear in the input; errors are `invalidFilter` and name
//! the character position at fault.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde_json::{Number, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{Result, ValidationError};
use crate::path::{self, AttrPath, PatchPath, clip, get_ci, parse_attr_path};
use crate::schema::{AttrType, Attribute, ResourceType};

/// The longest filter accepted, in characters.
pub const MAX_FILTER_LEN: usize = 4096;
/// The deepest nesting accepted: parentheses, `not` and `[...]` combined (`not (...)` is one level).
pub const MAX_FILTER_DEPTH: usize = 32;

/// A parsed SCIM filter (RFC 7644 §3.4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both filters match (`and`).
    And(Box<Filter>, Box<Filter>),
    /// Either filter matches (`or`).
    Or(Box<Filter>, Box<Filter>),
    /// The filter does not match (`not (...)`).
    Not(Box<Filter>),
    /// The attribute has a non-empty value (`pr`).
    Present(AttrPath),
    /// The attribute compares with the literal (`eq`, `ne`, `co`, ...).
    Compare(AttrPath, CompareOp, Literal),
    /// `emails[type eq "work" and value co "@x"]`: some value of the complex attribute matches the
    /// inner filter, whose paths are relative to the complex attribute.
    ValuePath(AttrPath, Box<Filter>),
}

/// A comparison operator (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`: the values are identical.
    Eq,
    /// `ne`: the values are not identical.
    Ne,
    /// `co`: the literal is a substring of the value.
    Co,
    /// `sw`: the value starts with the literal.
    Sw,
    /// `ew`: the value ends with the literal.
    Ew,
    /// `gt`: the value is greater than the literal.
    Gt,
    /// `ge`: the value is greater than or equal to the literal.
    Ge,
    /// `lt`: the value is less than the literal.
    Lt,
    /// `le`: the value is less than or equal to the literal.
    Le,
}

impl CompareOp {
    /// Every operator, in RFC 7644 Table 3 order.
    pub const ALL: [CompareOp; 9] =
        [Self::Eq, Self::Ne, Self::Co, Self::Sw, Self::Ew, Self::Gt, Self::Ge, Self::Lt, Self::Le];

    /// The operator as written in a filter (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// The operator named `word`, case-insensitively.
    pub fn from_word(word: &str) -> Option<CompareOp> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }

    fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }

    fn accepts(self, ord: Ordering) -> bool {
        match self {
            Self::Gt => ord == Ordering::Greater,
            Self::Ge => ord != Ordering::Less,
            Self::Lt => ord == Ordering::Less,
            Self::Le => ord != Ordering::Greater,
            _ => ord == Ordering::Equal,
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison value: `compValue = false / null / true / number / string` (RFC 7644 §3.4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string (quoted JSON string, or a bare word).
    String(String),
    /// A JSON number.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl Literal {
    /// Reads an unquoted value leniently: `true`/`false`/`null` (any case), a JSON number, or
    /// else the word itself as a string.
    pub fn from_bare(word: &str) -> Literal {
        if word.eq_ignore_ascii_case("true") {
            Literal::Bool(true)
        } else if word.eq_ignore_ascii_case("false") {
            Literal::Bool(false)
        } else if word.eq_ignore_ascii_case("null") {
            Literal::Null
        } else {
            word.parse::<Number>().map_or_else(|_| Literal::String(word.to_owned()), Literal::Number)
        }
    }

    fn describe(&self) -> String {
        match self {
            Literal::String(s) => format!("the string \"{}\"", clip(s)),
            Literal::Number(n) => format!("the number {n}"),
            Literal::Bool(b) => b.to_string(),
            Literal::Null => "null".into(),
        }
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal::String(s.to_owned())
    }
}

impl fmt::Display for Literal {
    /// The literal in JSON syntax (strings quoted and escaped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => f.write_str(&serde_json::to_string(s).map_err(|_| fmt::Error)?),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl Filter {
    /// Parses a filter (RFC 7644 §3.4.2.2). Errors are `invalidFilter`, with a detail such as
    /// `invalid filter at character 10: expected a comparison operator (eq, ne, co, sw, ew, gt,
    /// ge, lt, le, pr) after "userName", found "equals"`.
    ///
    /// ```
    /// use scimbox_validator::filter::Filter;
    /// let f = Filter::parse(r#"userType eq "Employee" and (emails co "example.com" or title pr)"#);
    /// assert!(f.is_ok());
    /// ```
    pub fn parse(s: &str) -> Result<Filter> {
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

    /// Checks the filter against a resource type (RFC 7644 §3.4.2.2). Errors are `invalidFilter`
    /// and name the attribute:
    ///
    /// * every attribute path must resolve (core schema, extension schemas by URN, or the common
    ///   attributes); paths inside `[...]` must be sub-attributes of the complex attribute;
    /// * attributes that are never returned (`password`) cannot be filtered on;
    /// * `gt`/`ge`/`lt`/`le` on boolean or binary attributes are errors (RFC 7644 §3.4.2.2), as
    ///   are `co`/`sw`/`ew` on booleans and numbers;
    /// * the literal must suit the attribute type: `true`/`false` for booleans, a number for
    ///   integers and decimals, a string for strings, references, binaries and dateTimes (an
    ///   RFC 3339 dateTime for `eq`/`ne`/`gt`/`ge`/`lt`/`le`); `null` only with `eq`/`ne`.
    ///   Leniency: an unquoted number compared with a string attribute is compared as text
    ///   (`employeeNumber eq 701984`);
    /// * a complex attribute compared directly must have a `value` sub-attribute
    ///   (`emails co "x"` means `emails.value co "x"`); `pr` works on every attribute.
    pub fn check(&self, rt: &ResourceType) -> Result<()> {
        check_in(self, CheckScope::Resource(rt))
    }

    /// Checks a value filter for the complex attribute `attr` (a PATCH path's `[...]`, RFC 7644
    /// §3.5.2): its paths must be sub-attributes of `attr`, with the same rules as
    /// [`Filter::check`]. Errors are `invalidFilter`.
    pub fn check_value(&self, attr: &'static Attribute) -> Result<()> {
        check_in(self, CheckScope::Element(attr))
    }

    /// Whether `resource` (the full SCIM representation) matches (RFC 7644 §3.4.2.2).
    ///
    /// Semantics:
    /// * string comparisons fold case (Unicode `to_lowercase`) unless the attribute is
    ///   `caseExact`; dateTimes compare chronologically (RFC 3339, falling back to text); numbers
    ///   numerically; booleans with `eq`/`ne` only;
    /// * a multi-valued attribute matches if ANY of its values matches (so `emails.type ne
    ///   "work"` matches a user with a work and a home address); a complex attribute compared
    ///   directly compares its `value` sub-attribute (`emails eq "x"`);
    /// * `pr` matches a value that is not null, `""`, `[]` or `{}` (or an object of such values);
    /// * a missing attribute (absent, `null` or `[]`, all equivalent per RFC 7643 §2.5) has no
    ///   value that is "identical" to the literal, so `ne` MATCHES it and every other operator
    ///   does not (`title ne "x"` is true for a user without a title, exactly `not (title eq
    ///   "x")`); `eq null` matches only a missing attribute and `ne null` only a present one;
    /// * an attribute path that does not resolve matches nothing, not even `ne`: call
    ///   [`Filter::check`] first to report it.
    pub fn matches(&self, rt: &ResourceType, resource: &Value) -> bool {
        eval(self, Scope::Resource(rt, resource))
    }

    /// Whether one element of a multi-valued complex attribute `attr` matches, the filter's paths
    /// being relative to it (`type eq "work"` against `{"type": "work", ...}`). Used for PATCH
    /// value filters (RFC 7644 §3.5.2); same semantics as [`Filter::matches`].
    pub fn matches_value(&self, attr: &'static Attribute, element: &Value) -> bool {
        eval(self, Scope::Element(attr, element))
    }

    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    fn fmt_child(&self, f: &mut fmt::Formatter<'_>, child: &Filter, right: bool) -> fmt::Result {
        let (mine, theirs) = (self.precedence(), child.precedence());
        if theirs < mine || (right && theirs == mine) { write!(f, "({child})") } else { write!(f, "{child}") }
    }
}

impl fmt::Display for Filter {
    /// The canonical text of the filter; it parses back to an equal filter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                self.fmt_child(f, a, false)?;
                f.write_str(if matches!(self, Filter::And(..)) { " and " } else { " or " })?;
                self.fmt_child(f, b, true)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, lit) => write!(f, "{p} {op} {lit}"),
            Filter::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A run of characters other than whitespace, parentheses, brackets and `"`: an attribute
    /// path, a keyword, an operator or a bare value.
    Word(String),
    /// A JSON string literal, unescaped.
    Str(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Index of the first character (0-based, in characters).
    start: usize,
    /// Index just past the last character.
    end: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.tok {
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Word(w) => format!("\"{}\"", clip(w)),
            Tok::Str(s) => format!("the string \"{}\"", clip(s)),
        }
    }

    fn is_word(&self, keyword: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Which grammar is being parsed: decides the error wording and `scimType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Filter,
    Path,
}

impl Syntax {
    fn noun(self) -> &'static str {
        match self {
            Syntax::Filter => "filter",
            Syntax::Path => "path",
        }
    }

    fn error(self, detail: String) -> ValidationError {
        let detail = format!("invalid {}{detail}", self.noun());
        match self {
            Syntax::Filter => ValidationError::filter(detail),
            Syntax::Path => ValidationError::path(detail),
        }
    }

    /// An error at character index `at` (reported 1-based).
    fn error_at(self, at: usize, detail: impl fmt::Display) -> ValidationError {
        self.error(format!(" at character {}: {detail}", at + 1))
    }
}

fn lex(chars: &[char], syn: Syntax) -> Result<Vec<Token>> {
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (tok, end) = match c {
            '(' => (Tok::LParen, i + 1),
            ')' => (Tok::RParen, i + 1),
            '[' => (Tok::LBracket, i + 1),
            ']' => (Tok::RBracket, i + 1),
            '"' => lex_string(chars, i, syn)?,
            _ => lex_word(chars, i),
        };
        toks.push(Token { tok, start: i, end });
        i = end;
    }
    Ok(toks)
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn lex_word(chars: &[char], start: usize) -> (Tok, usize) {
    let len = chars.iter().skip(start).take_while(|&&c| !is_delimiter(c)).count();
    let word: String = chars.iter().skip(start).take(len).collect();
    (Tok::Word(word), start + len)
}

/// A JSON string (RFC 8259 §7) starting with the `"` at `start`.
fn lex_string(chars: &[char], start: usize, syn: Syntax) -> Result<(Tok, usize)> {
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(syn.error_at(
                    start,
                    "unterminated string: the \" here has no closing \" (write \\\" for a quote inside a string)",
                ));
            }
            Some('"') => return Ok((Tok::Str(out), i + 1)),
            Some('\\') => {
                let (c, next) = lex_escape(chars, i, syn)?;
                out.push(c);
                i = next;
            }
            Some(&c) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

/// The escape sequence whose `\` is at `at`: the character and the index after it.
fn lex_escape(chars: &[char], at: usize, syn: Syntax) -> Result<(char, usize)> {
    let simple = match chars.get(at + 1) {
        Some('"') => '"',
        Some('\\') => '\\',
        Some('/') => '/',
        Some('b') => '\u{8}',
        Some('f') => '\u{c}',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('u') => return lex_unicode_escape(chars, at, syn),
        Some(other) => {
            return Err(syn.error_at(
                at,
                format!(
                    "invalid escape \"\\{other}\" in a string; the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"
                ),
            ));
        }
        None => return Err(syn.error_at(at, "unterminated string: it ends with a lone \\")),
    };
    Ok((simple, at + 2))
}

fn hex4(chars: &[char], at: usize) -> Option<u32> {
    let digits = chars.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |acc, c| Some(acc * 16 + c.to_digit(16)?))
}

/// `\uXXXX`, or a `\uD83D\uDE00` surrogate pair, whose `\` is at `at`.
fn lex_unicode_escape(chars: &[char], at: usize, syn: Syntax) -> Result<(char, usize)> {
    let bad = |detail: &str| syn.error_at(at, detail);
    let high = hex4(chars, at + 2).ok_or_else(|| bad("\\u must be followed by 4 hexadecimal digits"))?;
    if (0xDC00..=0xDFFF).contains(&high) {
        return Err(bad("\\u escape is a lone low surrogate; it must follow a high surrogate (\\uD800-\\uDBFF)"));
    }
    if !(0xD800..=0xDBFF).contains(&high) {
        let c = char::from_u32(high).ok_or_else(|| bad("\\u escape is not a Unicode character"))?;
        return Ok((c, at + 6));
    }
    let pair_follows = chars.get(at + 6) == Some(&'\\') && chars.get(at + 7) == Some(&'u');
    let low = hex4(chars, at + 8).filter(|l| pair_follows && (0xDC00..=0xDFFF).contains(l));
    let low =
        low.ok_or_else(|| bad("\\u escape is a high surrogate not followed by a \\uDC00-\\uDFFF low surrogate"))?;
    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
    let c = char::from_u32(code).ok_or_else(|| bad("\\u escape is not a Unicode character"))?;
    Ok((c, at + 12))
}

// ---------------------------------------------------------------------------------------------
// Parser (recursive descent; recursion is bounded by MAX_FILTER_DEPTH)

const OPERATOR_LIST: &str = "(eq, ne, co, sw, ew, gt, ge, lt, le, pr)";

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
        let mut left = self.and_expr(depth, in_brackets)?;
        while self.peek().is_some_and(|t| t.is_word("or")) {
            self.bump();
            let right = self.and_expr(depth, in_brackets)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, depth: usize, in_brackets: bool) -> Result<Filter> {
        let mut left = self.unary(depth, in_brackets)?;
        while self.peek().is_some_and(|t| t.is_word("and")) {
            self.bump();
            let right = self.unary(depth, in_brackets)?;
            left = Filter::And(Box::new(left), Box::new(right));
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
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
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

impl Parser {
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

// ---------------------------------------------------------------------------------------------
// Checking against a resource type

#[derive(Clone, Copy)]
enum CheckScope<'a> {
    Resource(&'a ResourceType),
    /// Inside `attr[...]`: paths are sub-attributes of `attr`.
    Element(&'static Attribute),
}

fn invalid(detail: impl fmt::Display) -> ValidationError {
    ValidationError::filter(format!("invalid filter: {detail}"))
}

fn check_in(f: &Filter, scope: CheckScope<'_>) -> Result<()> {
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

// ---------------------------------------------------------------------------------------------
// Evaluation

#[derive(Clone, Copy)]
enum Scope<'a> {
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
            if p.urn.is_some() {
                return None;
            }
            let attr = parent.sub(&p.name)?;
            let sub = match &p.sub {
                Some(s) => Some(attr.sub(s)?),
                None => None,
            };
            Some(Located { attr, sub, value: get_ci(element, attr.name) })
        }
    }
}

/// The values of a multi-valued attribute, or the single value.
fn flatten(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(other) => vec![other],
    }
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

fn eval(f: &Filter, scope: Scope<'_>) -> bool {
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
fn fold<'s>(target: &Attribute, s: &'s str) -> Cow<'s, str> {
    if target.case_exact { Cow::Borrowed(s) } else { Cow::Owned(s.to_lowercase()) }
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
fn cmp_numbers(a: &Number, b: &Number) -> Ordering {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x.cmp(&y);
    }
    let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
    x.total_cmp(&y)
}

/// An `xsd:dateTime` (RFC 7643 §2.3.5): RFC 3339, or without an offset (taken as UTC).
pub(crate) fn parse_date_time(s: &str) -> Option<OffsetDateTime> {
    const LOCAL: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| time::PrimitiveDateTime::parse(s, LOCAL).ok().map(|t| t.assume_utc()))
}

// ---------------------------------------------------------------------------------------------
// Sorting (RFC 7644 §3.4.2.3)

/// The value a resource sorts by (RFC 7644 §3.4.2.3). Ordering: strings compare case-folded
/// unless `caseExact` (folding is applied when the key is built), numbers numerically, dateTimes
/// chronologically, booleans `false < true`. Keys of different kinds (only from malformed data)
/// order booleans < numbers < dateTimes < strings.
#[derive(Debug, Clone)]
pub enum SortKey {
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A dateTime.
    DateTime(OffsetDateTime),
    /// A string, already lower-cased if the attribute is not `caseExact`.
    String(String),
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Number(_) => 1,
            SortKey::DateTime(_) => 2,
            SortKey::String(_) => 3,
        }
    }

    fn from_value(target: &Attribute, v: &Value) -> Option<SortKey> {
        match v {
            Value::Bool(b) => Some(SortKey::Bool(*b)),
            Value::Number(n) => Some(SortKey::Number(n.clone())),
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(
                (target.ty == AttrType::DateTime)
                    .then(|| parse_date_time(s))
                    .flatten()
                    .map_or_else(|| SortKey::String(fold(target, s).into_owned()), SortKey::DateTime),
            ),
            _ => None,
        }
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => cmp_numbers(a, b),
            (SortKey::DateTime(a), SortKey::DateTime(b)) => a.cmp(b),
            (SortKey::String(a), SortKey::String(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

/// The key `resource` sorts by for `sortBy=path` (RFC 7644 §3.4.2.3), or `None` if it has no
/// value there (or the path does not resolve, or names a hidden attribute such as `password`).
///
/// A multi-valued attribute sorts by its primary value (`"primary": true`) if any, else its first
/// value; a complex attribute without a sub-attribute sorts by its `value` sub-attribute
/// (`sortBy=emails` is `emails.value` of the primary email). An empty string counts as no value.
///
/// `None` is NOT ordered by `Option`'s `Ord` (which puts `None` first): RFC 7644 §3.4.2.3 puts
/// resources without a value last in ascending order and first in descending order; use
/// [`cmp_sort_keys`].
pub fn sort_key(rt: &ResourceType, path: &AttrPath, resource: &Value) -> Option<SortKey> {
    let r = path.resolve(rt).ok().filter(|r| !r.is_hidden())?;
    let element = pick(r.attr_value(resource)?)?;
    let (target, leaf) = match r.sub {
        Some(sub) => (sub, pick(get_ci(element, sub.name)?)?),
        None if r.attr.ty == AttrType::Complex => {
            let value = r.attr.sub("value")?;
            (value, pick(get_ci(element, value.name)?)?)
        }
        None => (r.attr, element),
    };
    SortKey::from_value(target, leaf)
}

/// The primary element of a multi-valued value, else its first; a single value itself.
fn pick(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(items) => {
            items.iter().find(|e| get_ci(e, "primary") == Some(&Value::Bool(true))).or_else(|| items.first())
        }
        Value::Null => None,
        other => Some(other),
    }
}

/// Orders two resources' sort keys per RFC 7644 §3.4.2.3: by [`SortKey`]'s order, reversed when
/// `descending`; a resource without a value (`None`) sorts after every value when ascending and
/// before every value when descending.
pub fn cmp_sort_keys(a: Option<&SortKey>, b: Option<&SortKey>, descending: bool) -> Ordering {
    let ascending = match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    if descending { ascending.reverse() } else { ascending }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{ENTERPRISE_USER_URN as ENT, USER_RESOURCE, USER_SCHEMA, USER_URN};
    use serde_json::json;

    /// Barbara Jensen, after RFC 7643 §8.2 (with a few changes to exercise more cases).
    fn bjensen() -> Value {
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
    fn jsmith() -> Value {
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

    fn p(name: &str) -> AttrPath {
        AttrPath::parse(name).unwrap()
    }
    fn pr(name: &str) -> Filter {
        Filter::Present(p(name))
    }
    fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }
    fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }
    fn not(a: Filter) -> Filter {
        Filter::Not(Box::new(a))
    }
    fn cmp(name: &str, op: CompareOp, lit: Literal) -> Filter {
        Filter::Compare(p(name), op, lit)
    }

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
    fn literals_parse_as_json_or_leniently() {
        let num = |s: &str| Literal::Number(s.parse().unwrap());
        let cases = vec![
            (r#""plain""#, Literal::String("plain".into())),
            (r#""a\"b\\c\/\n\t\u00e9\ud83d\ude00""#, Literal::String("a\"b\\c/\n\té😀".into())),
            (r#""""#, Literal::String(String::new())),
            (r#""  spaced  out ""#, Literal::String("  spaced  out ".into())),
            ("42", num("42")),
            ("-1.5e3", num("-1.5e3")),
            ("0", num("0")),
            ("true", Literal::Bool(true)),
            ("FALSE", Literal::Bool(false)),
            ("null", Literal::Null),
            ("Null", Literal::Null),
            ("jyoung", Literal::String("jyoung".into())),
            ("00123", Literal::String("00123".into())),
            ("bjensen@example.com", Literal::String("bjensen@example.com".into())),
            ("O'Malley", Literal::String("O'Malley".into())),
            ("ünïcode", Literal::String("ünïcode".into())),
        ];
        for (text, want) in cases {
            let f = Filter::parse(&format!("title eq {text}"));
            assert_eq!(f, Ok(cmp("title", CompareOp::Eq, want)), "{text}");
        }
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
                r#"active eq "true""#,
                "\"active\" is a boolean attribute; compare it with true or false, not the string \"true\"",
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

    #[test]
    fn sort_keys_follow_rfc_7644_3_4_2_3() {
        let (b, j) = (bjensen(), jsmith());
        let key = |path: &str, r: &Value| sort_key(&USER_RESOURCE, &p(path), r);
        let s = |x: &str| Some(SortKey::String(x.into()));
        let cases = vec![
            ("userName", &b, s("bjensen")),
            ("externalId", &b, s("Bjensen-Ext")),
            ("externalId", &j, None),
            ("title", &j, None),
            ("name.familyName", &j, None),
            ("emails", &b, s("bjensen@example.com")),
            ("emails", &j, s("js@example.org")),
            ("emails.type", &b, s("work")),
            ("active", &b, Some(SortKey::Bool(true))),
            ("password", &b, None),
            ("nope", &b, None),
            ("department", &b, s("tour operations")),
        ];
        for (path, r, want) in cases {
            assert_eq!(key(path, r), want, "{path}");
        }
        let (kb, kj) = (key("meta.lastModified", &b), key("meta.lastModified", &j));
        assert!(matches!(kb, Some(SortKey::DateTime(_))));
        assert!(kj < kb, "chronological, although \"2011-05-13T06:42:34+02:00\" > \"2012...\" is false as text too");
        assert!(key("userName", &b) < key("userName", &j));

        let n = |x: &str| SortKey::Number(x.parse().unwrap());
        assert!(n("2") < n("10"));
        assert!(n("-1") < n("18446744073709551615"));
        assert_eq!(n("1"), n("1.0"));
        assert!(SortKey::Bool(false) < SortKey::Bool(true));
        assert!(SortKey::Bool(true) < n("0") && n("0") < SortKey::String(String::new()));

        // Missing values: last when ascending, first when descending.
        let users = [b.clone(), j.clone(), json!({"userName": "c", "title": "Analyst"})];
        let mut order: Vec<usize> = (0..3).collect();
        let keys: Vec<Option<SortKey>> = users.iter().map(|u| key("title", u)).collect();
        order.sort_by(|&x, &y| cmp_sort_keys(keys[x].as_ref(), keys[y].as_ref(), false));
        assert_eq!(order, [2, 0, 1]);
        order.sort_by(|&x, &y| cmp_sort_keys(keys[x].as_ref(), keys[y].as_ref(), true));
        assert_eq!(order, [1, 0, 2]);
    }

    #[test]
    fn date_times_parse_with_and_without_offset() {
        for s in
            ["2011-05-13T04:42:34Z", "2011-05-13T04:42:34.123+02:00", "2011-05-13T04:42:34", "2011-05-13T04:42:34.5"]
        {
            assert!(parse_date_time(s).is_some(), "{s}");
        }
        for s in ["2011-05-13", "yesterday", "", "2011-13-13T04:42:34Z"] {
            assert!(parse_date_time(s).is_none(), "{s}");
        }
    }
}
