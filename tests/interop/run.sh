#!/usr/bin/env bash
# The Rust login demo and the Express one (interop/node/examples/login.js)
# behind ONE nginx, with one key ring and one SQLite user database: a
# session made by either is used, changed and ended by the other, CSRF
# tokens and flash messages cross over, "log out everywhere" on one revokes
# sessions made by the other, and a key rotation [K1] -> [K2, K1] -> [K2]
# (a key file both follow) re-seals cookies on both. See
# tests/interop/interop.py for the checks.
#
#   bash tests/interop/run.sh        from the repository root (or anywhere)
#
# Environment:
#   LOGIN_BIN    the Rust demo binary (default: target/debug/examples/login,
#                built with cargo when missing; see tests/login-bin.sh)
#   NGINX_BIN    nginx (default: from PATH; apt-get install nginx-light when
#                missing and running as root)
#   NODE_BIN     node, version 20 or later (default: from PATH)
#   KEEP_TMP=1   keep the temp directory (logs, nginx.conf, users.sqlite3)
#
# Installs the Node packages itself (interop/node/install.sh: npm ci from
# the registry). Everything listens on 127.0.0.1, on free ports; every
# process started is stopped by PID. Prints PASS/FAIL per check and
# "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
started=$SECONDS

# -- the Rust demo
# shellcheck source=../login-bin.sh
source "$ROOT/tests/login-bin.sh"

# -- node and the Node packages
NODE_BIN=${NODE_BIN:-$(command -v node || true)}
[[ -n $NODE_BIN && -x $NODE_BIN ]] || { echo "error: node is not installed (Node.js 20 or later)" >&2; exit 2; }
node_major=$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')
if (( node_major < 20 )); then
    echo "error: node $("$NODE_BIN" --version) is too old (20 or later)" >&2
    exit 2
fi
echo "installing the Node packages (interop/node)"
PATH="$(dirname "$NODE_BIN"):$PATH" sh "$ROOT/interop/node/install.sh"

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
    NGINX_BIN=$(find_nginx)
fi
[[ -n $NGINX_BIN ]] || { echo "error: nginx not found after installing" >&2; exit 2; }

# -- sqlite3: the Express demo writes "log out everywhere" through it (sql.js
# takes no file locks); checks 6.6-6.7 need it.
if ! command -v sqlite3 >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "error: sqlite3 is not installed (apt-get install sqlite3)" >&2
        exit 2
    fi
    echo "installing sqlite3"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq sqlite3 >/dev/null
fi

# -- temp dir and clean-up by PID
TMP=$(mktemp -d "${TMPDIR:-/tmp}/client-session-interop.XXXXXX")
DRIVER_PID=
mkdir -p "$TMP/pids"

kill_pidfile() {
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
    if [[ -n ${DRIVER_PID:-} ]] && kill -0 "$DRIVER_PID" 2>/dev/null; then
        kill -TERM "$DRIVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$DRIVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DRIVER_PID" 2>/dev/null || true
    fi
    for f in "$TMP"/pids/*.pid; do
        [[ -e $f ]] && kill_pidfile "$f"
    done
    if [[ ${KEEP_TMP:-} == 1 ]]; then
        echo "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    echo "run.sh took $((SECONDS - started))s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "login: $LOGIN_BIN"
echo "node:  $NODE_BIN ($("$NODE_BIN" --version))"
echo "nginx: $NGINX_BIN ($("$NGINX_BIN" -v 2>&1))"

export PYTHONDONTWRITEBYTECODE=1
INTEROP_TMP=$TMP LOGIN_BIN=$LOGIN_BIN NGINX_BIN=$NGINX_BIN NODE_BIN=$NODE_BIN \
    timeout --kill-after=10 240 python3 "$ROOT/tests/interop/interop.py" &
DRIVER_PID=$!
set +e
wait "$DRIVER_PID"
rc=$?
set -e
DRIVER_PID=
exit "$rc"
