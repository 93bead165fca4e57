#!/bin/sh
# Row 9 of docs/performance.md: pathcheckd's CPU per check at 1,000, 5,000
# and 19,000 pathsim paths every second (and 5,000 every 250 ms: 20,000
# checks/s again), with the slope, against the engine's own batch cost
# (pathcheck-stress over the same paths, and over a loop device when LOOP
# is set).  BEFORE=path/to/older/pathcheckd adds it, interleaved.
# Usage: B=build [ROUNDS=3] [BEFORE=...] [LOOP=/dev/loopN] sh bench/daemon_cpu.sh
set -u
B=${B:-build}
ROUNDS=${ROUNDS:-3}
OUT=$B/bench
mkdir -p "$OUT"
for t in pathcheckd pathsim pathcheck-stress; do
	[ -x "$B/$t" ] || { echo "bench: $B/$t missing (make B=$B)"; exit 1; }
done
[ -e /dev/fuse ] || { echo "9. daemon CPU: skipped (no /dev/fuse)"; exit 0; }
# 19,000 paths need 19,000 descriptors (the hard limit here is 20,000).
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
set -- --daemon "after=$B/pathcheckd"
[ -n "${BEFORE:-}" ] && set -- --daemon "before=$BEFORE" "$@"
[ -n "${LOOP:-}" ] && set -- "$@" --stress-dev "$LOOP"
: > "$OUT/daemon_cpu.json"
exec python3 "$(dirname "$0")/daemon_cpu.py" --sim "$B/pathsim" --stress "$B/pathcheck-stress" "$@" \
	--point 1000:1s --point 5000:1s --point 19000:1s --point 5000:250ms \
	--rounds "$ROUNDS" --json-out "$OUT/daemon_cpu.json"
