//! JSON string escapes (RFC 8259 §7), decoded by one function for every reader of JSON strings
//! in this crate: the filter lexer ([`crate::filter`]) and the accounts JSON reader
//! ([`crate::accounts`]). Each of them words the faults its own way (a filter error names a
//! character index, a payload fault a line and column, and their texts are pinned by the tests
//! the browser and server must agree on), so this module says what is wrong and leaves the words
//! and the position to the caller.

/// What is wrong with an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EscapeError {
    /// The text ends right after the `\`.
    End,
    /// `\` then a character that starts no escape.
    Unknown(char),
    /// `\u` not followed by 4 hexadecimal digits.
    Hex,
    /// A low surrogate (`\uDC00`-`\uDFFF`) with no high surrogate before it.
    LoneLow,
    /// A high surrogate (`\uD800`-`\uDBFF`) not followed by `\u` and a low surrogate.
    LoneHigh,
    /// A high surrogate followed by `\u` without 4 hexadecimal digits.
    LowHex,
}

/// Decodes the escape sequence whose `\` comes just before `after` (the characters that follow
/// the `\`): the character, and how many characters of `after` the sequence takes (1 for `\n`,
/// 5 for `\u00e9`, 11 for the surrogate pair `\uD83D\uDE00`).
pub(crate) fn unescape(mut after: impl Iterator<Item = char>) -> Result<(char, usize), EscapeError> {
    let simple = match after.next() {
        None => return Err(EscapeError::End),
        Some('"') => '"',
        Some('\\') => '\\',
        Some('/') => '/',
        Some('b') => '\u{8}',
        Some('f') => '\u{c}',
        Some('n') => '\n',
        Some('r') => '\r',
        Some('t') => '\t',
        Some('u') => return unicode(after),
        Some(c) => return Err(EscapeError::Unknown(c)),
    };
    Ok((simple, 1))
}

/// `\uXXXX` after its `u`, or a UTF-16 surrogate pair `\uD83D\uDE00`.
fn unicode(mut rest: impl Iterator<Item = char>) -> Result<(char, usize), EscapeError> {
    let high = hex4(&mut rest).ok_or(EscapeError::Hex)?;
    match high {
        0xDC00..=0xDFFF => Err(EscapeError::LoneLow),
        0xD800..=0xDBFF => {
            if rest.next() != Some('\\') || rest.next() != Some('u') {
                return Err(EscapeError::LoneHigh);
            }
            let low = hex4(&mut rest).ok_or(EscapeError::LowHex)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(EscapeError::LoneHigh);
            }
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(code).map(|c| (c, 11)).ok_or(EscapeError::LoneHigh)
        }
        // Every other value below 0x10000 is a character.
        _ => char::from_u32(high).map(|c| (c, 5)).ok_or(EscapeError::Hex),
    }
}

/// The value of the next 4 hexadecimal digits, if the next 4 characters are such digits.
fn hex4(rest: &mut impl Iterator<Item = char>) -> Option<u32> {
    (0..4).try_fold(0, |acc, _| Some(acc * 16 + rest.next()?.to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use super::EscapeError::*;
    use super::*;

    #[test]
    fn escapes_decode_or_say_what_is_wrong() {
        /// The character and the length taken, or the fault.
        type Decoded = Result<(char, usize), EscapeError>;
        let cases: &[(&str, Decoded)] = &[
            (r#""rest"#, Ok(('"', 1))),
            (r"\", Ok(('\\', 1))),
            ("/", Ok(('/', 1))),
            ("b", Ok(('\u{8}', 1))),
            ("f", Ok(('\u{c}', 1))),
            ("n", Ok(('\n', 1))),
            ("r", Ok(('\r', 1))),
            ("tab", Ok(('\t', 1))),
            ("u00e9", Ok(('é', 5))),
            ("u00E9x", Ok(('é', 5))),
            ("u0000", Ok(('\0', 5))),
            ("uFFFF", Ok(('\u{FFFF}', 5))),
            (r"ud83d\ude00!", Ok(('😀', 11))),
            (r"uDBFF\uDFFF", Ok(('\u{10FFFF}', 11))),
            ("", Err(End)),
            ("q", Err(Unknown('q'))),
            ("é", Err(Unknown('é'))),
            ("\n", Err(Unknown('\n'))),
            ("U00e9", Err(Unknown('U'))),
            ("u", Err(Hex)),
            ("u12", Err(Hex)),
            ("u12G4", Err(Hex)),
            ("u+123", Err(Hex)),
            ("u１２３４", Err(Hex)),
            ("udc00", Err(LoneLow)),
            (r"uDFFF\ud83d", Err(LoneLow)),
            ("ud83d", Err(LoneHigh)),
            (r"ud83d\", Err(LoneHigh)),
            (r"ud83d\x", Err(LoneHigh)),
            (r"ud83d\u0041", Err(LoneHigh)),
            (r"ud83d\udbff", Err(LoneHigh)),
            (r"ud83d\u", Err(LowHex)),
            (r"ud83d\ude0", Err(LowHex)),
            (r"ud83d\u12G4", Err(LowHex)),
        ];
        for (after, want) in cases {
            assert_eq!(unescape(after.chars()), *want, "{after:?}");
        }
    }
}
