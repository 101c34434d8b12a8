//! The journal's explanations as the page shows them: a fix names commands and attributes in
//! backticks (`` `scimbox account list` ``, `` `accounts` ``), which the page renders as `<code>`,
//! and the checker it mentions (`/check`) as a link to the checker opened with the entry's
//! payload. The text is cut into [`Span`]s here and the template writes each one through
//! askama's escaping, so no HTML is assembled by hand and a detail quoted from a request (which
//! an IdP controls) cannot inject markup.

/// One piece of an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// Plain words.
    Text(String),
    /// What stood between a pair of backticks.
    Code(String),
    /// The words `/check`, linked to the given address.
    Link(String, String),
}

/// `text` cut at pairs of backticks (an unpaired backtick stays as it is), and, when `check` is
/// given, with each `/check` outside the code linked to it.
pub fn spans(text: &str, check: Option<&str>) -> Vec<Span> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else { break };
        words(&rest[..open], check, &mut out);
        out.push(Span::Code(rest[open + 1..open + 1 + len].to_owned()));
        rest = &rest[open + 1 + len + 1..];
    }
    words(rest, check, &mut out);
    out
}

/// Plain words, with `/check` (not followed by a letter, digit or `-`) linked.
fn words(text: &str, check: Option<&str>, out: &mut Vec<Span>) {
    const WORD: &str = "/check";
    let mut rest = text;
    if let Some(href) = check {
        while let Some(at) = rest.find(WORD) {
            let after = rest[at + WORD.len()..].chars().next();
            if after.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '/' || c == '?') {
                push_text(&rest[..at + WORD.len()], out);
            } else {
                push_text(&rest[..at], out);
                out.push(Span::Link(WORD.to_owned(), href.to_owned()));
            }
            rest = &rest[at + WORD.len()..];
        }
    }
    push_text(rest, out);
}

fn push_text(text: &str, out: &mut Vec<Span>) {
    if text.is_empty() {
        return;
    }
    if let Some(Span::Text(last)) = out.last_mut() {
        last.push_str(text);
    } else {
        out.push(Span::Text(text.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Span {
        Span::Text(s.into())
    }

    #[test]
    fn backtick_pairs_become_code_and_the_checker_a_link() {
        let got = spans("Run `scimbox account list`, then paste it at /check. A lone ` stays.", Some("/check?from=7"));
        assert_eq!(
            got,
            [
                t("Run "),
                Span::Code("scimbox account list".into()),
                t(", then paste it at "),
                Span::Link("/check".into(), "/check?from=7".into()),
                t(". A lone ` stays."),
            ]
        );
        assert_eq!(
            spans("see /checker and `/check`", Some("/x")),
            [t("see /checker and "), Span::Code("/check".into())]
        );
        assert_eq!(spans("at /check", None), [t("at /check")]);
        assert_eq!(spans("", None), []);
        assert_eq!(spans("``", None), [Span::Code(String::new())]);
    }
}
