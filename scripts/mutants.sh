#!/usr/bin/env bash
# Mutation testing of the security core: would the tests notice a broken line?
#
#   scripts/mutants.sh                 # every mutant of the security core (~600, hours)
#   MUTANTS_BASE=<rev> scripts/mutants.sh   # only lines changed since <rev>
#   MUTANTS_FILES="src/a.rs src/b.rs" scripts/mutants.sh   # only these files
#
# Runs cargo-mutants (installed from crates.io when missing) on the files
# below with the fast test set, one job at a time (the machine has 2 cores).
# Results: target/mutants/mutants.out/{caught,missed,unviable,timeout}.txt.
# Every missed mutant must be killed by a test or explained in
# tests/mutants-explained.md.
set -euo pipefail
cd "$(dirname "$0")/.."

CORE=(
    src/format/mod.rs src/format/envelope.rs src/format/v1.rs src/format/v2.rs
    src/format/deflate.rs src/chunk.rs src/id.rs src/lifetime.rs src/revocation.rs src/rfc3339.rs
    src/keys/live.rs src/counters.rs
    src/keys/key.rs src/keys/keyring.rs src/keys/source.rs src/keys/plausibility.rs
    src/policy.rs src/cache_headers.rs src/cookie.rs src/session.rs
    src/future.rs src/service.rs src/config.rs
    src/csrf/mod.rs src/csrf/token.rs src/csrf/origin.rs src/csrf/form.rs src/csrf/layer.rs
    src/csrf/extract.rs src/flash/mod.rs src/flash/session_api.rs src/typed.rs src/kind.rs
    src/ext.rs src/tower_sessions_bridge.rs
)
TESTS=(
    --lib --test vectors --test release_cookies --test fork_safe_nonces --test bounded_resources
    --test http --test http_logging
    --test secrets_never_printed --test fuzz_corpus --test live_keys --test metrics
    --test tower_sessions
)

command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants

if [[ -n ${MUTANTS_FILES:-} ]]; then
    read -r -a CORE <<< "$MUTANTS_FILES"
fi
args=(--jobs 1 --all-features --output target/mutants --timeout-multiplier 3)
for file in "${CORE[@]}"; do
    args+=(--file "$file")
done
if [[ -n ${MUTANTS_BASE:-} ]]; then
    mkdir -p target
    # -M: a file that moved is compared with its old self, line by line.
    git diff -M "$MUTANTS_BASE" > target/mutants.diff
    args+=(--in-diff target/mutants.diff)
fi
# cargo-mutants exits 2 when mutants were missed: report, then pass it on.
status=0
cargo mutants "${args[@]}" -- "${TESTS[@]}" || status=$?
out=target/mutants/mutants.out
for kind in caught missed unviable timeout; do
    printf '%-9s %s\n' "$kind" "$( (cat "$out/$kind.txt" 2>/dev/null || true) | wc -l)"
done
exit "$status"
