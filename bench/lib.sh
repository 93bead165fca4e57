# SPDX-License-Identifier: MIT
# Shared by the bench scripts (sourced).

# target VALUE OP LIMIT [UNIT]: "(target OP LIMIT UNIT)", and " MISSED" after it when
# VALUE does not meet it (also when VALUE is not a number: nothing measured).
# OP is one of >= <= < >.
target() {
	awk -v v="$1" -v op="$2" -v l="$3" -v u="${4:+ $4}" 'BEGIN {
		num = (v ~ /^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/)
		x = v + 0
		ok = num && ((op == ">=" && x >= l) || (op == "<=" && x <= l) ||
			     (op == "<" && x < l) || (op == ">" && x > l))
		printf "(target %s %s%s)%s", op, l, u, ok ? "" : " MISSED"
	}'
}

# sim_start ROW N: pathsim with N paths in $TMP/mnt (SIM_PID set); on
# failure prints "ROW: skipped (...)" and exits 0.  bench_cleanup stops it,
# releasing hung reads first (sim_stop).
sim_start() {
	mkdir "$TMP/mnt"
	"$B/pathsim" -n "$2" "$TMP/mnt" > "$TMP/sim.out" 2>&1 &
	SIM_PID=$!
	for i in $(seq 100); do grep -q ready "$TMP/sim.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$TMP/sim.out" || { echo "$1: skipped (pathsim: $(cat "$TMP/sim.out"))"; exit 0; }
}

# sim_stop: releases pathsim's hung reads, then stops it.
sim_stop() {
	[ -n "$SIM_PID" ] || return 0
	printf 'release\n' > "$TMP/mnt/control" 2>/dev/null
	kill "$SIM_PID" 2>/dev/null
}

# bench_cleanup: the daemon ($DPID) and pathsim ($SIM_PID) stopped, $TMP
# removed; for `trap bench_cleanup EXIT INT TERM`.
bench_cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null
	sim_stop
	wait 2>/dev/null
	rm -rf "$TMP"
}
