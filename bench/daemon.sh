#!/bin/sh
# pathcheckd over N pathsim paths for D seconds (docs/performance.md, row 6):
# are the checks on schedule, and what does the daemon hold?
# Usage: B=build sh bench/daemon.sh [PATHS] [SECONDS] [INTERVAL_S]
set -u
. "$(dirname "$0")/lib.sh"	# sim_start, sim_stop, target
B=${B:-build}
N=${1:-10000}
D=${2:-60}
I=${3:-5}
OUT=$B/bench
mkdir -p "$OUT"
for t in pathcheckd pathsim; do
	[ -x "$B/$t" ] || { echo "bench: $B/$t missing (make B=$B)"; exit 1; }
done
[ -e /dev/fuse ] || { echo "6. daemon: skipped (no /dev/fuse)"; exit 0; }
TMP=$(mktemp -d /tmp/pcdaemon.XXXXXX)
SIM_PID= DPID=
trap bench_cleanup EXIT INT TERM
sim_start "6. daemon" "$N"
printf 'interval %s\ntimeout 10s\npath %s/mnt/p*\n' "$I" "$TMP" > "$TMP/conf"
T0=$(date +%s.%N)
"$B/pathcheckd" -f --log stderr -c "$TMP/conf" -s "$TMP/sock" 2> "$TMP/log" &
DPID=$!
for i in $(seq 300); do grep -q "ready," "$TMP/log" && break; sleep 0.1; done
T1=$(date +%s.%N)
sleep "$D"
python3 - "$TMP/sock" "$DPID" "$N" "$D" "$I" "$T0" "$T1" <<'PY' | tee "$OUT/daemon.json"
import json, os, socket, sys
sock, pid, n, dur, ival, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
def cmd(c):
    s = socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall((c + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n\n"):
        d = s.recv(1 << 20)
        if not d: break
        buf += d
    s.close(); return buf.decode()
st = json.loads(cmd("show stats json"))
paths = json.loads(cmd("show paths json"))["paths"]
checks = sorted(p["checks"] for p in paths)
tick = os.sysconf("SC_CLK_TCK")
f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
cpu = (int(f[11]) + int(f[12])) / tick
rss = [int(l.split()[1]) for l in open("/proc/%d/status" % pid) if l.startswith("VmRSS")][0]
up = st["uptime_s"]
print(json.dumps({"bench": "daemon", "paths": n, "interval_s": ival, "run_s": up,
    "startup_s": round(t1 - t0, 2), "checks": st["checks"],
    "expected_checks": round(n * up / ival), "per_path_checks_min": checks[0],
    "per_path_checks_median": checks[len(checks) // 2], "per_path_checks_max": checks[-1],
    "schedule_lag_p50_ms": st["schedule_lag_p50_us"] / 1e3, "schedule_lag_p99_ms": st["schedule_lag_p99_us"] / 1e3,
    "schedule_lag_max_ms": st["schedule_lag_max_us"] / 1e3, "schedule_slips": st["schedule_slips"],
    "checks_busy": st["checks_busy"], "down": st["down"], "rss_kib": rss,
    "rss_per_path_b": round(rss * 1024 / n), "cpu_s": round(cpu, 2),
    "cpu_pct": round(100 * cpu / (up or 1), 1)}))
PY
python3 - "$OUT/daemon.json" <<'PY'
import json, sys
j = json.loads(open(sys.argv[1]).read())
print("6. daemon, %d pathsim paths, interval %gs, %ds: %d checks (expected %d), per path min/median/max %d/%d/%d;"
      " schedule lag p50 %.0f ms, p99 %.0f ms, max %.0f ms, %d slips; RSS %d KiB (%d B/path); CPU %.1f%% of one core"
      % (j["paths"], j["interval_s"], j["run_s"], j["checks"], j["expected_checks"], j["per_path_checks_min"],
         j["per_path_checks_median"], j["per_path_checks_max"], j["schedule_lag_p50_ms"], j["schedule_lag_p99_ms"],
         j["schedule_lag_max_ms"], j["schedule_slips"], j["rss_kib"], j["rss_per_path_b"], j["cpu_pct"]))
PY
