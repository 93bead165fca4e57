#!/bin/sh
# multipathd's checker, side by side (docs/multipath.md): the pathcheck
# plugin (build/multipath/mpt-0.9/libcheckpathcheck.so) against Debian's
# own libcheckdirectio.so, both loaded with dlopen and driven like
# multipathd 0.9.4 by build/tests/multipath_09 --bench (one checker loop
# thread, SCHED_RR 99), on the same loop devices, interleaved, the order
# flipped each round; medians of $ROUNDS rounds.  Root only (loop devices).
#   B=build ROUNDS=3 SECS=5 PARTS="loop tick hung" sh bench/multipath.sh
set -u
PARTS=${PARTS:-loop tick hung}
B=${B:-build}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
NDEV=${NDEV:-16}
D=$B/tests/multipath_09
OUT=$B/bench
TMP=
LOOPS=
SIM_PID=
. "$(dirname "$0")/lib.sh"	# target, sim_stop

AIO_OLD=$(cat /proc/sys/fs/aio-max-nr)
cleanup() {
	echo "$AIO_OLD" > /proc/sys/fs/aio-max-nr
	sim_stop
	wait 2>/dev/null
	for l in $LOOPS; do losetup -d "$l" 2>/dev/null; done
	[ -n "$TMP" ] && { umount "$TMP/tmpfs" 2>/dev/null; rm -rf "$TMP"; }
}

why=
[ "$(id -u)" = 0 ] || why="not root (loop devices)"
[ -x "$D" ] && [ -f "$B/multipath/mpt-0.9/libcheckpathcheck.so" ] ||
	why="${why:-$D or the plugin missing: make B=$B tests multipath}"
[ -f /lib/multipath/libcheckdirectio.so ] || why="${why:-no /lib/multipath/libcheckdirectio.so: apt-get install multipath-tools}"
if [ -n "$why" ]; then
	echo "multipath: skipped ($why)"
	exit 0
fi
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/pcmpbench.XXXXXX)
trap cleanup EXIT INT TERM
# directio takes 1,024 aio events per 1,024 paths, we a few: room for both
# beside what the rest of the machine holds (bench/run.sh does the same)
[ "$AIO_OLD" -ge 1048576 ] || echo 1048576 > /proc/sys/fs/aio-max-nr
mkdir "$TMP/tmpfs" && mount -t tmpfs -o size=64m none "$TMP/tmpfs" || exit 1
for i in $(seq "$NDEV"); do
	dd if=/dev/zero of="$TMP/tmpfs/img$i" bs=1M count=1 status=none
	LOOPS="$LOOPS $(losetup -f --show "$TMP/tmpfs/img$i")"
done
export PC_BUILD_DIR=$B

field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "nan"; else printf "%.2f", a / b }'; }
# run KIND MODE N SECS DEVS...: both plugins, order flipped by round $r
run() {
	k=$1 m=$2 n=$3 s=$4
	shift 4
	if [ $((r % 2)) = 1 ]; then order="pathcheck directio"; else order="directio pathcheck"; fi
	for p in $order; do
		"$D" --bench "$p" "$m" "$k" "$n" "$s" "$@" >> "$OUT/multipath.json" ||
			echo "multipath: $p $m $k $n failed" >&2
	done
}
med() { grep "\"plugin\":\"$1\",\"mode\":\"$2\",\"kind\":\"$3\",\"paths\":$4," "$OUT/multipath.json" | field "$5" | median; }

echo "multipath: pathcheck plugin vs directio (multipath-tools $(dpkg-query -W -f='${Version}' multipath-tools 2>/dev/null)), $NDEV loop devices over tmpfs, $ROUNDS rounds, medians"
: > "$OUT/multipath.json"
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
if part loop; then
# shellcheck disable=SC2086
for r in $(seq "$ROUNDS"); do
	for n in 1 1024 4096; do
		for m in async sync; do run loop "$m" "$n" "$SECS" $LOOPS; done
	done
done
printf '%-6s %5s | %12s %12s %6s | %10s %10s\n' mode paths "pathcheck/s" "directio/s" ratio "pc us/chk" "dio us/chk"
for m in async sync; do
	for n in 1 1024 4096; do
		a=$(med pathcheck "$m" loop "$n" checks_per_s) b=$(med directio "$m" loop "$n" checks_per_s)
		ca=$(med pathcheck "$m" loop "$n" cpu_us_per_check) cb=$(med directio "$m" loop "$n" cpu_us_per_check)
		printf '%-6s %5s | %12s %12s %6s | %10s %10s\n' "$m" "$n" "$a" "$b" "$(ratio "$a" "$b")" "$ca" "$cb"
	done
done
a=$(med pathcheck async loop 1024 checks_per_s) b=$(med directio async loop 1024 checks_per_s)
echo "async at 1,024 paths: $(ratio "$a" "$b")x $(target "$(ratio "$a" "$b")" ">=" 3)"
a=$(med pathcheck sync loop 1024 checks_per_s) b=$(med directio sync loop 1024 checks_per_s)
echo "sync at 1,024 paths: $(ratio "$a" "$b")x $(target "$(ratio "$a" "$b")" ">=" 1)"
fi

# Time per tick: passes one second apart, as multipathd ticks.
r=1
if part tick; then
# shellcheck disable=SC2086
for n in 1024 4096; do for m in async sync; do run tick "$m" "$n" 5 $LOOPS; done; done
for n in 1024 4096; do for m in async sync; do
	echo "tick, $m, $n paths: pathcheck $(med pathcheck "$m" tick "$n" tick_ms_median) ms" \
	     "(max $(med pathcheck "$m" tick "$n" tick_ms_max)), directio $(med directio "$m" tick "$n" tick_ms_median) ms" \
	     "(max $(med directio "$m" tick "$n" tick_ms_max)); answers per tick $(med pathcheck "$m" tick "$n" answers_per_tick)" \
	     "vs $(med directio "$m" tick "$n" answers_per_tick)"
done; done
fi
part hung || exit 0

# One path hung among 4,096 (pathsim behind a loop device), 3 s timeout;
# its read is released 3.5 s after each reset starts.
mkdir "$TMP/mnt"
"$B/pathsim" -n 1 --loop "$TMP/mnt" > "$TMP/sim.out" 2>&1 &
SIM_PID=$!
for i in $(seq 100); do grep -q ready "$TMP/sim.out" 2>/dev/null && break; sleep 0.1; done
HUNG=$(sed -n 's/^loop p0 //p' "$TMP/sim.out")
if [ -z "$HUNG" ]; then
	echo "multipath hung rows: skipped (pathsim --loop: $(cat "$TMP/sim.out"))"
	exit 0
fi
# run_hung ARGS: the driver in the background, its hung read released once
# its line is out: a process cannot exit while the kernel holds its read.
run_hung() {
	before=$(wc -l < "$OUT/multipath.json")
	"$D" --bench "$@" >> "$OUT/multipath.json" &
	bp=$!
	while [ "$(wc -l < "$OUT/multipath.json")" = "$before" ] && kill -0 "$bp" 2>/dev/null; do
		sleep 0.2
	done
	"$B/pathsim" ctl "$TMP/mnt" release > /dev/null
	wait "$bp"
}
for p in pathcheck directio; do
	"$B/pathsim" ctl "$TMP/mnt" set p0 hung > /dev/null
	# shellcheck disable=SC2086
	run_hung "$p" sync hung 4096 0 "$HUNG" $LOOPS
	"$B/pathsim" ctl "$TMP/mnt" set p0 hung > /dev/null
	(sleep 3.5; "$B/pathsim" ctl "$TMP/mnt" release > /dev/null) &
	rel=$!
	# shellcheck disable=SC2086
	run_hung "$p" async reset 4096 0 "$HUNG" $LOOPS
	wait "$rel"
	"$B/pathsim" ctl "$TMP/mnt" set p0 up > /dev/null
done
for p in pathcheck directio; do
	echo "hung path among 4,096, sync, 3 s timeout, $p: passes (ms) $(grep "\"plugin\":\"$p\",\"mode\":\"sync\",\"kind\":\"hung\"" "$OUT/multipath.json" | sed -n 's/.*"pass_ms":\(\[[^]]*\]\).*/\1/p')"
	echo "reset with the hung read orphaned, $p: $(grep "\"plugin\":\"$p\",\"mode\":\"async\",\"kind\":\"reset\"" "$OUT/multipath.json" | field reset_ms) ms (the device answers at 3.5 s)"
done
