//! Timestamps for people: stored stamps (`2026-11-30T10:00:03.123Z`) shown as
//! `2026-11-30 10:00:03 UTC` and as "5 min ago".

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// A stored timestamp, ready for a `<time>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// As stored (RFC 3339): the element's `datetime`.
    pub iso: String,
    /// `2026-11-30 10:00:03 UTC`.
    pub text: String,
    /// Relative to now: `5 min ago`, `in 3 days`.
    pub relative: String,
}

impl Stamp {
    /// Formats `iso` as seen at `now`; a stamp that does not parse is shown as it is.
    pub fn new(iso: &str, now: OffsetDateTime) -> Self {
        let Ok(at) = OffsetDateTime::parse(iso, &Rfc3339) else {
            return Self { iso: iso.into(), text: iso.into(), relative: iso.into() };
        };
        Self { iso: iso.into(), text: absolute(iso), relative: relative(at - now) }
    }

    /// [`Stamp::new`] of an optional stamp.
    pub fn opt(iso: Option<&str>, now: OffsetDateTime) -> Option<Self> {
        iso.map(|s| Self::new(s, now))
    }
}

/// `2026-11-30 10:00:03 UTC`: the stored form without the `T`, the fraction and the `Z`.
fn absolute(iso: &str) -> String {
    let date_time = iso.split('.').next().unwrap_or(iso).trim_end_matches('Z');
    format!("{} UTC", date_time.replacen('T', " ", 1))
}

/// `just now`, `5 min ago`, `in 3 h`, `12 days ago`.
fn relative(d: Duration) -> String {
    let secs = d.whole_seconds();
    let abs = secs.unsigned_abs();
    let amount = match abs {
        0..60 => return "just now".into(),
        60..3600 => format!("{} min", abs / 60),
        3600..86_400 => format!("{} h", abs / 3600),
        86_400..172_800 => "1 day".into(),
        _ => format!("{} days", (abs + 43_200) / 86_400),
    };
    if secs < 0 { format!("{amount} ago") } else { format!("in {amount}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_read_well() {
        let now = OffsetDateTime::parse("2026-11-30T10:00:00Z", &Rfc3339).unwrap();
        let s = Stamp::new("2026-11-30T09:54:59.123Z", now);
        assert_eq!((s.text.as_str(), s.relative.as_str()), ("2026-11-30 09:54:59 UTC", "5 min ago"));
        assert_eq!(Stamp::new("2026-12-03T10:00:00.000Z", now).relative, "in 3 days");
        assert_eq!(Stamp::new("2026-11-30T10:00:10.000Z", now).relative, "just now");
        assert_eq!(Stamp::new("2026-11-29T08:00:00.000Z", now).relative, "1 day ago");
        assert_eq!(Stamp::new("garbage", now).text, "garbage");
    }
}
