#!/usr/bin/env bash
# Three instances of the login demo behind nginx (round robin, default request
# header buffers): session sharing, fail-over, a session near the size cap,
# a rolling key rotation, caching proxies in front (proxy_cache: micro-
# cache, CDN-like, and a deliberately unprotected control; test-only server
# blocks), "log out everywhere" across instances, and logging everyone out
# with SESSION_NOT_BEFORE on a rolling restart. The instances share one user
# database in the temp directory (DATABASE_PATH; never the demo's default
# file, which every run on the machine would share) and check sessions
# against it every 2 s (SESSION_CHECK_INTERVAL). Phase 8 starts a second,
# independent cluster (own instances, ports, database and nginx) whose
# instances follow one key file (SESSION_KEYS_FILE) and serve metrics
# (METRICS_PORT): key rotation by rewriting the file, no restarts. Phase 9
# starts a third one: CSRF across instances (a token rendered by one
# instance is accepted by another, since it belongs to the session; no
# token, another session's token, or a token replayed after logging out
# is refused). See DEPLOYING.md.
#
# The demo requires this session's CSRF token on every form post (POST
# /login, /logout, /logout-everywhere, /cart; else 403), so the client posts
# forms as a browser does: it first GETs the page with the form (GET /login,
# or GET / when logged in) through the same way in, with the same cookies,
# and sends the page's hidden csrf input along (harness.Client.post_form).
# An anonymous visitor's login form therefore sets a session cookie and is
# Cache-Control: private: phase 5 checks that a cache never shares it between
# visitors (and shows that the cache is on with a 404 it may store).
#
#   tests/deploy/nginx.sh            from the repository root (or anywhere)
#
# Environment:
#   LOGIN_BIN    the demo binary (default: $CARGO_TARGET_DIR or target, then
#                debug/examples/login; built with `cargo build --example login`
#                when missing)
#   NGINX_BIN    nginx (default: from PATH; installed with apt-get when missing
#                and running as root)
#   DEPLOY_SEED  seed of the random cart items (printed on each run)
#   DEPLOY_PHASES  all (default), or phases and ranges separated by commas:
#                1-7 (one block: one cluster, each phase building on the one
#                before), 8 (~20 s), 9 (~3 s); e.g. 8, 9, 8,9, 1-7,9, 1-9
#   KEEP_TMP=1   keep the temp directory (logs, nginx.conf, users.sqlite3) for inspection
#
# Everything listens on 127.0.0.1 on free ports; every process started is
# killed by PID on exit, also on failure. Prints PASS/FAIL per check and ends
# with "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
started=$SECONDS

# -- the demo binary
# shellcheck source=../login-bin.sh
source "$ROOT/tests/login-bin.sh"

# -- nginx
find_nginx() {
    if [[ -n ${NGINX_BIN:-} ]]; then echo "$NGINX_BIN"; return; fi
    command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}
NGINX_BIN=$(find_nginx)
if [[ -z $NGINX_BIN ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: nginx is not installed (apt-get install nginx-light)" >&2
        exit 2
    fi
    echo "installing nginx"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nginx-light >/dev/null || apt-get install -y -qq nginx >/dev/null
    # Debian's package may start a system nginx (port 80) where an init
    # system runs; this test never uses it and leaves it alone.
    NGINX_BIN=$(find_nginx)
fi
[[ -n $NGINX_BIN ]] || { echo "error: nginx not found after installing" >&2; exit 2; }

# -- temp dir and clean-up by PID
TMP=$(mktemp -d "${TMPDIR:-/tmp}/client-session-nginx.XXXXXX")
DRIVER_PID=
mkdir -p "$TMP/pids"

kill_pidfile() {  # kill the process named in a PID file (and, for nginx, its workers)
    local file=$1 pid children
    pid=$(cat "$file" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    children=$(pgrep -P "$pid" 2>/dev/null || true)
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    for child in $children; do
        kill -KILL "$child" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # The driver (timeout + python) stops its own children on TERM.
    if [[ -n ${DRIVER_PID:-} ]] && kill -0 "$DRIVER_PID" 2>/dev/null; then
        kill -TERM "$DRIVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$DRIVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DRIVER_PID" 2>/dev/null || true
    fi
    # Normally the Python driver has stopped everything and removed its PID
    # files; whatever is still listed here was left behind by a crash.
    for f in "$TMP"/pids/*.pid; do
        [[ -e $f ]] && kill_pidfile "$f"
    done
    if [[ ${KEEP_TMP:-} == 1 ]]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    echo "nginx.sh took $((SECONDS - started))s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "login: $LOGIN_BIN"
echo "nginx: $NGINX_BIN ($("$NGINX_BIN" -v 2>&1))"

export PYTHONDONTWRITEBYTECODE=1

# The whole scenario is bounded: the driver is stopped after 170 s. It runs
# in the background so that a signal to this script reaches the trap at once.
DEPLOY_TMP=$TMP LOGIN_BIN=$LOGIN_BIN NGINX_BIN=$NGINX_BIN \
    timeout --kill-after=10 170 python3 "$ROOT/tests/deploy/nginx_e2e.py" &
DRIVER_PID=$!
set +e
wait "$DRIVER_PID"
rc=$?
set -e
DRIVER_PID=
exit "$rc"
