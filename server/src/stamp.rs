//! How a moment is written down: the one text form of every stored and returned timestamp
//! (`2026-11-30T10:00:00.000Z`). A pure function with no clock, so that storage (which formats
//! nothing itself but re-exports this for its callers) and [`crate::clock`] (which reads the
//! time) both depend on it without depending on each other.

use time::OffsetDateTime;

/// The stored form's layout.
const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `t` as stored: RFC 3339, UTC, millisecond precision, fixed width (so that stored
/// timestamps compare as text in time order).
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.format(FORMAT).unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// A stored timestamp read back (`None` if `s` is not one), for arithmetic on stored moments
/// (a token's lifetime is its expiry minus its issue).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, FORMAT).ok().map(time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_utc_with_milliseconds() {
        let t = time::macros::datetime!(2026-11-30 11:00:00.5 +01:00);
        assert_eq!(timestamp(t), "2026-11-30T10:00:00.500Z");
    }

    #[test]
    fn parses_what_it_writes() {
        let t = time::macros::datetime!(2026-11-30 10:00:00.5 UTC);
        assert_eq!(parse(&timestamp(t)), Some(t));
        assert_eq!(parse("2026-11-30"), None);
        assert_eq!(parse("yesterday"), None);
    }
}
