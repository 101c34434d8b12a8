//! The journal redactor on arbitrary bytes: a body captured whole or cut at any point, and any
//! query string. It must never panic (issue 11 §1: a panic here stopped the journal).
//!
//! While a known panic awaits its fix, `SCIMBOX_FUZZ_TOLERATE=<text>` lets a run go on past
//! panics whose message contains that text (counted on stderr) to look for other faults; any
//! other panic still stops the run. Unset (the default), every panic is a crash.
#![no_main]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use scimbox::journal::redact;

static TOLERATED: AtomicU64 = AtomicU64::new(0);

fn run(data: &[u8]) {
    // The first two bytes choose how much more than the captured part the whole body was.
    let (extra, raw) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, data),
    };
    let _ = redact::body(raw, raw.len());
    let _ = redact::body(raw, raw.len() + extra);
    let _ = redact::query(&String::from_utf8_lossy(data));
}

fuzz_target!(|data: &[u8]| {
    let Some(tolerate) = std::env::var("SCIMBOX_FUZZ_TOLERATE").ok().filter(|t| !t.is_empty()) else {
        return run(data);
    };
    static QUIET: Once = Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(data))) {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        if !msg.contains(&tolerate) {
            eprintln!("panic: {msg}");
            std::process::abort();
        }
        let n = TOLERATED.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            eprintln!("tolerated panics so far: {n} (last: {msg})");
        }
    }
});
