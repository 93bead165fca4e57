#!/bin/sh
# pathcheckd during a SIGHUP burst (docs/performance.md, row 7): N pathsim
# paths at a 1 s interval, then 30 SIGHUPs 100 ms apart, each swapping the
# config between all paths (p*) and a subset (p1*: 11,111 of 19,000), so
# every reconfigure removes or adds ~7,900 paths.  Prints the schedule lag
# and slips measured over the burst, for each daemon binary given: a JSON
# line, then row 7's line.
# Usage: sh bench/reconf.sh [PATHS] BINARY...   (e.g. build/pathcheckd)
set -u
. "$(dirname "$0")/lib.sh"	# sim_start, sim_stop, target
N=${1:-19000}
shift
B=${B:-build}
[ -e /dev/fuse ] || { echo "7. reconf: skipped (no /dev/fuse)"; exit 0; }
[ -x "$B/pathsim" ] || { echo "bench: $B/pathsim missing"; exit 1; }
TMP=$(mktemp -d /tmp/pcreconf.XXXXXX)
SIM_PID= DPID=
trap bench_cleanup EXIT INT TERM
sim_start "7. reconf" "$N"
stats() {
	python3 - "$TMP/sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show stats json\n")
buf = b""
while not buf.endswith(b"\n\n"):
    d = s.recv(1 << 20)
    if not d: break
    buf += d
st = json.loads(buf)
print(st["schedule_slips"], st["schedule_lag_max_us"], st["records"], st["reconfigures"], st["checks_started"])
PY
}
for bin in "$@"; do
	printf 'interval 1s\ntimeout 10s\npath %s/mnt/p*\n' "$TMP" > "$TMP/conf"
	"$bin" -f --log stderr -c "$TMP/conf" -s "$TMP/sock" 2> "$TMP/log" &
	DPID=$!
	for i in $(seq 300); do grep -q "ready," "$TMP/log" && break; sleep 0.1; done
	sleep 3
	set -- $(stats); s0=$1 lag0=$2 c0=$5
	i=0
	while [ $i -lt 30 ]; do
		if [ $((i % 2)) -eq 0 ]; then g='p1*'; else g='p*'; fi
		printf 'interval 1s\ntimeout 10s\npath %s/mnt/%s\n' "$TMP" "$g" > "$TMP/conf"
		kill -HUP "$DPID"
		sleep 0.1
		i=$((i + 1))
	done
	sleep 3
	set -- $(stats); s1=$1 lag1=$2 recs=$3 reconf=$4 c1=$5
	kill "$DPID"; wait "$DPID" 2>/dev/null; DPID=
	echo "{\"bench\":\"reconf\",\"binary\":\"$bin\",\"paths\":$N,\"reconfigures\":$reconf,\"records_after\":$recs,\"slips_during_burst\":$((s1 - s0)),\"lag_max_before_ms\":$((lag0 / 1000)),\"lag_max_after_ms\":$((lag1 / 1000)),\"checks_during_burst\":$((c1 - c0))}"
	echo "7. reconfigure burst, $N paths, $bin: schedule lag max $((lag1 / 1000)) ms $(target "$((lag1 / 1000))" "<=" 100 ms), $((s1 - s0)) slips, $reconf reconfigures"
done
