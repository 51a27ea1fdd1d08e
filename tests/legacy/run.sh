#!/usr/bin/env bash
# Migration from Mozilla client-sessions, with the real npm package:
#   1. installs client-sessions 0.8.0 (npm ci, from package-lock.json);
#   2. mints a fresh set of cookies with it (mint.cjs: valid, expired, each
#      field tampered, another secret, another cookie name, unicode, large,
#      other signature algorithms, one set by its middleware over HTTP);
#   3. runs tests/legacy_client_sessions.rs on them (LEGACY_FIXTURE);
#   4. starts the login demo with LEGACY_CLIENT_SESSIONS_SECRET and checks,
#      over HTTP, that a visitor holding a client-sessions cookie is logged
#      in and leaves with this crate's cookie, the legacy one expired
#      (live.mjs).
#
#   tests/legacy/run.sh            (LOGIN_BIN: the demo binary, as for the other suites)
# Prints PASS/FAIL per live check and ends with "N passed, M failed".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/legacy
cd "$ROOT"
# shellcheck source=../login-bin.sh
source "$ROOT/tests/login-bin.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: node and npm are needed (apt-get install nodejs npm)" >&2
        exit 2
    fi
    echo "installing nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi
if [[ ! -d $HERE/node_modules/client-sessions ]]; then
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

TMP=$(mktemp -d)
DEMO_PID=
cleanup() {
    rc=$?
    if [[ -n $DEMO_PID ]] && kill -0 "$DEMO_PID" 2>/dev/null; then
        kill "$DEMO_PID" 2>/dev/null || true
        wait "$DEMO_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f $TMP/demo.log ]]; then
        echo "---- demo log (tail) ----"
        tail -n 20 "$TMP/demo.log"
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT

node "$HERE/mint.cjs" "$TMP/fixture.json"
LEGACY_FIXTURE="$TMP/fixture.json" cargo test -q --test legacy_client_sessions

PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
KEY=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))')
SECRET=$(node -e 'console.log(require(process.argv[1]).secret)' "$TMP/fixture.json")
SESSION_KEYS=$KEY PORT=$PORT BIND=127.0.0.1 INSTANCE=legacy-test RUST_LOG=info,client_session=debug \
    DATABASE_PATH="$TMP/users.sqlite3" LEGACY_CLIENT_SESSIONS_SECRET=$SECRET \
    "$LOGIN_BIN" >"$TMP/demo.log" 2>&1 &
DEMO_PID=$!
for _ in $(seq 1 100); do
    kill -0 "$DEMO_PID" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
done
BASE_URL="http://127.0.0.1:$PORT" FIXTURE="$TMP/fixture.json" DATABASE_PATH="$TMP/users.sqlite3" \
    node "$HERE/live.mjs"
