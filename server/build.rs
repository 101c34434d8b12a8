//! Build-time inputs of the server:
//!
//! - refinery's `embed_migrations!` does not notice new migration files by itself, hence the
//!   `rerun-if-changed` on `../migrations` (and `../migrations-pg`, PostgreSQL's);
//! - the browser validator in `../web/pkg/` (built by `scripts/build-wasm.sh`, committed) is
//!   embedded by `src/http/assets.rs`; this computes each file's ETag and refuses to build
//!   without the files. It never runs the wasm build itself (no nested cargo).

use std::path::Path;

/// The files `src/http/assets.rs` embeds, and the environment variable carrying each ETag.
const PKG_FILES: [(&str, &str); 3] = [
    ("validator.js", "SCIMBOX_ETAG_VALIDATOR_JS"),
    ("validator_bg.wasm", "SCIMBOX_ETAG_VALIDATOR_WASM"),
    ("validator.d.ts", "SCIMBOX_ETAG_VALIDATOR_DTS"),
];

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=../migrations-pg");
    println!("cargo:rerun-if-changed=../web/pkg");
    // Read when the script runs, not when it was compiled: a build script compiled in another
    // checkout (a moved target directory) must still look in this one.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| ".".into());
    let pkg = Path::new(&manifest_dir).join("../web/pkg");
    for (file, var) in PKG_FILES {
        let path = pkg.join(file);
        match std::fs::read(&path) {
            Ok(bytes) => println!("cargo:rustc-env={var}={}", etag(&bytes)),
            Err(e) => {
                eprintln!(
                    "error: web/pkg/{file} is missing ({e}).\n\
                     The browser validator is embedded in the scimbox binary; web/pkg/ is committed.\n\
                     Restore it with `git checkout web/pkg` or rebuild it with `scripts/build-wasm.sh`."
                );
                std::process::exit(1);
            }
        }
    }
}

/// A strong ETag: FNV-1a (64 bits) of the bytes and their length, quoted.
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    format!("\"{hash:016x}-{:x}\"", bytes.len())
}
