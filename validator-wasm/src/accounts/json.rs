//! A small strict JSON parser (RFC 8259) that records where each key and value starts and says
//! what is wrong in words: serde_json's errors count columns in bytes, point past the fault
//! (a trailing comma is reported at the `}`) and say "expected ident" for a bare word.

use serde_json::{Map, Number, Value};

use super::messages::quote;
use super::{MAX_DEPTH, PayloadFault, SHOWN};
use crate::error::ScimType;
use crate::json_string::{EscapeError, unescape};

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A value and where it starts (`None` when it came without text).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub at: Option<Pos>,
    pub kind: Kind,
    /// For a string whose characters do not each take one column of the text it was read from
    /// (escapes such as `\"` take two, `\u00e9` six, and a string inside a string more): how many
    /// columns its opening quote, then each character of its value, take there, so that a JSON
    /// text held in the string is positioned in the text around it ([`Node::origin`]). `None`:
    /// one column each.
    pub widths: Option<Widths>,
}

/// The columns each character of a string took in its text (see [`Node::widths`]).
pub type Widths = Box<[usize]>;

/// Where the characters of a string value are in the text the string literal was read from:
/// the first one just after the opening quote, each taking its [`Node::widths`] columns. A
/// literal lies on one line of that text (a line break in it must be escaped), so positions
/// within the value map to columns of that line, whatever line breaks the value holds.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'n> {
    start: Pos,
    widths: Option<&'n [usize]>,
}

/// A JSON value whose members keep their order, duplicates and positions.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

/// An object member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_at: Option<Pos>,
    pub value: Node,
}

/// A syntax error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: Pos,
    pub message: String,
}

impl SyntaxError {
    pub fn fault(self, index: Option<usize>) -> PayloadFault {
        PayloadFault::new(ScimType::InvalidSyntax, index, Some(self.at), self.message)
    }
}

fn error(at: Pos, message: impl Into<String>) -> SyntaxError {
    SyntaxError { at, message: message.into() }
}

impl Node {
    /// Where this string's value is in the text it was read from (`None` for a value without
    /// text).
    pub fn origin(&self) -> Option<Origin<'_>> {
        let at = self.at?;
        let (quote, widths) = match self.widths.as_deref() {
            Some([quote, rest @ ..]) => (*quote, Some(rest)),
            _ => (1, None),
        };
        Some(Origin { start: Pos { line: at.line, column: at.column + quote }, widths })
    }

    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Number(n) => Value::Number(n.clone()),
            Kind::String(s) => Value::String(s.clone()),
            Kind::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Kind::Object(members) => {
                let mut map = Map::new();
                for m in members {
                    map.insert(m.key.clone(), m.value.to_value());
                }
                Value::Object(map)
            }
        }
    }

    pub fn from_value(v: &Value, depth: usize) -> Node {
        let deeper = depth < MAX_DEPTH;
        let node = |v: &Value| Node::from_value(v, depth + 1);
        let kind = match v {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => Kind::Number(n.clone()),
            Value::String(s) => Kind::String(s.clone()),
            Value::Array(items) => Kind::Array(if deeper { items.iter().map(node).collect() } else { Vec::new() }),
            Value::Object(map) if deeper => {
                Kind::Object(map.iter().map(|(k, v)| Member { key: k.clone(), key_at: None, value: node(v) }).collect())
            }
            Value::Object(_) => Kind::Object(Vec::new()),
        };
        Node { at: None, kind, widths: None }
    }
}

/// Parses a whole text as one JSON value.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    parse_in(text, None)
}

/// Parses a whole text as one JSON value, the text being a string's value read from a larger
/// text when `origin` is given: every position (of a node, a fault, or one a message quotes)
/// is then a position in that larger text, so a fault inside a payload string points at its
/// place in the User body around it, escapes counted.
pub fn parse_in(text: &str, origin: Option<Origin<'_>>) -> Result<Node, SyntaxError> {
    let pos = origin.map_or(Pos { line: 1, column: 1 }, |o| o.start);
    let mut p = Parser { text, i: 0, k: 0, pos, widths: origin.and_then(|o| o.widths), in_string: origin.is_some() };
    let node = p.value(0)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(node),
        Some(',') => Err(error(
            p.pos,
            "more text after the JSON value; to send several payloads, put them in an array: [{...}, {...}]",
        )),
        Some(_) => Err(p.unexpected("the end of the text after the JSON value")),
    }
}

struct Parser<'t> {
    text: &'t str,
    /// Byte offset of the next character.
    i: usize,
    /// Index (in characters) of the next character.
    k: usize,
    /// Position of the next character, in the text positions are reported in.
    pos: Pos,
    /// When the text is a string's value: the columns each character takes in the text
    /// around it (`None`: one each).
    widths: Option<&'t [usize]>,
    /// Whether the text is a string's value: its line breaks were escapes, on one line of the
    /// text around it.
    in_string: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.i..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        if c == '\n' && !self.in_string {
            self.pos = Pos { line: self.pos.line + 1, column: 1 };
        } else {
            self.pos.column += self.widths.and_then(|w| w.get(self.k)).copied().unwrap_or(1);
        }
        self.k += 1;
        Some(c)
    }

    /// RFC 8259 §2: space, tab, line feed, carriage return.
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    /// The run of letters, digits and `_` ahead (at most 41 characters), not consumed.
    fn word(&self) -> String {
        let rest = self.text[self.i..].chars();
        rest.take_while(|c| c.is_alphanumeric() || *c == '_').take(SHOWN + 1).collect()
    }

    /// Whether a value other than a string starts ahead.
    fn value_ahead(&self) -> bool {
        matches!(self.peek(), Some('{' | '[' | '-' | '0'..='9'))
            || ["true", "false", "null"].contains(&self.word().as_str())
    }

    /// The error for the character ahead, where `expected` was due.
    fn unexpected(&self, expected: &str) -> SyntaxError {
        let message = match self.peek() {
            None => format!("unexpected end of text; expected {expected}"),
            Some('/') => "comments are not allowed in JSON; remove the comment".to_owned(),
            Some('\'') => "strings use double quotes: write \"text\", not 'text'".to_owned(),
            Some(c) if c.is_alphabetic() || c == '_' => word_message(&self.word()),
            Some(c) => format!("expected {expected}, got {}", show_char(c)),
        };
        error(self.pos, message)
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        self.skip_ws();
        let at = self.pos;
        let kind = match self.peek() {
            Some('{') => self.object(depth + 1)?,
            Some('[') => self.array(depth + 1)?,
            Some('"') => {
                let (value, widths) = self.string()?;
                return Ok(Node { at: Some(at), kind: Kind::String(value), widths });
            }
            Some('-' | '+' | '.' | '0'..='9') => Kind::Number(self.number()?),
            Some(c) if c.is_alphabetic() => self.literal()?,
            _ => return Err(self.unexpected("a value (an object, array, string, number, true, false or null)")),
        };
        Ok(Node { at: Some(at), kind, widths: None })
    }

    fn literal(&mut self) -> Result<Kind, SyntaxError> {
        let word = self.word();
        let kind = match word.as_str() {
            "true" => Kind::Bool(true),
            "false" => Kind::Bool(false),
            "null" => Kind::Null,
            _ => return Err(self.unexpected("a value")),
        };
        word.chars().for_each(|_| {
            self.bump();
        });
        Ok(kind)
    }

    /// Consumes the opening bracket; refuses nesting deeper than [`MAX_DEPTH`].
    fn open(&mut self, depth: usize) -> Result<Pos, SyntaxError> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return Err(error(at, format!("nesting deeper than {MAX_DEPTH} levels of objects and arrays")));
        }
        self.bump();
        self.skip_ws();
        Ok(at)
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        let open = self.open(depth)?;
        let mut members = Vec::new();
        if self.peek() == Some('}') {
            self.bump();
            return Ok(Kind::Object(members));
        }
        loop {
            members.push(self.member(depth)?);
            if !self.separator('}', open)? {
                return Ok(Kind::Object(members));
            }
        }
    }

    fn member(&mut self, depth: usize) -> Result<Member, SyntaxError> {
        self.skip_ws();
        let key_at = self.pos;
        if self.peek() != Some('"') {
            return Err(self.unexpected("a key in double quotes"));
        }
        let (key, _) = self.string()?;
        self.skip_ws();
        if self.peek() != Some(':') {
            return Err(self.unexpected(&format!("':' after the key {}", quote(&key))));
        }
        self.bump();
        let value = self.value(depth)?;
        Ok(Member { key, key_at: Some(key_at), value })
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        let open = self.open(depth)?;
        let mut items = Vec::new();
        if self.peek() == Some(']') {
            self.bump();
            return Ok(Kind::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            if !self.separator(']', open)? {
                return Ok(Kind::Array(items));
            }
        }
    }

    /// After an element: `,` and more to come (true), or the closing bracket (false).
    fn separator(&mut self, close: char, open: Pos) -> Result<bool, SyntaxError> {
        self.skip_ws();
        let noun = if close == '}' { "object" } else { "array" };
        match self.peek() {
            Some(',') => {
                let comma = self.pos;
                self.bump();
                self.skip_ws();
                if self.peek() == Some(close) {
                    return Err(error(comma, format!("trailing comma before {close}; remove the comma")));
                }
                Ok(true)
            }
            Some(c) if c == close => {
                self.bump();
                Ok(false)
            }
            None => Err(error(
                self.pos,
                format!(
                    "unexpected end of text; the {noun} opened at line {}, column {} is not closed: add '{close}'",
                    open.line, open.column
                ),
            )),
            Some(c) if c == '"' || (close == ']' && self.value_ahead()) => {
                Err(error(self.pos, "missing ',' before this; separate the elements with commas"))
            }
            Some(_) => Err(self.unexpected(&format!("',' or '{close}' to continue the {noun}"))),
        }
    }

    /// A string literal: its value and, unless its quote and each of its characters took one
    /// column, the columns each took ([`Node::widths`]).
    fn string(&mut self) -> Result<(String, Option<Widths>), SyntaxError> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        // Filled only once a character takes other than one column: most strings have no
        // escape, and their values cost nothing more. The opening quote comes first (inside a
        // string it is itself an escape, `\"`).
        let quote = self.pos.column - open.column;
        let (mut widths, mut count) = ((quote != 1).then(|| vec![quote]), 1);
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(error(open, "unterminated string: add the closing '\"'")),
                Some('"') => return Ok((out, widths.map(Vec::into_boxed_slice))),
                Some('\\') => out.push(self.escape(at)?),
                Some(c) if c < ' ' => return Err(error(at, control_message(c))),
                Some(c) => out.push(c),
            }
            // A literal is on one line of the text positions are reported in, so the columns
            // this character took are the distance the position moved.
            let width = self.pos.column - at.column;
            if width != 1 && widths.is_none() {
                widths = Some(vec![1; count]);
            }
            if let Some(w) = widths.as_mut() {
                w.push(width);
            }
            count += 1;
        }
    }

    /// The escape sequence after the `\` at `at` (RFC 8259 §7, [`unescape`]).
    fn escape(&mut self, at: Pos) -> Result<char, SyntaxError> {
        let (c, len) = unescape(self.text[self.i..].chars()).map_err(|e| error(at, escape_message(e)))?;
        for _ in 0..len {
            self.bump();
        }
        Ok(c)
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Number, SyntaxError> {
        let (at, start) = (self.pos, self.i);
        let valid = self.number_grammar();
        let glued = matches!(self.peek(), Some(c) if c.is_alphanumeric() || matches!(c, '.' | '+' | '-'));
        if !valid || glued {
            let token: String = self.text[start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '+' | '-'))
                .collect();
            return Err(error(
                at,
                format!(
                    "invalid number {}; write numbers like 12, -3 or 4.5e6 (no leading zeros, + sign or bare dot)",
                    quote(&token)
                ),
            ));
        }
        let text = &self.text[start..self.i];
        text.parse().map_err(|_| error(at, format!("the number {text} is out of range")))
    }

    fn number_grammar(&mut self) -> bool {
        if self.peek() == Some('-') {
            self.bump();
        }
        match self.peek() {
            Some('0') => {
                self.bump();
            }
            Some('1'..='9') => {
                self.digits();
            }
            _ => return false,
        }
        if self.peek() == Some('.') {
            self.bump();
            if self.digits() == 0 {
                return false;
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.digits() == 0 {
                return false;
            }
        }
        true
    }

    fn digits(&mut self) -> usize {
        let mut n = 0;
        while matches!(self.peek(), Some('0'..='9')) {
            self.bump();
            n += 1;
        }
        n
    }
}

fn word_message(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    if ["true", "false", "null"].contains(&lower.as_str()) {
        format!("unexpected word {}; JSON's true, false and null are lowercase: {lower}", quote(word))
    } else {
        format!("unexpected word {}; text must be in double quotes: {}", quote(word), quote(word))
    }
}

/// An escape fault in this reader's words (the filter lexer has its own).
fn escape_message(e: EscapeError) -> String {
    match e {
        EscapeError::End => "unterminated string: add the closing '\"'".to_owned(),
        EscapeError::Unknown(c) => {
            let shown = if c.is_ascii_graphic() { format!("\\{c}") } else { format!("\\ then U+{:04X}", u32::from(c)) };
            format!("invalid escape {shown}; use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX")
        }
        EscapeError::Hex | EscapeError::LowHex => {
            "invalid \\u escape: \\u takes exactly 4 hex digits, as in \\u00e9".to_owned()
        }
        EscapeError::LoneLow | EscapeError::LoneHigh => {
            "invalid \\u escape: half of a surrogate pair (\\uD800-\\uDFFF) alone is not a character".to_owned()
        }
    }
}

fn control_message(c: char) -> String {
    match c {
        '\n' | '\r' => "line break inside a string; end the string before the line ends, or write \\n".to_owned(),
        '\t' => "tab inside a string; write it as \\t".to_owned(),
        c => {
            format!("control character U+{:04X} inside a string; write it as \\u{:04x}", u32::from(c), u32::from(c))
        }
    }
}

fn show_char(c: char) -> String {
    match c {
        c if c.is_ascii_graphic() => format!("'{c}'"),
        c if c.is_whitespace() => format!("U+{:04X}, a space JSON does not allow", u32::from(c)),
        c => format!("U+{:04X}", u32::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::parse;
    use crate::accounts::fixtures::{cat, open};
    use crate::accounts::{Document, parse_accounts, parse_payload};

    /// Rule 1: every kind of syntax fault, at the exact line and column (in characters).
    #[test]
    fn syntax_faults_point_at_the_fault() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let cases: &[(&str, usize, usize, &str)] = &[
            (r#"{"accountId":"A",}"#, 1, 17, "trailing comma before }; remove the comma"),
            (r#"["A",]"#, 1, 5, "trailing comma before ]"),
            ("{\"accountId\":\"A\" // note\n}", 1, 18, "comments are not allowed in JSON"),
            (r#"{"accountId":"A", /* note */ "roles":"E"}"#, 1, 19, "comments are not allowed in JSON"),
            (r#"{'accountId':'A'}"#, 1, 2, "strings use double quotes"),
            (r#"{"accountId":'A'}"#, 1, 14, "strings use double quotes"),
            (r#"{"accountId":ACC123}"#, 1, 14, r#"unexpected word "ACC123"; text must be in double quotes"#),
            (r#"{accountId:"A"}"#, 1, 2, r#"unexpected word "accountId""#),
            (
                r#"{"accountId":"A","status":True}"#,
                1,
                27,
                r#"unexpected word "True"; JSON's true, false and null are lowercase: true"#,
            ),
            (r#"{"accountId":"A","x":nul}"#, 1, 22, r#"unexpected word "nul""#),
            (r#"{"accountId" "A"}"#, 1, 14, r#"expected ':' after the key "accountId", got '"'"#),
            (r#"{"accountId":"A" "roles":"E"}"#, 1, 18, "missing ',' before this"),
            (r#"[1 true]"#, 1, 4, "missing ',' before this"),
            (r#"{"a":1 ]"#, 1, 8, "expected ',' or '}' to continue the object, got ']'"),
            (r#"{,}"#, 1, 2, "expected a key in double quotes, got ','"),
            (r#"{"accountId":"A"#, 1, 14, "unterminated string"),
            ("{\"accountId\":\"A\nB\"}", 1, 16, "line break inside a string"),
            ("{\"accountId\":\"A\tB\"}", 1, 16, "tab inside a string; write it as \\t"),
            ("{\"accountId\":\"A\u{1}\"}", 1, 16, "control character U+0001 inside a string"),
            (r#"{"accountId":"A\qB"}"#, 1, 16, r"invalid escape \q; use"),
            (r#"{"accountId":"\u12G4"}"#, 1, 15, "\\u takes exactly 4 hex digits"),
            (r#"{"accountId":"\uD800"}"#, 1, 15, "half of a surrogate pair"),
            (r#"{"accountId":"\uDC00\uD800"}"#, 1, 15, "half of a surrogate pair"),
            (r#"{"accountId":"A","n":01}"#, 1, 22, r#"invalid number "01"; write numbers like 12"#),
            ("+1", 1, 1, r#"invalid number "+1""#),
            (".5", 1, 1, r#"invalid number ".5""#),
            ("[1.]", 1, 2, r#"invalid number "1.""#),
            ("[-]", 1, 2, r#"invalid number "-""#),
            ("[1e999]", 1, 2, "the number 1e999 is out of range"),
            (r#"{"accountId":"A"}}"#, 1, 18, "expected the end of the text after the JSON value, got '}'"),
            (r#"{"accountId":"A"},{"accountId":"B"}"#, 1, 18, "put them in an array: [{...}, {...}]"),
            ("", 1, 1, "unexpected end of text; expected a value"),
            ("  \n ", 2, 2, "unexpected end of text; expected a value"),
            (r#"{"accountId":"A""#, 1, 17, "the object opened at line 1, column 1 is not closed: add '}'"),
            (r#"[{"accountId":"A"}"#, 1, 19, "the array opened at line 1, column 1 is not closed: add ']'"),
            (&deep, 1, 65, "nesting deeper than 64 levels of objects and arrays"),
            // Columns count characters: é, ü, 名, 😀 are one column each.
            (r#"{"é":"ü",}"#, 1, 9, "trailing comma before }"),
            (r#"{"名前":"😀", x}"#, 1, 12, r#"unexpected word "x""#),
            ("{\n  \"accountId\": \"A\",\n}", 2, 19, "trailing comma before }"),
            ("{\r\n\"accountId\":\"A\",\r\n}", 2, 16, "trailing comma before }"),
            ("{\t'a':1}", 1, 3, "strings use double quotes"),
            ("{\u{a0}}", 1, 2, "got U+00A0, a space JSON does not allow"),
            ("\u{feff}{}", 1, 1, "got U+FEFF"),
        ];
        for (text, line, column, message) in cases {
            let faults = parse_payload(text, &open()).unwrap_err();
            let f = &faults[0];
            assert_eq!(faults.len(), 1, "{text:?}: {faults:?}");
            assert_eq!((f.scim_type, f.index), ("invalidSyntax", None), "{text:?}");
            assert_eq!((f.line, f.column), (Some(*line), Some(*column)), "{text:?}: {}", f.message);
            assert!(f.message.contains(message), "{text:?}: {}", f.message);
            if !text.starts_with("[[[") {
                assert!(serde_json::from_str::<Value>(text).is_err(), "serde_json accepts {text:?}");
            }
        }
    }

    /// Huge and deeply nested inputs: no stack overflow, the depth is reported.
    #[test]
    fn huge_and_deep_inputs() {
        for text in ["[".repeat(100_000), "{\"a\":".repeat(100_000), format!("{}1{}", "[".repeat(64), "]".repeat(64))] {
            let r = Document::parse(&text);
            if text.starts_with("[[") && text.contains('1') {
                assert!(r.is_ok(), "64 levels are allowed");
            } else {
                assert_eq!(r.unwrap_err().message, "nesting deeper than 64 levels of objects and arrays");
            }
        }
        let deep = (0..200).fold(json!("x"), |v, _| json!([v]));
        assert!(parse_accounts(&deep, &open()).is_err());
        let long = format!(r#"{{"accountId":"{}"}}"#, "é".repeat(1_000_000));
        assert!(parse_payload(&long, &cat()).unwrap_err()[0].message.len() < 200);
        let many: Vec<String> = (0..10_000).map(|i| format!(r#"{{"accountId":"A{i}","x":1}}"#)).collect();
        assert_eq!(parse_accounts(&json!(many), &open()).unwrap_err().len(), 10_000);
    }

    /// A few thousand mutated payloads and bodies: nothing panics, and the strict parser agrees
    /// with serde_json on what is JSON and what it means.
    #[test]
    fn mutated_inputs_never_panic() {
        let seeds = [
            r#"{"accountId":"ACC123","roles":["Editor","Viewer"],"teams":"Marketing","status":"Active"}"#,
            r#"[{"accountId":"ACC123"},"{\"accountId\":\"ACC200\",\"roles\":\"Editor\"}"]"#,
            r#"{"userName":"bjensen","active":"True","accounts":["{\"accountId\":\"ACC123\"}"],"emails":[{"value":"a@x","primary":true}]}"#,
            "{\"accountId\":\"Zé😀\\u00e9\\ud83d\\ude00\",\n\t\"status\": -1.5e3, \"x\": [true, false, null, 0]}",
        ];
        let alphabet: Vec<char> = "{}[]\":,\\/'*-+.0123456789eEtrufalsnA \n\t\ru\u{0}é😀".chars().collect();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for round in 0..4000 {
            let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
            for _ in 0..1 + next(4) {
                let at = next(chars.len() + 1);
                match next(3) {
                    0 => chars.insert(at, alphabet[next(alphabet.len())]),
                    1 if at < chars.len() => drop(chars.remove(at)),
                    _ if at < chars.len() => chars[at] = alphabet[next(alphabet.len())],
                    _ => {}
                }
            }
            let text: String = chars.into_iter().collect();
            let ours = parse(&text);
            let theirs = serde_json::from_str::<Value>(&text);
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{text:?}: {ours:?} / {theirs:?}");
            if let (Ok(node), Ok(value)) = (&ours, &theirs) {
                assert_eq!(&node.to_value(), value, "{text:?}");
            }
            let _ = parse_payload(&text, &cat());
            let _ = parse_accounts(&json!(text), &cat());
            let _ = parse_accounts(&json!([text]), &open());
            let _ = crate::check::check_payloads(&text, &cat());
            let _ = crate::check::check_user(&text);
        }
    }

    /// String escapes (RFC 8259 §7): what each decodes to, and each fault's exact words and
    /// position (the `\` that starts it). The browser and the server show these words.
    #[test]
    fn string_escapes_keep_their_words_and_positions() {
        let hex = "invalid \\u escape: \\u takes exactly 4 hex digits, as in \\u00e9";
        let half = "invalid \\u escape: half of a surrogate pair (\\uD800-\\uDFFF) alone is not a character";
        let bad = |shown: &str| format!("invalid escape {shown}; use \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX");
        /// The decoded string, or the fault's line, column and message.
        type Want<'a> = Result<&'a str, (usize, usize, String)>;
        let cases: Vec<(&str, Want<'_>)> = vec![
            (r#"["ü\/\b\f\n\r\t\"\\\u00e9\ud83d\ude00"]"#, Ok("ü/\u{8}\u{c}\n\r\t\"\\é😀")),
            (r#"["\u0000\uDBFF\uDFFF\uFFFF"]"#, Ok("\0\u{10FFFF}\u{FFFF}")),
            (r#"["a\qb"]"#, Err((1, 4, bad("\\q")))),
            ("[\"a\\\u{e9}b\"]", Err((1, 4, bad("\\ then U+00E9")))),
            ("[\"a\\\nb\"]", Err((1, 4, bad("\\ then U+000A")))),
            ("\n [\"é\\", Err((2, 5, "unterminated string: add the closing '\"'".to_owned()))),
            (r#"["\u12"]"#, Err((1, 3, hex.to_owned()))),
            (r#"["\u12G4"]"#, Err((1, 3, hex.to_owned()))),
            (r#"["é\u12"#, Err((1, 4, hex.to_owned()))),
            (r#"["\udc00"]"#, Err((1, 3, half.to_owned()))),
            (r#"["\ud83d"]"#, Err((1, 3, half.to_owned()))),
            (r#"["\ud83d\"#, Err((1, 3, half.to_owned()))),
            (r#"["\ud83d\x"]"#, Err((1, 3, half.to_owned()))),
            (r#"["\ud83d\u0041"]"#, Err((1, 3, half.to_owned()))),
            (r#"["\ud83d\udbff"]"#, Err((1, 3, half.to_owned()))),
            (r#"["\ud83d\u12G4"]"#, Err((1, 3, hex.to_owned()))),
            (r#"["\ud83d\ude0"]"#, Err((1, 3, hex.to_owned()))),
            (r#"["\ud83d\u"#, Err((1, 3, hex.to_owned()))),
        ];
        for (text, want) in cases {
            let got = parse(text).map_err(|e| (e.at.line, e.at.column, e.message));
            match (got, want) {
                (Ok(node), Ok(s)) => assert_eq!(node.to_value(), json!([s]), "{text:?}"),
                (got, want) => assert_eq!(got.map(|_| ()), want.map(|_| ()), "{text:?}"),
            }
        }
    }
}
