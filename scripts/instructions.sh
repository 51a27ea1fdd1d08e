#!/usr/bin/env bash
# Instructions per request, counted by callgrind: deterministic, so a 10%
# change shows on a machine whose wall-clock moves 25% between runs.
#
#   scripts/instructions.sh                 # every row, tables in markdown
#   scripts/instructions.sh --check         # the rows in benches/instructions-bounds.txt,
#                                           # exit 1 when one exceeds its bound (.ci/run)
#   scripts/instructions.sh --record        # rewrite the bounds: measured + 30%
#
# Each row is `bench-instructions ROW` (benches/http/src/bin): it mints
# SESSIONS (10,000) distinct sessions through the stack's own GET /login,
# then serves 10,000 requests carrying them round-robin, in process (no
# TCP, no HTTP/1 parser: the same for every stack), inside the one function
# callgrind counts (--toggle-collect). Session cost = a row's instructions
# minus its framework's hello row (no session).
#
# What callgrind counts is not what a CPU does in time: valgrind hides
# SHA-NI (and AVX-512) from the program, so SHA-256 runs in software under
# it, and the ~7,000 instructions of each HKDF-Expand weigh like a CPU
# without SHA-NI; syscalls (the nonce from the OS) count nothing. The
# wall-clock rows of scripts/bench-http.sh are the other half.
#
# Next to the counts, the table mode runs every row natively in
# BENCH_NATIVE_ROUNDS (5) interleaved rounds and reports the median
# wall-clock ns per request with the range: informative, the counts decide.
#
# Environment: BENCH_INSTRUCTIONS_MARKDOWN=FILE also writes the tables to FILE.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG="$ROOT/benches/http"
BIN="$PKG/target/release/bench-instructions"
BOUNDS="$ROOT/benches/instructions-bounds.txt"
MARGIN=1.30
MODE=${1:-table}
case $MODE in
    table | --check | --record) ;;
    *) echo "usage: $0 [--check | --record]" >&2; exit 2 ;;
esac

log() { echo "instructions: $*" >&2; }
die() { echo "instructions: error: $*" >&2; exit 1; }

if ! command -v valgrind >/dev/null; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "installing valgrind with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
    fi
    command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"
fi

log "building benches/http (release)"
cargo build --release --quiet --manifest-path "$PKG/Cargo.toml" || die "build failed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/instructions.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

declare -A IR ALLOCS BYTES VALUE
# count ROW: runs ROW under callgrind; sets IR, ALLOCS, BYTES (per request).
count() {
    local row=$1 out line requests total
    out="$TMP/$row.callgrind"
    line=$(valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*' \
        --callgrind-out-file="$out" "$BIN" "$row" 2>"$TMP/$row.err") ||
        die "$row failed: $(tail -5 "$TMP/$row.err")"
    requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
    total=$(awk '/^summary:/ { print $2 }' "$out")
    [[ -n "$total" && -n "$requests" ]] || die "$row: no count ($line)"
    IR[$row]=$((total / requests))
    ALLOCS[$row]=$(sed -E 's/.*allocations=([0-9.]+).*/\1/' <<<"$line")
    BYTES[$row]=$(sed -E 's/.*bytes=([0-9]+).*/\1/' <<<"$line")
    VALUE[$row]=$(sed -E 's/.*value=([0-9]+).*/\1/' <<<"$line")
    log "$(printf '%-24s %8d instructions/request  %6s allocations  %6s bytes' "$row" "${IR[$row]}" "${ALLOCS[$row]}" "${BYTES[$row]}")"
}

if [[ $MODE == --check ]]; then
    [[ -f "$BOUNDS" ]] || die "no bounds file $BOUNDS (run with --record)"
    failed=0
    while read -r row bound; do
        [[ -z "$row" || "$row" == \#* ]] && continue
        count "$row"
        if (( IR[$row] > bound )); then
            echo "REGRESSION: $row: ${IR[$row]} instructions per request, bound $bound" >&2
            failed=1
        else
            echo "ok: $row: ${IR[$row]} instructions per request (bound $bound)"
        fi
    done <"$BOUNDS"
    exit $failed
fi

HTTP_ROWS=(hyper-hello hyper-ours-read hyper-ours-modify
    axum-hello axum-ours-read axum-ours-modify axum-ts-read axum-ts-modify axum-jar-read axum-jar-modify)
CODEC_ROWS=(floor-open codec-open codec-seal codec-open-1k5 codec-seal-1k5
    codec-open-1k5-deflate codec-seal-1k5-deflate)
for row in "${HTTP_ROWS[@]}" "${CODEC_ROWS[@]}"; do
    count "$row"
done

# Wall-clock, natively: rows interleaved, NATIVE_ROUNDS rounds.
NATIVE_ROUNDS=${BENCH_NATIVE_ROUNDS:-5}
declare -A NS
for round in $(seq 1 "$NATIVE_ROUNDS"); do
    for row in "${HTTP_ROWS[@]}" "${CODEC_ROWS[@]}"; do
        ns=$("$BIN" "$row" | sed -E 's/.*ns=([0-9]+).*/\1/')
        NS[$row]="${NS[$row]:-} $ns"
    done
done
# median_range "a b c": "median (min–max)"
median_range() {
    tr ' ' '\n' <<<"$1" | awk 'NF' | sort -n |
        awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%d (%d–%d)", m, v[1], v[NR] }'
}
median() { median_range "$1" | cut -d' ' -f1; }

if [[ $MODE == --record ]]; then
    {
        echo "# Instructions per request (scripts/instructions.sh): a row above its bound"
        echo "# fails .ci/run. Bound = the count recorded on $(date -u +%Y-%m-%d) + 30%, so"
        echo "# a large regression fails and the differences between machines do not."
        echo "# Re-record with scripts/instructions.sh --record after a deliberate change."
        for row in hyper-ours-read hyper-ours-modify axum-ours-read axum-ours-modify floor-open codec-open codec-seal codec-open-1k5 codec-seal-1k5; do
            echo "$row $(awk -v v="${IR[$row]}" -v m="$MARGIN" 'BEGIN { printf "%d", v * m }')"
        done
    } >"$BOUNDS"
    log "wrote $BOUNDS"
fi

cost() { echo $(( IR[$1] - IR[$2] )); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
MD="$TMP/table.md"
{
    echo "| Row | instructions / request | session cost (over its hello) | allocations / request | bytes allocated / request | wall-clock ns / request, median (range) | session cost, ns (medians) |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for row in "${HTTP_ROWS[@]}"; do
        case $row in
            *hello) c=""; cns="" ;;
            hyper-*) c=$(cost "$row" hyper-hello); cns=$(( $(median "${NS[$row]}") - $(median "${NS[hyper-hello]}") )) ;;
            *) c=$(cost "$row" axum-hello); cns=$(( $(median "${NS[$row]}") - $(median "${NS[axum-hello]}") )) ;;
        esac
        echo "| $row | ${IR[$row]} | $c | ${ALLOCS[$row]} | ${BYTES[$row]} | $(median_range "${NS[$row]}") | $cns |"
    done
    echo
    echo "| Ratio (session cost, instructions) | read | modify |"
    echo "|---|---:|---:|"
    echo "| axum: ours ÷ tower-sessions | $(ratio "$(cost axum-ours-read axum-hello)" "$(cost axum-ts-read axum-hello)") | $(ratio "$(cost axum-ours-modify axum-hello)" "$(cost axum-ts-modify axum-hello)") |"
    echo "| axum: ours ÷ PrivateCookieJar | $(ratio "$(cost axum-ours-read axum-hello)" "$(cost axum-jar-read axum-hello)") | $(ratio "$(cost axum-ours-modify axum-hello)" "$(cost axum-jar-modify axum-hello)") |"
    echo "| axum: ours ÷ the floor (open alone) | $(ratio "$(cost axum-ours-read axum-hello)" "${IR[floor-open]}") | |"
    echo
    echo "| Codec row | instructions / operation | allocations | bytes allocated | wall-clock ns, median (range) | cookie value (bytes) |"
    echo "|---|---:|---:|---:|---:|---:|"
    for row in "${CODEC_ROWS[@]}"; do
        echo "| $row | ${IR[$row]} | ${ALLOCS[$row]} | ${BYTES[$row]} | $(median_range "${NS[$row]}") | ${VALUE[$row]} |"
    done
} >"$MD"

# Where a read's and a modify's session cost goes, by part (inclusive
# instructions of the layer's own functions, per request).
part() {
    local file=$1 pattern=$2
    callgrind_annotate --inclusive=yes "$file" 2>/dev/null |
        awk -v p="$pattern" -v n=10000 'index($0, p) { gsub(",", "", $1); if ($1 + 0 > best) best = $1 + 0 } END { printf "%d", best / n }'
}
{
    echo
    echo "| Part (axum, inclusive instructions per request) | read | modify |"
    echo "|---|---:|---:|"
    for spec in \
        "opening the cookie (SessionCodec::open_in)|client_session::format::SessionCodec::open_in" \
        "… of which the JSON body into SessionData|client_session::format::SessionCodec::body" \
        "HKDF-Expand, open and seal (software SHA-256 under valgrind)|hkdf::GenericHkdf<H>::expand_multi_info" \
        "sealing (SessionCodec::seal_in)|client_session::format::SessionCodec::seal_in" \
        "Set-Cookie and the sealed counter (future::apply)|client_session::future::apply" \
        "cache headers (cache_headers::protect)|client_session::cache_headers::protect" \
        "the request's session (service::session_for)|client_session::service::session_for" \
        "deciding the response, the seal included (Session::finish)|client_session::session::Session::finish"; do
        IFS='|' read -r label pattern <<<"$spec"
        echo "| $label | $(part "$TMP/axum-ours-read.callgrind" "$pattern") | $(part "$TMP/axum-ours-modify.callgrind" "$pattern") |"
    done
    echo "| whole session cost (over axum hello) | $(cost axum-ours-read axum-hello) | $(cost axum-ours-modify axum-hello) |"
} >>"$MD"

echo
echo "client-session instruction counts (callgrind $(valgrind --version | sed 's/valgrind-//')), $(nproc) CPUs, $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo
cat "$MD"
if [[ -n "${BENCH_INSTRUCTIONS_MARKDOWN:-}" ]]; then
    cp "$MD" "$BENCH_INSTRUCTIONS_MARKDOWN"
fi
