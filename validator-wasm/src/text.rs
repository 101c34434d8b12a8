//! Caseless comparison of text, for attributes with `caseExact: false` (RFC 7643 §2.2, §7).

use std::borrow::Cow;

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
