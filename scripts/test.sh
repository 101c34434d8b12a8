#!/usr/bin/env bash
# Runs every check and test scimbox has. On a fresh machine it first installs what it needs:
# the pinned Rust toolchain with its components and the wasm32 target (rust-toolchain.toml),
# and the conformance checkers in a Python venv (scripts/requirements-conformance.txt).
#
#   scripts/test.sh            everything (what CI runs)
#   SCIMBOX_SKIP_CONFORMANCE=1 scripts/test.sh   everything but the PyPI conformance checkers
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain (rust-toolchain.toml)"
rustup toolchain install   # installs the pinned channel, its components and targets
rustc --version

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "validator builds for the browser (wasm32)"
cargo build -p scimbox-validator --target wasm32-unknown-unknown --locked

step "unit, doc and integration tests"
cargo test --workspace --locked

if [ "${SCIMBOX_SKIP_CONFORMANCE:-0}" != 1 ]; then
    step "conformance: scim2-tester and scim-sanity against a real server"
    scripts/conformance.sh
fi
