#!/bin/sh
# pathcheck benchmarks (docs/performance.md).  Run as `make bench` (env B).
# Each comparison runs A and B interleaved for $ROUNDS rounds and reports
# medians; raw JSON lines go to $B/bench/*.json.
set -u
B=${B:-build}
ROUNDS=${ROUNDS:-3}
S=$B/pathcheck-stress
OUT=$B/bench
mkdir -p "$OUT"
[ -x "$S" ] || { echo "bench: $S missing (make B=$B)"; exit 1; }
TMP=$(mktemp -d /tmp/pcbench.XXXXXX)
LOOP=
SIM_PID=
AIO_OLD=$(cat /proc/sys/fs/aio-max-nr)

cleanup() {
	[ -n "$SIM_PID" ] && { printf 'release\n' > "$TMP/mnt/control" 2>/dev/null; kill "$SIM_PID" 2>/dev/null; wait "$SIM_PID" 2>/dev/null; }
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	[ "$(id -u)" = 0 ] && echo "$AIO_OLD" > /proc/sys/fs/aio-max-nr
	umount "$TMP/tmpfs" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# field NAME < json-line
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
fio_iops() { python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]["read"]; print(json.dumps({"bench":"fio_2048","iops":round(j["iops"])}))'; }
fio_lat() { python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]["read"]; print(json.dumps({"bench":"fio_1_total","lat_mean_ns":round(j["lat_ns"]["mean"]),"clat_p50_ns":j["clat_ns"]["percentile"]["50.000000"],"iops":round(j["iops"])}))'; }
. "$(dirname "$0")/lib.sh"	# target()
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }

echo "pathcheck benchmarks: $(uname -r), $(nproc) CPUs, $ROUNDS rounds, medians"
dd if=/dev/zero of="$TMP/file" bs=1M count=1 status=none

# --- 1. lifecycle ----------------------------------------------------------
: > "$OUT/lifecycle.json"
for r in $(seq "$ROUNDS"); do
	$S --lifecycle --devices "$TMP/file" --paths 10000 | tee -a "$OUT/lifecycle.json" > /dev/null
	$S --baseline per-path-context --json --devices "$TMP/file" --paths 200 | tee -a "$OUT/lifecycle.json" > /dev/null
done
PC=$(grep '"lifecycle"' "$OUT/lifecycle.json" | field total_s | median)
BASE=$(grep '"baseline"' "$OUT/lifecycle.json" | field per_path_us | median)
BASE10K=$(awk -v u="$BASE" 'BEGIN { printf "%.3f", u * 10000 / 1e6 }')
echo "1. lifecycle of 10,000 paths: pathcheck $(awk -v t="$PC" 'BEGIN{printf "%.1f", t*1000}') ms;" \
     "per-path io_context $BASE10K s (200 paths measured, extrapolated: $BASE us/path);" \
     "ratio $(ratio "$BASE10K" "$PC")x"

# --- 2. throughput on a loop device over tmpfs --------------------------------
if [ "$(id -u)" = 0 ] && command -v fio > /dev/null; then
	mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=8m none "$TMP/tmpfs" &&
	dd if=/dev/zero of="$TMP/tmpfs/img" bs=1M count=4 status=none &&
	LOOP=$(losetup -f --show "$TMP/tmpfs/img")
fi
# fio's batch options at iodepth 2048, each run every round; the best
# median is the reference (docs/performance.md, row 2a).
FIO_CFGS="submit1024 --iodepth_batch_submit=1024 --iodepth_batch_complete_max=2048
plain --iodepth_batch_submit=1 --iodepth_batch_complete_max=1
low1792 --iodepth_batch_submit=256 --iodepth_batch_complete_min=256 --iodepth_batch_complete_max=2048 --iodepth_low=1792
low1984 --iodepth_batch_submit=64 --iodepth_batch_complete_min=64 --iodepth_batch_complete_max=2048 --iodepth_low=1984
low1 --iodepth_batch_submit=2048 --iodepth_batch_complete_min=1 --iodepth_batch_complete_max=2048 --iodepth_low=1"
if [ -n "$LOOP" ]; then
	: > "$OUT/throughput.json"
	# 2d: multipath-tools' own checker, if installed (the tool says why not)
	MP_WHY=$($S --baseline multipath-directio --devices "$LOOP" --duration 0 --quiet 2>&1 >/dev/null) && MP_WHY=
	for r in $(seq "$ROUNDS"); do
		$S --devices "$LOOP" --paths 2048 --threads 1 --mode batch --duration 5 --json --quiet \
			| sed 's/^{/{"bench":"pc_batch",/' >> "$OUT/throughput.json"
		if [ -z "$MP_WHY" ]; then
			$S --baseline multipath-directio --devices "$LOOP" --paths 2048 --duration 5 --json --quiet \
				| sed 's/^{/{"bench":"mp_directio",/' >> "$OUT/throughput.json"
			$S --baseline multipath-directio --sched other --devices "$LOOP" --paths 2048 --duration 5 --json --quiet \
				| sed 's/^{/{"bench":"mp_directio_other",/' >> "$OUT/throughput.json"
		fi
		# fio tuned: each batch configuration at the same 2048 in flight
		echo "$FIO_CFGS" | while read -r name opts; do
			fio --name=x --filename="$LOOP" --ioengine=libaio --direct=1 --rw=read --bs=4k --size=4k \
				--iodepth=2048 $opts --time_based --runtime=5 --output-format=json 2>/dev/null \
				| fio_iops | sed "s/\"fio_2048\"/\"fio_2048_$name\"/" >> "$OUT/throughput.json"
		done
		$S --devices "$LOOP" --paths 2048 --threads 2 --mode async --duration 5 --json --quiet \
			| sed 's/^{/{"bench":"pc_async_t2",/' >> "$OUT/throughput.json"
		$S --devices "$LOOP" --paths 1 --threads 1 --mode sync --duration 3 --json --quiet \
			| sed 's/^{/{"bench":"pc_sync1",/' >> "$OUT/throughput.json"
		fio --name=x --filename="$LOOP" --ioengine=libaio --direct=1 --rw=read --bs=4k --size=4k \
			--iodepth=1 --time_based --runtime=3 --output-format=json 2>/dev/null \
			| fio_lat >> "$OUT/throughput.json"
	done
	PCB=$(grep pc_batch "$OUT/throughput.json" | field checks_per_s | median)
	FIO=0 FIOBEST=
	for name in $(echo "$FIO_CFGS" | cut -d' ' -f1); do
		F=$(grep "\"fio_2048_$name\"" "$OUT/throughput.json" | tr -d ' ' | field iops | median)
		echo "   fio iodepth 2048, $name ($(echo "$FIO_CFGS" | grep "^$name " | cut -d' ' -f2-)): $F IOPS"
		if awk -v f="$F" -v b="$FIO" 'BEGIN { exit !(f + 0 > b + 0) }'; then FIO=$F FIOBEST=$name; fi
	done
	PCA=$(grep pc_async_t2 "$OUT/throughput.json" | field checks_per_s | median)
	PCS=$(grep pc_sync1 "$OUT/throughput.json" | field lat_p50_us | median)
	F1=$(grep '"fio_1_total"' "$OUT/throughput.json" | tr -d ' ' | field lat_mean_ns | median)
	F1US=$(awk -v n="$F1" 'BEGIN { printf "%.1f", n / 1000 }')
	echo "2a. checks/s, 2048 paths on $LOOP (tmpfs), batch, 1 thread: pathcheck $PCB checks/s, fio's best at iodepth 2048 ($FIOBEST) $FIO IOPS: $(ratio "$PCB" "$FIO") $(target "$(ratio "$PCB" "$FIO")" ">=" 0.95)"
	echo "2b. checks/s, same, async, 2 threads: $PCA checks/s"
	echo "2c. sync check latency p50, one path: $PCS us; fio iodepth 1 mean total latency $F1US us: $(ratio "$PCS" "$F1US")x $(target "$(ratio "$PCS" "$F1US")" "<=" 1.1)"
	if [ -z "$MP_WHY" ]; then
		MP=$(grep '"mp_directio"' "$OUT/throughput.json" | field checks_per_s | median)
		MPO=$(grep '"mp_directio_other"' "$OUT/throughput.json" | field checks_per_s | median)
		echo "2d. vs multipath-tools directio checker: pathcheck $PCB/s vs multipath-tools $MP/s: ratio $(ratio "$PCB" "$MP")x $(target "$(ratio "$PCB" "$MP")" ">=" 25)"
		echo "   (its checker loop as multipathd runs it, SCHED_RR 99; under SCHED_OTHER $MPO/s: $(ratio "$PCB" "$MPO")x)"
	else
		echo "2d. vs multipath-tools directio checker: skipped: $(echo "$MP_WHY" | head -1)"
	fi
else
	echo "2a-2d. throughput: skipped (needs root, loop devices and fio)"
fi

# --- 3. teardown vs number of groups -----------------------------------------
: > "$OUT/teardown.json"
for r in $(seq "$ROUNDS"); do
	for g in 1 10 100; do
		$S --lifecycle --devices "$TMP/file" --paths $((g * 8)) --group-size 8 \
			| sed "s/^{/{\"bench\":\"teardown_$g\",/" >> "$OUT/teardown.json"
	done
done
printf '3. teardown (pc_engine_free, groups of 8):'
for g in 1 10 100; do
	T=$(grep "teardown_$g\"" "$OUT/teardown.json" | field free_engine_s | median)
	TMS=$(awk -v t="$T" 'BEGIN{print t*1000}')
	printf ' %s groups %.1f ms;' "$g" "$TMS"
done
echo " 100 groups $(target "$TMS" "<" 100 ms)"

# --- 4. isolation: healthy throughput with 10% hung ----------------------------
if [ -e /dev/fuse ] && [ -x "$B/pathsim" ] && [ "$(id -u)" = 0 ]; then
	mkdir -p "$TMP/mnt"
	"$B/pathsim" -n 200 "$TMP/mnt" > "$TMP/sim.out" 2>&1 &
	SIM_PID=$!
	i=0; while ! grep -q ready "$TMP/sim.out" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
	: > "$OUT/isolation.json"
	for r in $(seq "$ROUNDS"); do
		$S --devices "$TMP/mnt" --paths 200 --threads 1 --mode batch --duration 4 --timeout 1s --json --quiet \
			| sed 's/^{/{"bench":"hung0",/' >> "$OUT/isolation.json"
		# up counts only the 90% healthy paths here
		$S --devices "$TMP/mnt" --paths 200 --threads 1 --mode batch --duration 4 --timeout 1s --hung 0.1 --json --quiet \
			| sed 's/^{/{"bench":"hung10",/' >> "$OUT/isolation.json"
	done
	H0=$(grep hung0 "$OUT/isolation.json" | awk -F'"up":' '{split($2,a,","); w=$0; sub(/.*"wall_s":/,"",w); sub(/}.*/,"",w); print a[1]/w}' | median)
	H10=$(grep hung10 "$OUT/isolation.json" | awk -F'"up":' '{split($2,a,","); w=$0; sub(/.*"wall_s":/,"",w); sub(/}.*/,"",w); print a[1]/w}' | median)
	H10N=$(awk -v h="$H10" 'BEGIN { printf "%.0f", h / 0.9 }')
	echo "4. isolation (pathsim, 200 paths): healthy checks/s per healthy path set: none hung $H0/s, 10% hung $H10/s (per-path normalised $H10N): $(ratio "$H10N" "$H0") $(target "$(ratio "$H10N" "$H0")" ">=" 0.90)"
	printf 'release\n' > "$TMP/mnt/control"; kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; SIM_PID=
else
	echo "4. isolation: skipped (needs root, /dev/fuse and $B/pathsim)"
fi

# --- 5. memory at 100,000 paths ---------------------------------------------
if [ "$(id -u)" = 0 ]; then
	echo 1048576 > /proc/sys/fs/aio-max-nr
	ulimit -n 110000 2>/dev/null || true
fi
$S --lifecycle --shared-fd --devices "$TMP/file" --paths 100000 > "$OUT/memory.json" 2> "$OUT/memory.err"
if [ -s "$OUT/memory.json" ]; then
	echo "5. memory at $(field paths < "$OUT/memory.json") paths, at rest 2 s after a round of checks:" \
	     "RSS $(field rest_rss_kib < "$OUT/memory.json") KiB, $(field rest_per_path_b < "$OUT/memory.json") B/path $(target "$(field rest_per_path_b < "$OUT/memory.json")" "<=" 1024 B);" \
	     "peak with every path in flight $(field rss_per_path_b < "$OUT/memory.json") B/path $(target "$(field rss_per_path_b < "$OUT/memory.json")" "<=" 5376 B) (1 KiB + 4 KiB + 256 B);" \
	     "create $(field create_s < "$OUT/memory.json") s"
else
	echo "5. memory: failed: $(head -1 "$OUT/memory.err")"
fi
# --- 6. A/B: bench/ab.sh, this build against AB_OLD (default: itself, for
# its rows against fio); every change to src/ runs it against the build
# before the change.
echo "6. A/B (bench/ab.sh ${AB_OLD:-$B} $B):"
OUT="$OUT/ab" ROUNDS="${AB_ROUNDS:-5}" sh "$(dirname "$0")/ab.sh" "${AB_OLD:-$B}" "$B"
echo "raw results: $OUT/*.json"
