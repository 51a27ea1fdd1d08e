#!/usr/bin/env bash
# The whole test suite, set-up included, on a fresh machine:
#   1. cargo test            — (every feature) unit, property, vector, corpus-replay, HTTP and doc
#                               tests; benches and examples compiled, benches run once
#   2. nginx in front of three demo instances (installs nginx-light if missing)
#   3. headless Chromium end-to-end (installs chromium and playwright-core if missing)
#   4. migration from Mozilla client-sessions: cookies minted by the real npm
#      package, read by the crate and by the demo (installs client-sessions)
#   5. the Node implementation (interop/node: node --test, every vector) and
#      the Rust and Express demos behind one nginx with one key ring
#   6. instructions per request of the codec and the layer under callgrind,
#      against the bounds in benches/instructions-bounds.txt (installs valgrind)
#   7. each fuzz target for FUZZ_SECONDS (default 60; installs cargo-fuzz; 0 skips)
# Needs root for apt-get when nginx or chromium are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo test"
cargo test --all-features --all-targets
cargo test --all-features --doc

step "instruction counts of the codec and the layer (callgrind, 10,000 sessions)"
scripts/instructions.sh --check

step "nginx: three instances, one key ring"
cargo build -q --example login
bash tests/deploy/nginx.sh

step "headless Chromium"
bash tests/browser/run.sh

step "migration from client-sessions (the real npm package)"
bash tests/legacy/run.sh

step "Node implementation: every vector, the Express middleware"
# The Express demo's "log out everywhere" writes through the sqlite3 command.
if ! command -v sqlite3 >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi
sh interop/node/install.sh
(cd interop/node && node --test)

step "Rust and Express behind one nginx, one key ring"
bash tests/interop/run.sh

if [ "${FUZZ_SECONDS:-60}" != 0 ]; then
  step "fuzzing each target for ${FUZZ_SECONDS:-60} s"
  bash fuzz/run-all.sh "${FUZZ_SECONDS:-60}"
fi
step "all suites passed"
# set -e stops at the first failing suite, so reaching here means all passed.
suites=8
[ "${FUZZ_SECONDS:-60}" != 0 ] && suites=9
echo "suites: $suites passed, 0 failed"
