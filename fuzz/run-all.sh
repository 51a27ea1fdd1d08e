#!/usr/bin/env bash
# Runs every fuzz target, one after another, for SECONDS each (default 60).
# Exits non-zero if any target fails; see fuzz/run.sh.
set -uo pipefail
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
failed=()
for target in open_value seal_open chunk_header service; do
    "$here/run.sh" "$target" "$seconds" || failed+=("$target")
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "run-all.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "run-all.sh: all fuzz targets ran ${seconds}s without a finding" >&2
