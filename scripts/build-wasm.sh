#!/usr/bin/env bash
# Builds the browser validator into web/pkg/, which is committed and embedded in the `scimbox`
# binary (so a fresh clone builds the server without any of this):
#
#   validator-wasm --(cargo rustc: cdylib, wasm32, profile "wasm")--> raw .wasm
#                  --(wasm-bindgen --target web)--> .js + .d.ts + .wasm --(wasm-opt -Oz)--> web/pkg/
#
#   scripts/build-wasm.sh          rebuild web/pkg/ (validator.js, validator_bg.wasm, validator.d.ts)
#   scripts/build-wasm.sh --check  rebuild into target/wasm-pkg/ and fail if web/pkg/ differs (CI)
#
# First use installs, cached under target/tools/: the wasm32 target (rustup), wasm-bindgen-cli
# (cargo install, same version as the wasm-bindgen crate in Cargo.lock) and binaryen's wasm-opt
# (npm; Debian's binaryen 108 produces modules that fail at init). Needs cargo, rustup and npm.
#
# The output is byte-for-byte the same in any checkout directory: source paths that end up in
# the module (panic locations) are remapped, the checkout to /scimbox and CARGO_HOME to /cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

BINARYEN_VERSION=132.0.0
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac
tools=$target_dir/tools

mode=build
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

say() { printf '%s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

bindgen=$tools/bin/wasm-bindgen
if [ "$("$bindgen" --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]; then
    say "installing wasm-bindgen-cli $wasm_bindgen_version into $tools (2-3 minutes, once)"
    # Not --locked: the CLI's own lock file pins a crate version missing from the registry.
    cargo install --quiet wasm-bindgen-cli --version "=$wasm_bindgen_version" --root "$tools" --force
fi

wasm_opt=$tools/binaryen/node_modules/.bin/wasm-opt
if ! "$wasm_opt" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    say "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm into $tools/binaryen"
    mkdir -p "$tools/binaryen"
    npm install --silent --no-audit --no-fund --prefix "$tools/binaryen" "binaryen@$BINARYEN_VERSION" >&2
fi

# --- build -----------------------------------------------------------------------------------
cargo_home=${CARGO_HOME:-$HOME/.cargo}
sep=$'\x1f'
export CARGO_ENCODED_RUSTFLAGS="--remap-path-prefix=$root=/scimbox$sep--remap-path-prefix=$cargo_home=/cargo"
if [ "${target_dir#"$root"/}" = "$target_dir" ]; then # a target dir outside the checkout
    CARGO_ENCODED_RUSTFLAGS+="$sep--remap-path-prefix=$target_dir=/target"
fi
cargo rustc --quiet -p scimbox-validator --lib --crate-type cdylib --target wasm32-unknown-unknown --profile wasm --locked
raw=$target_dir/wasm32-unknown-unknown/wasm/scimbox_validator.wasm

staging=$target_dir/wasm-pkg
rm -rf "$staging"
"$bindgen" "$raw" --target web --out-name validator --out-dir "$staging" \
    --remove-name-section --remove-producers-section
rm -f "$staging/validator_bg.wasm.d.ts" # the raw exports' types: nothing imports them
bindgen_size=$(wc -c <"$staging/validator_bg.wasm")
# The features Rust enables for wasm32 by default; wasm-opt must not assume more.
"$wasm_opt" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int \
    --enable-reference-types --enable-multivalue \
    "$staging/validator_bg.wasm" -o "$staging/validator_bg.wasm.opt"
mv "$staging/validator_bg.wasm.opt" "$staging/validator_bg.wasm"

kb() { awk -v b="$1" 'BEGIN { printf "%d bytes (%.1f KB)", b, b / 1024 }'; }
say "wasm sizes: raw $(kb "$(wc -c <"$raw")"), after wasm-bindgen $(kb "$bindgen_size"),"
say "            after wasm-opt -Oz $(kb "$(wc -c <"$staging/validator_bg.wasm")"), gzipped $(kb "$(gzip -9n <"$staging/validator_bg.wasm" | wc -c)")"

files=(validator.js validator_bg.wasm validator.d.ts)
if [ "$mode" = check ]; then
    drift=()
    for f in "${files[@]}"; do
        cmp -s "$staging/$f" "web/pkg/$f" || drift+=("web/pkg/$f")
    done
    extra=$(find web/pkg -type f ! -name validator.js ! -name validator_bg.wasm ! -name validator.d.ts 2>/dev/null)
    if [ ${#drift[@]} -gt 0 ] || [ -n "$extra" ]; then
        say ""
        say "web/pkg/ is out of date with validator-wasm/ (differs: ${drift[*]:-} ${extra})."
        say "Run scripts/build-wasm.sh and commit web/pkg/ with your change."
        exit 1
    fi
    say "web/pkg/ matches a fresh build"
else
    mkdir -p web/pkg
    rm -f web/pkg/validator*
    for f in "${files[@]}"; do cp "$staging/$f" "web/pkg/$f"; done
    say "wrote web/pkg/: ${files[*]}"
fi
