//! The filter lexer: characters to tokens (words, JSON strings, brackets), with positioned
//! errors. Strings follow RFC 8259 §7, including `\uXXXX` surrogate pairs.

use std::fmt;

use crate::error::{Result, ValidationError};
use crate::json_string::{EscapeError, unescape};
use crate::path::clip;

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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

/// A token and where it stands.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Index of the first character (0-based, in characters).
    pub(super) start: usize,
    /// Index just past the last character.
    pub(super) end: usize,
}

impl Token {
    /// The token as quoted in error details.
    pub(super) fn describe(&self) -> String {
        match &self.tok {
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Word(w) => format!("\"{}\"", clip(w)),
            Tok::Str(s) => format!("the string \"{}\"", clip(s)),
        }
    }

    /// Whether the token is the word `keyword`, in any case.
    pub(super) fn is_word(&self, keyword: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Which grammar is being parsed: decides the error wording and `scimType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Syntax {
    Filter,
    Path,
}

impl Syntax {
    /// `filter` or `path`, for error details.
    pub(super) fn noun(self) -> &'static str {
        match self {
            Syntax::Filter => "filter",
            Syntax::Path => "path",
        }
    }

    /// An `invalidFilter` or `invalidPath` error; `detail` follows "invalid filter".
    pub(super) fn error(self, detail: String) -> ValidationError {
        let detail = format!("invalid {}{detail}", self.noun());
        match self {
            Syntax::Filter => ValidationError::filter(detail),
            Syntax::Path => ValidationError::path(detail),
        }
    }

    /// An error at character index `at` (reported 1-based).
    pub(super) fn error_at(self, at: usize, detail: impl fmt::Display) -> ValidationError {
        self.error(format!(" at character {}: {detail}", at + 1))
    }
}

/// The tokens of `chars`; whitespace separates them and is dropped.
pub(super) fn lex(chars: &[char], syn: Syntax) -> Result<Vec<Token>> {
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

/// The escape sequence whose `\` is at `at` (RFC 8259 §7, [`unescape`]): the character and the
/// index after it.
fn lex_escape(chars: &[char], at: usize, syn: Syntax) -> Result<(char, usize)> {
    let after = chars.iter().skip(at + 1).copied();
    let (c, len) = unescape(after).map_err(|e| syn.error_at(at, escape_message(e)))?;
    Ok((c, at + 1 + len))
}

/// An escape fault in the filter's words (the accounts JSON reader has its own).
fn escape_message(e: EscapeError) -> String {
    match e {
        EscapeError::End => "unterminated string: it ends with a lone \\".to_owned(),
        EscapeError::Unknown(other) => format!(
            "invalid escape \"\\{other}\" in a string; the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"
        ),
        EscapeError::Hex => "\\u must be followed by 4 hexadecimal digits".to_owned(),
        EscapeError::LoneLow => {
            "\\u escape is a lone low surrogate; it must follow a high surrogate (\\uD800-\\uDBFF)".to_owned()
        }
        EscapeError::LoneHigh | EscapeError::LowHex => {
            "\\u escape is a high surrogate not followed by a \\uDC00-\\uDFFF low surrogate".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::filter::fixtures::cmp;
    use crate::filter::{CompareOp, Filter, Literal};
    use crate::path::PatchPath;

    #[test]
    fn literals_parse_as_json_or_leniently() {
        let num = |s: &str| Literal::Number(s.parse().unwrap());
        let cases = vec![
            (r#""plain""#, Literal::String("plain".into())),
            (r#""a\"b\\c\/\n\t\u00e9\ud83d\ude00""#, Literal::String("a\"b\\c/\n\té😀".into())),
            (r#""\b\f\r\u0000\uDBFF\uDFFF\uFFFF""#, Literal::String("\u{8}\u{c}\r\0\u{10FFFF}\u{FFFF}".into())),
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

    /// Escape faults in filter strings (and the value filters of PATCH paths): each one's exact
    /// words and position (the `\` that starts it, in characters).
    #[test]
    fn escape_errors_keep_their_words_and_positions() {
        let bad = |c: &str| {
            format!(
                "invalid escape \"\\{c}\" in a string; the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX"
            )
        };
        let high = "\\u escape is a high surrogate not followed by a \\uDC00-\\uDFFF low surrogate";
        let hex = "\\u must be followed by 4 hexadecimal digits";
        let cases: Vec<(&str, String)> = vec![
            (r#"userName eq "a\qb""#, format!("at character 15: {}", bad("q"))),
            ("userName eq \"a\\\u{e9}b\"", format!("at character 15: {}", bad("\u{e9}"))),
            ("userName eq \"a\\\nb\"", format!("at character 15: {}", bad("\n"))),
            (r#"userName eq "é\"#, "at character 15: unterminated string: it ends with a lone \\".to_owned()),
            (r#"userName eq "\u12""#, format!("at character 14: {hex}")),
            (r#"userName eq "é\u12G4""#, format!("at character 15: {hex}")),
            (
                r#"userName eq "\udc00""#,
                "at character 14: \\u escape is a lone low surrogate; it must follow a high surrogate (\\uD800-\\uDBFF)"
                    .to_owned(),
            ),
            (r#"userName eq "\ud83d""#, format!("at character 14: {high}")),
            (r#"userName eq "\ud83d\x""#, format!("at character 14: {high}")),
            (r#"userName eq "\ud83d\u12G4""#, format!("at character 14: {high}")),
            (r#"userName eq "\ud83d\ude0""#, format!("at character 14: {high}")),
            (r#"userName eq "\ud83d\u0041""#, format!("at character 14: {high}")),
            (r#"userName eq "\ud83d\udbff""#, format!("at character 14: {high}")),
        ];
        for (text, want) in cases {
            assert_eq!(Filter::parse(text).map_err(|e| e.detail), Err(format!("invalid filter {want}")), "{text:?}");
        }
        let path = PatchPath::parse(r#"emails[value eq "\ud800"].type"#).map_err(|e| e.detail);
        assert_eq!(path, Err(format!("invalid path at character 18: {high}")));
    }
}
