//! Caseless comparison of text, for attributes with `caseExact: false` (RFC 7643 §2.2, §7).

use std::borrow::Cow;

use crate::error::ValidationError;

/// Folds case so that two strings compare equal when they differ only in case, Unicode-aware:
/// `"STRASSE"`, `"straße"` and `"Strasse"` all fold to `"strasse"`, and `"ΣΑΣ"` and `"σασ"` to the
/// same text. ASCII text takes a fast path. The server's uniqueness index and the filter evaluator
/// both use this one function, so they never disagree.
///
/// ```
/// use scimbox_validator::text::fold;
/// assert_eq!(fold("Straße"), fold("STRASSE"));
/// assert_eq!(fold("ΣΑΣ"), fold("σασ"));
/// assert_eq!(fold("BJensen"), "bjensen");
/// ```
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(s.to_ascii_lowercase()) } else { Cow::Borrowed(s) }
    } else {
        // Upper-casing first maps ß to SS and every sigma form to Σ; lower-casing then gives
        // one spelling per caseless class for the scripts identity data is written in.
        Cow::Owned(s.to_uppercase().to_lowercase())
    }
}

/// The first character of `s` that has no place in an identifier people read and type: a control
/// character (Unicode category Cc: C0, DEL and C1, NUL included) or a bidirectional formatting
/// character (Unicode UAX #9: the marks, embeddings, overrides and isolates). The latter make
/// text display in another order than it compares (`alice\u{202E}moc.evil` shows as
/// `alicelive.com`): the "Trojan Source" trick, CVE-2021-42574. Returns the character and its
/// 1-based position in characters.
///
/// ```
/// use scimbox_validator::text::forbidden_char;
/// assert_eq!(forbidden_char("alice\u{202E}x"), Some((6, '\u{202E}')));
/// assert_eq!(forbidden_char("a\0"), Some((2, '\0')));
/// assert_eq!(forbidden_char("Zoë O'Brien"), None);
/// ```
pub fn forbidden_char(s: &str) -> Option<(usize, char)> {
    s.chars().enumerate().find(|&(_, c)| c.is_control() || is_bidi_control(c)).map(|(i, c)| (i + 1, c))
}

/// Whether `c` is one of Unicode's bidirectional formatting characters (UAX #9 §2): ALM, LRM,
/// RLM, the embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and the isolates (LRI, RLI, FSI,
/// PDI).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `U+202E (RIGHT-TO-LEFT OVERRIDE)`: a forbidden character as an error message names it, with
/// its Unicode name (or, for a control character without one, its usual alias).
pub fn describe_char(c: char) -> String {
    let name = match c {
        '\0' => "NULL",
        '\u{7}' => "BELL",
        '\u{8}' => "BACKSPACE",
        '\t' => "CHARACTER TABULATION",
        '\n' => "LINE FEED",
        '\u{B}' => "LINE TABULATION",
        '\u{C}' => "FORM FEED",
        '\r' => "CARRIAGE RETURN",
        '\u{1B}' => "ESCAPE",
        '\u{7F}' => "DELETE",
        '\u{85}' => "NEXT LINE",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        c if c.is_control() => "a control character",
        _ => "a bidirectional formatting character",
    };
    format!("U+{:04X} ({name})", u32::from(c))
}

/// Checks a `userName` (RFC 7643 §4.1.1: "Unique identifier for the User, typically used by the
/// user to directly authenticate"): no control or bidirectional formatting character, anywhere.
/// Such a name cannot be typed at a login prompt and may display as another user's name. The
/// error is `invalidValue` and names the character and its position:
/// `userName contains U+202E (RIGHT-TO-LEFT OVERRIDE) at character 6; ...`.
pub fn check_user_name(s: &str) -> Result<(), ValidationError> {
    match forbidden_char(s) {
        None => Ok(()),
        Some((at, c)) => Err(ValidationError::value(format!(
            "userName contains {} at character {at}; control and bidirectional formatting \
             characters are not allowed in a userName",
            describe_char(c)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_refuse_controls_and_bidi_anywhere() {
        for (name, at, described) in [
            ("a\0b", 2, "U+0000 (NULL)"),
            ("\tbob", 1, "U+0009 (CHARACTER TABULATION)"),
            ("bob\n", 4, "U+000A (LINE FEED)"),
            ("bo\u{7F}b", 3, "U+007F (DELETE)"),
            ("bob\u{9B}", 4, "U+009B (a control character)"),
            ("alice\u{202E}moc", 6, "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
            ("é\u{200F}", 2, "U+200F (RIGHT-TO-LEFT MARK)"),
            ("\u{061C}x", 1, "U+061C (ARABIC LETTER MARK)"),
            ("x\u{2066}y\u{2069}", 2, "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
            ("x\u{202A}", 2, "U+202A (LEFT-TO-RIGHT EMBEDDING)"),
        ] {
            let e = check_user_name(name).unwrap_err();
            assert_eq!(e.scim_type, crate::ScimType::InvalidValue);
            assert!(e.detail.starts_with(&format!("userName contains {described} at character {at};")), "{e:?}");
        }
    }

    /// The browser checker (`/check`, the WASM build of `check`) gives the server's verdict.
    #[test]
    fn the_checker_refuses_them_too() {
        let v = crate::check::check_user("{\"userName\": \"alice\\u202Emoc\"}");
        assert!(!v.valid);
        assert!(v.errors[0].detail.contains("U+202E (RIGHT-TO-LEFT OVERRIDE) at character 6"), "{:?}", v.errors);
        let v = crate::check::check_patch(
            r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "userName", "value": "bob\u0000"}]}"#,
        );
        assert!(!v.valid);
        assert!(v.errors[0].detail.contains("U+0000 (NULL) at character 4"), "{:?}", v.errors);
        assert!(crate::check::check_user(r#"{"userName": " alice "}"#).valid);
    }

    #[test]
    fn ordinary_names_pass() {
        // Spaces, letters of any script, joiners (ZWJ is not a bidi control) and combining marks.
        for name in ["bjensen", "Barbara Jensen", "josé", "jose\u{301}", "محمد", "👩\u{200D}💻", " alice "] {
            assert_eq!(check_user_name(name), Ok(()), "{name:?}");
        }
    }
}
