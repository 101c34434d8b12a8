//! The journal redactor on arbitrary bytes: a body captured whole or cut at any point, and any
//! query string. It must never panic (issue 11 §1: a panic here stopped the journal).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimbox::journal::redact;

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose how much more than the captured part the whole body was.
    let (extra, raw) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, data),
    };
    let _ = redact::body(raw, raw.len());
    let _ = redact::body(raw, raw.len() + extra);
    let _ = redact::query(&String::from_utf8_lossy(data));
});
