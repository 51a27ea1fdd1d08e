#!/usr/bin/env bash
# HTTP load test of client-session's SessionLayer against bare hyper / axum and
# against tower-sessions (MemoryStore) and axum-extra's PrivateCookieJar.
#
# The workload of real traffic: every session stack first mints
# BENCH_SESSIONS (10,000) distinct sessions through its own GET /login, and
# every request carries the next of them, round-robin (a wrk Lua script), so
# no cache — of the CPU or of any layer — sees the same cookie twice in a row.
# The deterministic companion is scripts/instructions.sh (callgrind).
#
#   scripts/bench-http.sh [SECONDS]     # SECONDS per row and round, default 10;
#                                       # 3 interleaved rounds, median reported
#   BENCH_QUICK=1 scripts/bench-http.sh # smoke test: 2 s per row, 1 round, short warm-up
#
# Environment (all optional):
#   BENCH_QUICK=1            2 s per row (unless SECONDS is given), 1 s warm-up, 1 round
#   BENCH_SESSIONS=10000     distinct sessions per session stack
#   BENCH_ONE_COOKIE=1       also run the secondary rows: one cookie sent over and
#                            over (the best case of every cache)
#   BENCH_CONNECTIONS=32     wrk connections (-c); wrk always runs one thread (-t1)
#   BENCH_WARMUP=2           warm-up seconds per row (not measured)
#   BENCH_ROUNDS=3           run every row this many times (rows interleaved, so
#                            a burst of load elsewhere hits one round of every row
#                            rather than all rounds of one). req/s and latencies:
#                            the run with the median req/s of each row; ratios and
#                            costs: computed within each round, median over rounds
#                            (default 1 with BENCH_QUICK)
#   BENCH_SERVER_CPU=0       CPU the servers are pinned to (taskset -c)
#   BENCH_CLIENT_CPU=1       CPU wrk is pinned to
#   BENCH_PORT_BASE=18081    first of 6 consecutive ports on 127.0.0.1
#   BENCH_NICE=-20           priority of servers and wrk when run as root (0: leave
#                            as is), so that other work on a shared machine
#                            (compilers, tests) yields the two CPUs while a row runs.
#                            Each server and wrk run in a session of their own
#                            (setsid) whose autogroup gets this nice value: with
#                            sched_autogroup_enabled=1 a plain `nice` only ranks
#                            processes inside one session.
#   BENCH_ENFORCE_TARGETS=1  also exit non-zero when a performance target is missed
#   BENCH_MARKDOWN=FILE      also write the result tables (markdown) to FILE
#
# Exit status: 0 when every row ran with only 2xx responses and no socket
# errors (and, with BENCH_ENFORCE_TARGETS=1, every target was met); 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG="$ROOT/benches/http"
BIN="$PKG/target/release/bench-http-server"
MINT="$PKG/target/release/bench-http-mint"

if [[ -n "${1:-}" ]]; then
    DURATION=$1
elif [[ "${BENCH_QUICK:-0}" == 1 ]]; then
    DURATION=2
else
    DURATION=10
fi
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
    WARMUP=${BENCH_WARMUP:-1}
    ROUNDS=${BENCH_ROUNDS:-1}
else
    WARMUP=${BENCH_WARMUP:-2}
    ROUNDS=${BENCH_ROUNDS:-3}
fi
CONNS=${BENCH_CONNECTIONS:-32}
SESSIONS=${BENCH_SESSIONS:-10000}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
PORT_BASE=${BENCH_PORT_BASE:-18081}
NICE=${BENCH_NICE:--20}
[[ "$NICE" =~ ^-?[0-9]+$ ]] || { echo "error: BENCH_NICE must be an integer" >&2; exit 2; }
if [[ $(id -u) != 0 && "$NICE" -lt 0 ]]; then NICE=0; fi
# "${PRIO[@]}" CMD...: runs CMD at nice $NICE in a session of its own whose
# autogroup also gets nice $NICE. Every step execs (setsid does not fork: the
# caller is not a process-group leader), so $! of a background
# "${PRIO[@]}" CMD & is CMD's own PID.
PRIO=()
if [[ "$NICE" != 0 ]]; then
    PRIO=(setsid sh -c 'echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" "$@"' "$NICE")
fi
for n in DURATION WARMUP CONNS ROUNDS PORT_BASE SESSIONS; do
    [[ "${!n}" =~ ^[0-9]+$ && "${!n}" -ge 1 ]] || { echo "error: $n must be a positive integer (got '${!n}')" >&2; exit 2; }
done

log() { echo "bench-http: $*" >&2; }

die() { echo "bench-http: error: $*" >&2; exit 1; }

# ------------------------------------------------------------------ tools ----
if ! command -v wrk >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing wrk with apt-get"
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    fi
    command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
fi
for tool in curl taskset cargo awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
NPROC=$(nproc)
if (( NPROC < 2 )); then
    die "needs 2 CPUs (server on one, wrk on the other); this machine has $NPROC"
fi

# ------------------------------------------------------------------ build ----
log "building the servers (release, target dir benches/http/target)"
cargo build --release --quiet --manifest-path "$PKG/Cargo.toml" || die "build failed"
[[ -x "$BIN" ]] || die "missing $BIN after build"

# ---------------------------------------------------------------- servers ----
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
PIDS=()
WRK_PID=
cleanup() {
    local pid
    if [[ -n "$WRK_PID" ]]; then kill "$WRK_PID" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

MODES=(hyper-hello hyper-ours axum-hello axum-ours axum-tower-sessions axum-private-jar)
declare -A PORT PID
i=0
for mode in "${MODES[@]}"; do
    PORT[$mode]=$((PORT_BASE + i))
    i=$((i + 1))
    "${PRIO[@]}" taskset -c "$SERVER_CPU" "$BIN" "$mode" "127.0.0.1:${PORT[$mode]}" 2>"$TMP/$mode.log" &
    PID[$mode]=$!
    PIDS+=("${PID[$mode]}")
done
# Ready = the process said it is listening (so a stale server on the port
# cannot answer in its place) and answers /hello.
for mode in "${MODES[@]}"; do
    for _ in $(seq 1 100); do
        kill -0 "${PID[$mode]}" 2>/dev/null || die "$mode exited: $(cat "$TMP/$mode.log")"
        tr '\0' ' ' <"/proc/${PID[$mode]}/cmdline" | grep -q "bench-http-server $mode " ||
            { sleep 0.1; continue; }
        if grep -q "listening on" "$TMP/$mode.log" &&
            curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$mode]}/hello" 2>/dev/null; then
            continue 2
        fi
        sleep 0.1
    done
    die "$mode did not start on port ${PORT[$mode]}: $(cat "$TMP/$mode.log")"
done

# ------------------------------------------------- cookies and assertions ----
# request MODE PATH [COOKIE] -> sets STATUS, BODY, SET_COOKIE (name=value pairs
# joined by "; "), SET_COOKIE_LINES_BYTES (bytes of the Set-Cookie header lines).
request() {
    local mode=$1 path=$2 cookie=${3:-}
    local args=(-sS -D "$TMP/h" -o "$TMP/b" -w '%{http_code}')
    [[ -n "$cookie" ]] && args+=(-H "Cookie: $cookie")
    STATUS=$(curl "${args[@]}" "http://127.0.0.1:${PORT[$mode]}$path") || die "curl $mode $path failed"
    BODY=$(cat "$TMP/b")
    SET_COOKIE=$(tr -d '\r' <"$TMP/h" | awk 'tolower($0) ~ /^set-cookie:/ { sub(/^[^:]*: */, ""); sub(/;.*/, ""); print }' | paste -sd';' - | sed 's/;/; /g')
    SET_COOKIE_LINES_BYTES=$(awk 'tolower($0) ~ /^set-cookie:/ { n += length($0) + 1 } END { print n + 0 }' "$TMP/h")
}

SESSION_MODES=(hyper-ours axum-ours axum-tower-sessions axum-private-jar)
declare -A COOKIE COOKIE_BYTES SETCOOKIE_BYTES
for mode in hyper-hello axum-hello; do
    request "$mode" /hello
    [[ "$STATUS" == 200 && "$BODY" == hello ]] || die "$mode /hello: status $STATUS body '$BODY'"
done
for mode in "${SESSION_MODES[@]}"; do
    request "$mode" /login
    [[ "$STATUS" == 200 && -n "$SET_COOKIE" ]] || die "$mode /login: status $STATUS, no session cookie"
    cookie=$SET_COOKIE
    COOKIE[$mode]=$cookie
    # The whole request header line: "Cookie: " + value + CRLF.
    COOKIE_BYTES[$mode]=$(( ${#cookie} + 10 ))

    # The read-only handler must see the session, and must not write it back.
    request "$mode" /read "$cookie"
    [[ "$STATUS" == 200 && "$BODY" == user1 ]] || die "$mode /read: status $STATUS body '$BODY' (expected 200 user1)"
    [[ -z "$SET_COOKIE" ]] || die "$mode /read answered with Set-Cookie ($SET_COOKIE); the read-only row would not be read-only"
    request "$mode" /read
    [[ "$STATUS" == 401 ]] || die "$mode /read without cookie: status $STATUS (expected 401)"

    # The modifying handler answers Set-Cookie, and the change sticks.
    request "$mode" /write "$cookie"
    [[ "$STATUS" == 200 && "$BODY" == 1 ]] || die "$mode /write: status $STATUS body '$BODY' (expected 200 1)"
    [[ -n "$SET_COOKIE" ]] || die "$mode /write answered without Set-Cookie"
    SETCOOKIE_BYTES[$mode]=$SET_COOKIE_LINES_BYTES
    request "$mode" /write "$SET_COOKIE"
    [[ "$STATUS" == 200 && "$BODY" == 2 ]] || die "$mode /write with the updated cookie: body '$BODY' (expected 2)"
done
log "assertions passed: /read returns the session's user without Set-Cookie, /write updates it"

# ------------------------------------------------------------- sessions ----
# SESSIONS distinct sessions per stack, minted through its own /login.
for mode in "${SESSION_MODES[@]}"; do
    "$MINT" "127.0.0.1:${PORT[$mode]}" "$SESSIONS" "$TMP/$mode.cookies" || die "$mode: minting sessions failed"
    minted=$(sort -u "$TMP/$mode.cookies" | wc -l)
    (( minted == SESSIONS )) || die "$mode: $minted distinct sessions minted, wanted $SESSIONS"
    # A minted session reads like the first one.
    request "$mode" /read "$(sed -n "${SESSIONS}p" "$TMP/$mode.cookies")"
    [[ "$STATUS" == 200 && "$BODY" == user1 ]] || die "$mode /read with the last minted session: status $STATUS"
done
log "minted $SESSIONS distinct sessions per session stack"

# -------------------------------------------------------------------- wrk ----
cat >"$TMP/report.lua" <<'EOF'
-- With a file argument (wrk ... -- FILE): every request carries the next
-- line of FILE as its Cookie header, round-robin.
local cookies, n, i = {}, 0, 0
init = function(args)
  if args[1] then
    for line in io.lines(args[1]) do
      n = n + 1
      cookies[n] = line
    end
  end
end
request = function()
  if n == 0 then return wrk.format() end
  i = i % n + 1
  return wrk.format(nil, nil, { ["Cookie"] = cookies[i] })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT %d %d %.1f %.1f %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

# id | label | server mode | path | cookies: "many" (the minted sessions,
# round-robin), "one" (the first session only), "" (none)
ROWS=(
    "hyper-bare|hyper: bare hello (service_fn)|hyper-hello|/hello|"
    "hyper-ours-read|hyper: SessionLayer, read one value|hyper-ours|/read|many"
    "hyper-ours-modify|hyper: SessionLayer, modify (Set-Cookie)|hyper-ours|/write|many"
    "axum-hello|axum: hello, no session|axum-hello|/hello|"
    "axum-ours-read|axum: SessionLayer, read|axum-ours|/read|many"
    "axum-ours-modify|axum: SessionLayer, modify|axum-ours|/write|many"
    "axum-ts-read|axum: tower-sessions MemoryStore, read|axum-tower-sessions|/read|many"
    "axum-ts-modify|axum: tower-sessions MemoryStore, modify|axum-tower-sessions|/write|many"
    "axum-jar-read|axum: PrivateCookieJar, read|axum-private-jar|/read|many"
    "axum-jar-modify|axum: PrivateCookieJar, modify|axum-private-jar|/write|many"
)
if [[ "${BENCH_ONE_COOKIE:-0}" == 1 ]]; then
    ROWS+=(
        "hyper-ours-read-1|hyper: SessionLayer, read, one cookie|hyper-ours|/read|one"
        "axum-ours-read-1|axum: SessionLayer, read, one cookie|axum-ours|/read|one"
        "axum-ours-modify-1|axum: SessionLayer, modify, one cookie|axum-ours|/write|one"
        "axum-ts-read-1|axum: tower-sessions, read, one cookie|axum-tower-sessions|/read|one"
        "axum-jar-read-1|axum: PrivateCookieJar, read, one cookie|axum-private-jar|/read|one"
    )
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

FAILURES=()
# run_wrk MODE PATH COOKIES SECONDS OUT
run_wrk() {
    local mode=$1 path=$2 cookies=$3 secs=$4 out=$5
    local args=(-t1 "-c$CONNS" "-d${secs}s" --latency --timeout 5s -s "$TMP/report.lua")
    local script_args=()
    case $cookies in
        many) script_args=(-- "$TMP/$mode.cookies") ;;
        one) args+=(-H "Cookie: ${COOKIE[$mode]}") ;;
    esac
    "${PRIO[@]}" taskset -c "$CLIENT_CPU" wrk "${args[@]}" "http://127.0.0.1:${PORT[$mode]}$path" "${script_args[@]}" >"$out" 2>&1 &
    WRK_PID=$!
    local rc=0
    wait "$WRK_PID" || rc=$?
    WRK_PID=
    return $rc
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" 'BEGIN { exit !(l > 0.7) }'; then
    log "warning: load average is $LOAD_START: other processes compete for the CPUs, results will be noisy"
fi
TOTAL=$(( ${#ROWS[@]} * ROUNDS * (DURATION + WARMUP) ))
log "${#ROWS[@]} rows x $ROUNDS round(s) x (${WARMUP}s warm-up + ${DURATION}s): about ${TOTAL}s"

: >"$TMP/results"
for round in $(seq 1 "$ROUNDS"); do
    for row in "${ROWS[@]}"; do
        IFS='|' read -r id label mode path cookies <<<"$row"
        run_wrk "$mode" "$path" "$cookies" "$WARMUP" "$TMP/warmup.out" || true
        before=$(cpu_ticks "${PID[$mode]}")
        run_wrk "$mode" "$path" "$cookies" "$DURATION" "$TMP/$id.$round.out" || {
            FAILURES+=("$id: wrk failed: $(tail -3 "$TMP/$id.$round.out")")
            continue
        }
        after=$(cpu_ticks "${PID[$mode]}")
        out="$TMP/$id.$round.out"
        read -r _ reqs dur_us p50 p99 e_conn e_read e_write e_status e_timeout < <(grep '^RESULT ' "$out") ||
            { FAILURES+=("$id: no result from wrk: $(tail -3 "$out")"); continue; }
        non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ { print $2 }' "$out")
        sockerr=$(grep -m1 'Socket errors' "$out" || true)
        if [[ -n "$non2xx" && "$non2xx" != 0 ]] || (( e_status > 0 )); then
            FAILURES+=("$id: non-2xx responses (${non2xx:-$e_status})")
        fi
        if [[ -n "$sockerr" ]] || (( e_conn + e_read + e_write + e_timeout > 0 )); then
            FAILURES+=("$id: socket errors (${sockerr:-connect $e_conn, read $e_read, write $e_write, timeout $e_timeout})")
        fi
        rps=$(awk -v r="$reqs" -v d="$dur_us" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
        cpu=$(awk -v a="$before" -v b="$after" -v t="$CLK_TCK" -v d="$dur_us" 'BEGIN { printf "%.0f", 100 * (b - a) / t / (d / 1e6) }')
        cpu_us=$(awk -v a="$before" -v b="$after" -v t="$CLK_TCK" -v r="$reqs" 'BEGIN { printf "%.2f", (b - a) / t / r * 1e6 }')
        echo "$id $round $rps $p50 $p99 $cpu $cpu_us" >>"$TMP/results"
        log "round $round $(printf '%-18s' "$id") $(printf '%8s' "$rps") req/s  p50 ${p50} us  p99 ${p99} us  server CPU ${cpu}% = ${cpu_us} us/req"
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ table ----
# Median run (by req/s) of every row.
declare -A RPS P50 P99 CPU RANGE CPUUS
for row in "${ROWS[@]}"; do
    IFS='|' read -r id _ <<<"$row"
    line=$(awk -v id="$id" '$1 == id' "$TMP/results" | sort -k3,3n | awk '{ a[NR] = $0 } END { if (NR) print a[int((NR + 1) / 2)] }')
    [[ -n "$line" ]] || continue
    read -r _ _ RPS[$id] P50[$id] P99[$id] CPU[$id] _ <<<"$line"
    # Server CPU time per request: median over rounds (less sensitive than
    # req/s to other processes taking turns on the CPUs).
    CPUUS[$id]=$(awk -v id="$id" '$1 == id { print $7 }' "$TMP/results" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
    RANGE[$id]=$(awk -v id="$id" '$1 == id { if (n++ == 0 || $3 < lo) lo = $3; if ($3 > hi) hi = $3 } END { printf "%d–%d", lo, hi }' "$TMP/results")
done

# times X: "X×" for a number, X itself otherwise ("", "n/a").
times() { if [[ "$1" =~ ^-?[0-9] ]]; then echo "$1×"; else echo "$1"; fi; }
fmt_us() { awk -v v="$1" 'BEGIN { if (v >= 1000) printf "%.2f ms", v / 1000; else printf "%.0f µs", v }'; }
# stat KIND A [B]: a statistic computed within each round (rows of one round
# ran minutes apart at most, so they saw the same machine), then the median
# over rounds; "n/a" when undefined.
#   ratio  A B: req/s of A ÷ req/s of B
#   cost   A:   session cost of A, µs per request: 1/rps(A) − 1/rps(axum hello)
#   cratio A B: cost(A) ÷ cost(B) (rounds where cost(B) <= 0 are left out)
stat() {
    awk -v kind="$1" -v a="$2" -v b="${3:-}" -v h=axum-hello '
        { rps[$1 SUBSEP $2] = $3; rounds[$2] = 1 }
        function has(id, r) { return (id SUBSEP r) in rps }
        function cost(id, r) { return (1 / rps[id SUBSEP r] - 1 / rps[h SUBSEP r]) * 1e6 }
        END {
            n = 0
            for (r in rounds) {
                if (kind == "ratio") {
                    if (!has(a, r) || !has(b, r)) continue
                    x = rps[a SUBSEP r] / rps[b SUBSEP r]
                } else if (kind == "cost") {
                    if (!has(a, r) || !has(h, r)) continue
                    x = cost(a, r)
                } else {
                    if (!has(a, r) || !has(b, r) || !has(h, r) || cost(b, r) <= 0) continue
                    x = cost(a, r) / cost(b, r)
                }
                v[++n] = x
            }
            if (n == 0) { print "n/a"; exit }
            for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
            m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "%.2f\n", m
        }' "$TMP/results"
}

MD="$TMP/table.md"
{
    echo "| Row | req/s | req/s, all rounds | p50 | p99 | server CPU | server CPU µs/req | vs bare hyper | session cost (µs/req vs axum hello) | ours ÷ tower-sessions | ours ÷ PrivateCookieJar |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r id label _ <<<"$row"
        if [[ -z "${RPS[$id]:-}" ]]; then
            echo "| $label | failed | | | | | | | | | |"
            continue
        fi
        vs_bare=$(stat ratio "$id" hyper-bare)
        [[ "$id" == hyper-bare ]] && vs_bare="1.00"
        c=""; c_ts=""; c_jar=""
        case $id in
            axum-*-read | axum-*-modify | axum-*-read-1 | axum-*-modify-1) c=$(stat cost "$id") ;;
        esac
        case $id in
            axum-ours-read) c_ts=$(stat cratio "$id" axum-ts-read); c_jar=$(stat cratio "$id" axum-jar-read) ;;
            axum-ours-modify) c_ts=$(stat cratio "$id" axum-ts-modify); c_jar=$(stat cratio "$id" axum-jar-modify) ;;
        esac
        printf '| %s | %s | %s | %s | %s | %s%% | %s | %s | %s | %s | %s |\n' "$label" "${RPS[$id]}" "${RANGE[$id]}" \
            "$(fmt_us "${P50[$id]}")" "$(fmt_us "${P99[$id]}")" "${CPU[$id]}" "${CPUUS[$id]}" "$(times "$vs_bare")" \
            "$c" "$(times "$c_ts")" "$(times "$c_jar")"
    done
    echo
    echo "| Session kind | Cookie request header (bytes, whole line) | Set-Cookie on modify (bytes, whole line) |"
    echo "|---|---:|---:|"
    for mode in "${SESSION_MODES[@]}"; do
        case $mode in
            hyper-ours) kind="client-session (hyper)" ;;
            axum-ours) kind="client-session (axum)" ;;
            axum-tower-sessions) kind="tower-sessions (id only; data in the store)" ;;
            axum-private-jar) kind="PrivateCookieJar (JSON)" ;;
        esac
        echo "| $kind | ${COOKIE_BYTES[$mode]} | ${SETCOOKIE_BYTES[$mode]} |"
    done
} >"$MD"

MISSED=0
# target NAME VALUE OP LIMIT [info]: a row of the targets table; "info" rows
# (the cache-off configuration, for reference) do not count as missed.
target() {
    local name=$1 value=$2 op=$3 limit=$4 info=${5:-} verdict
    if [[ "$value" == n/a ]]; then
        verdict="n/a (undefined: peer cost not positive)"
    elif awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }'; then
        verdict="met"
    elif [[ -n "$info" ]]; then
        verdict="not met (for reference)"
    else
        verdict="MISSED"
        MISSED=$((MISSED + 1))
    fi
    printf '| %s | %s | %s %s | %s |\n' "$name" "$value" "$op" "$limit" "$verdict"
}
{
    echo
    echo "| Target | Measured | Goal | Verdict |"
    echo "|---|---:|---:|---|"
    target "hyper: read-only req/s ÷ bare hyper" "$(stat ratio hyper-ours-read hyper-bare)" ">=" 0.85
    target "hyper: modify req/s ÷ bare hyper" "$(stat ratio hyper-ours-modify hyper-bare)" ">=" 0.75
    target "axum read: our cost ÷ tower-sessions cost" "$(stat cratio axum-ours-read axum-ts-read)" "<=" 0.5
    target "axum read: our cost ÷ PrivateCookieJar cost" "$(stat cratio axum-ours-read axum-jar-read)" "<=" 0.5
    target "axum modify: our cost ÷ tower-sessions cost" "$(stat cratio axum-ours-modify axum-ts-modify)" "<=" 0.5
    target "axum modify: our cost ÷ PrivateCookieJar cost" "$(stat cratio axum-ours-modify axum-jar-modify)" "<=" 0.5
} >>"$MD"

CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
AESNI=$(grep -qw aes /proc/cpuinfo && echo yes || echo no)
echo
echo "client-session HTTP benchmark: $SESSIONS distinct sessions per stack, sent round-robin; wrk -t1 -c$CONNS, ${DURATION}s per row (+${WARMUP}s warm-up), $ROUNDS round(s)$( ((ROUNDS > 1)) && echo ', median req/s run')"
echo "server: tokio current_thread, pinned to CPU $SERVER_CPU; wrk pinned to CPU $CLIENT_CPU; both at nice $NICE"
echo "req/s, p50, p99, server CPU: the median round (by req/s) of each row; ratios and costs: computed within each round, median over rounds"
echo "machine: $NPROC CPUs, $CPU_MODEL, AES-NI: $AESNI; load average before: $LOAD_START, after: $LOAD_END"
echo
cat "$MD"
if [[ -n "${BENCH_MARKDOWN:-}" ]]; then
    cp "$MD" "$BENCH_MARKDOWN"
fi

STATUS_CODE=0
if ((${#FAILURES[@]})); then
    echo
    echo "FAILED rows:"
    printf '  %s\n' "${FAILURES[@]}"
    STATUS_CODE=1
fi
if [[ "${BENCH_ENFORCE_TARGETS:-0}" == 1 ]] && ((MISSED > 0)); then
    echo
    echo "$MISSED target(s) missed (BENCH_ENFORCE_TARGETS=1)"
    STATUS_CODE=1
fi
exit $STATUS_CODE
