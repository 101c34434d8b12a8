//! The only place that reads the wall clock, so that `meta` timestamps and token expiry can be
//! reasoned about (and tested) through one function.

use time::OffsetDateTime;

/// Now, in UTC.
#[allow(clippy::disallowed_methods, reason = "this is the one place that reads the clock")]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Now, formatted as stored and returned (`2026-11-30T10:00:00.000Z`).
pub fn now_stamp() -> String {
    crate::stamp::timestamp(now())
}
