#!/usr/bin/env bash
# The login demo in a real headless Chromium (playwright-core driving Debian's
# /usr/bin/chromium): form log-in, cart, reload, second tab, HttpOnly / Secure /
# SameSite as the browser stores them, a session chunked past 4 KiB, log out;
# "remember me" against a browser-session cookie across a browser restart on
# the same profile; "log out everywhere" seen from a second browser; CSRF:
# the hidden token in every form (masked per page), fetch() with and without
# X-CSRF-Token, forged form posts from an attacker page on another port
# (another site, and the same site / another origin) refused with the cart
# and session unchanged; flash messages shown once ("Item added.", "Logged
# out.", "Logged out everywhere.", the wrong-password error with its 401).
#
#   tests/browser/run.sh            from the repository root (or anywhere)
#
# Environment:
#   LOGIN_BIN    the demo binary (default: $CARGO_TARGET_DIR or target, then
#                debug/examples/login; built when missing)
#   CHROMIUM     the browser (default /usr/bin/chromium; apt-get installs it
#                when missing and running as root)
#   SCREENSHOT   where the logged-in page's screenshot goes
#                (default target/browser-screenshot.png, git-ignored)
#
# The demo listens on 127.0.0.1 on a free port; Chromium maps localhost to
# 127.0.0.1. Its user database (DATABASE_PATH) is a file in this run's
# temporary directory, not the machine-wide default that other runs share
# ("log out everywhere" writes to it); its revocation check runs every
# SESSION_CHECK_INTERVAL=2 seconds. Browser profiles live in the same
# directory. e2e.mjs serves the CSRF attacker pages itself, on another free
# port of 127.0.0.1 (reached as http://127.0.0.1:PORT2 and
# http://localhost:PORT2), and closes that server when done. Every process
# started is killed by PID on exit, also on failure.
# Prints PASS/FAIL per check and ends with "N passed, M failed".
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tests/browser
cd "$ROOT"
started=$SECONDS

# -- the demo binary
# shellcheck source=../login-bin.sh
source "$ROOT/tests/login-bin.sh"

# -- Chromium
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: $CHROMIUM missing (apt-get install chromium)" >&2
        exit 2
    fi
    echo "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

# -- playwright-core, pinned by package-lock.json
if [[ ! -f $HERE/node_modules/playwright-core/package.json ]]; then
    echo "installing playwright-core"
    (cd "$HERE" && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; })
fi

SCREENSHOT=${SCREENSHOT:-${CARGO_TARGET_DIR:-$ROOT/target}/browser-screenshot.png}
mkdir -p "$(dirname "$SCREENSHOT")"
rm -f "$SCREENSHOT"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/client-session-browser.XXXXXX")
DEMO_PID=
NODE_PID=

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

stop_pid() {  # TERM, wait up to 5 s, then KILL
    local pid=$1
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$NODE_PID"
    # Playwright closes its browser when node exits; if node died too hard,
    # the browser's PIDs it recorded are killed here (each is the leader of
    # its own process group).
    if [[ -f $TMP/browser.pids ]]; then
        while read -r pid; do
            if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
                kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            fi
        done <"$TMP/browser.pids"
    fi
    stop_pid "$DEMO_PID"
    if [[ $rc -ne 0 && -f $TMP/demo.log ]]; then
        echo "---- demo log (tail) ----"
        tail -n 20 "$TMP/demo.log"
    fi
    rm -rf "$TMP"
    echo "run.sh took $((SECONDS - started))s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- the demo, on a free port
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
KEY=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))')
CHECK_INTERVAL=2
mkdir -p "$TMP/profiles"
SESSION_KEYS=$KEY PORT=$PORT BIND=127.0.0.1 INSTANCE=browser-test RUST_LOG=info,client_session=debug \
    DATABASE_PATH="$TMP/users.sqlite3" SESSION_CHECK_INTERVAL=$CHECK_INTERVAL \
    "$LOGIN_BIN" >"$TMP/demo.log" 2>&1 &
DEMO_PID=$!
up=
for _ in $(seq 1 100); do
    alive "$DEMO_PID" || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then up=1; break; fi
    sleep 0.1
done
if [[ -z $up ]]; then
    echo "FAIL: the demo did not start on 127.0.0.1:$PORT"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "demo: $LOGIN_BIN on 127.0.0.1:$PORT (pid $DEMO_PID)"
echo "chromium: $("$CHROMIUM" --version 2>/dev/null | tail -n 1)"

# -- the browser test, bounded in time (eight browser launches, three waits
# for the check interval)
BASE_URL="http://localhost:$PORT" USER_DATA_DIR="$TMP/profile" PROFILES_DIR="$TMP/profiles" \
    SESSION_CHECK_INTERVAL=$CHECK_INTERVAL PID_FILE="$TMP/browser.pids" \
    SCREENSHOT=$SCREENSHOT CHROMIUM=$CHROMIUM \
    timeout --kill-after=10 240 node "$HERE/e2e.mjs" &
NODE_PID=$!
set +e
wait "$NODE_PID"
rc=$?
set -e
NODE_PID=
exit "$rc"
