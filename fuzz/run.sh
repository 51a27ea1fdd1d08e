#!/usr/bin/env bash
# Runs one fuzz target for a while on the stable toolchain.
#
#   fuzz/run.sh TARGET SECONDS        TARGET: open_value | seal_open | chunk_header | service
#
# * Installs cargo-fuzz from crates.io when it is missing.
# * Stable rustc with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags). The
#   AddressSanitizer build is tried first; if it does not build, the script
#   falls back to `--sanitizer none` (set FUZZ_SANITIZER=address|none to force).
# * Starts from the committed corpus (fuzz/corpus/TARGET) and the saved crashes
#   (fuzz/regressions/TARGET); new inputs go to fuzz/work-corpus/TARGET
#   (git-ignored), so the committed corpus changes only by hand (cmin).
# * Exits non-zero on a crash, leak, timeout or OOM, after copying the
#   offending input into fuzz/regressions/TARGET/, where
#   tests/fuzz_corpus.rs replays it under plain `cargo test`.
set -uo pipefail

usage="usage: fuzz/run.sh open_value|seal_open|chunk_header|service SECONDS"
target=${1:?$usage}
seconds=${2:?$usage}
case $target in
open_value | seal_open) max_len=16384 ;;
chunk_header | service) max_len=40000 ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 2
fi

# cargo-fuzz needs -Zsanitizer and friends; stable rustc accepts them with this.
export RUSTC_BOOTSTRAP=1

sanitizer=${FUZZ_SANITIZER:-}
if [ -z "$sanitizer" ]; then
    if cargo fuzz build --debug-assertions --sanitizer address "$target"; then
        sanitizer=address
    else
        echo "run.sh: the AddressSanitizer build failed; falling back to --sanitizer none" >&2
        sanitizer=none
    fi
fi
echo "run.sh: $target for ${seconds}s, sanitizer $sanitizer, max_len $max_len" >&2

work=work-corpus/$target
mkdir -p "$work" "regressions/$target" "artifacts/$target"
marker=$(mktemp)

# One fuzzing process (no -jobs/-workers: the machine has 2 cores and is shared).
cargo fuzz run --debug-assertions --sanitizer "$sanitizer" "$target" \
    "$work" "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" \
    -dict=dict/cookie.dict \
    -max_len="$max_len" \
    -rss_limit_mb=2048 \
    -malloc_limit_mb=64 \
    -timeout=10 \
    -print_final_stats=1
rc=$?

if [ "$rc" -ne 0 ]; then
    saved=0
    while IFS= read -r -d '' found; do
        for known in "regressions/$target"/*; do
            if [ -f "$known" ] && cmp -s "$found" "$known"; then
                echo "run.sh: $(basename "$found") is the saved regression $known" >&2
                continue 2
            fi
        done
        cp "$found" "regressions/$target/"
        echo "run.sh: saved $(basename "$found") to fuzz/regressions/$target/" >&2
        echo "run.sh: input (base64): $(base64 -w0 "$found" | head -c 2000)" >&2
        saved=$((saved + 1))
    done < <(find "artifacts/$target" -type f -newer "$marker" -print0)
    echo "run.sh: $target FAILED (exit $rc), $saved input(s) saved" >&2
fi
rm -f "$marker"
exit "$rc"
