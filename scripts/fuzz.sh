#!/usr/bin/env bash
# Fuzzes scimbox's parsers with cargo-fuzz (libFuzzer + AddressSanitizer), on the pinned stable
# toolchain: RUSTC_BOOTSTRAP=1 lets stable rustc accept the -Z flags cargo-fuzz passes, so no
# nightly is needed. Installs cargo-fuzz if it is missing. The fuzz crate (fuzz/) is outside the
# workspace: the normal build and CI never compile it.
#
#   scripts/fuzz.sh                   every target, 60 s each
#   scripts/fuzz.sh TARGET [SECONDS]  one target (filter, path, patch, accounts, redact)
#   scripts/fuzz.sh all 600           every target, 10 minutes each
#   scripts/fuzz.sh --list            the targets
#
# Each run starts from seeds (fuzz/seed.py: inputs taken from the test fixtures and sources, and
# the hand-written ones in fuzz/seeds/TARGET) plus whatever fuzz/corpus/TARGET gathered before,
# and first replays fuzz/regressions/TARGET (inputs that crashed once). A crash stops the run and
# its input is written under fuzz/artifacts/TARGET/: fix the code (with a unit test holding the
# input), then keep the input in fuzz/regressions/TARGET.
# Extra libFuzzer flags can follow the seconds (e.g. -jobs=2 or -max_len=4096). For `redact`,
# SCIMBOX_FUZZ_TOLERATE=TEXT goes on past panics whose message contains TEXT (fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(filter path patch accounts redact)
target="${1:-all}"
seconds="${2:-60}"
shift $(( $# < 2 ? $# : 2 ))

if [[ "$target" == "--list" ]]; then
    printf '%s\n' "${TARGETS[@]}"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

run() {
    local t="$1" features=()
    shift
    # The redactor lives in the server crate, whose dependencies take minutes to build under
    # ASan: only that target asks for it.
    [[ "$t" == redact ]] && features=(--features server)
    mkdir -p "fuzz/corpus/$t"
    python3 fuzz/seed.py "$t"   # seeds from the test fixtures and fuzz/seeds/
    if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
        echo "==> $t: replaying fuzz/regressions/$t"
        RUSTC_BOOTSTRAP=1 cargo fuzz run "${features[@]}" "$t" fuzz/regressions/$t/* -- -runs=1
    fi
    echo "==> $t: fuzzing for ${seconds}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "${features[@]}" "$t" "fuzz/corpus/$t" \
        -- -max_total_time="$seconds" -print_final_stats=1 "$@"
}

case "$target" in
    all) for t in "${TARGETS[@]}"; do run "$t" "$@"; done ;;
    filter|path|patch|accounts|redact) run "$target" "$@" ;;
    *) echo "unknown target: $target (try --list)" >&2; exit 2 ;;
esac
