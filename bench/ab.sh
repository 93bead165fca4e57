#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench/ab.sh OLD_BUILD NEW_BUILD: an A/B of two builds of pathcheck, and
# fio, on one loop device over tmpfs.  Builds nothing: each build directory
# must hold pathcheck-stress and libpathcheck.so (`make B=...`), and one of
# them (NEW first) bench/syncloop.  Needs root (the loop device) and fio;
# without them only the lifecycle row runs.
#
# Rows (every one for OLD, NEW and, where it has one, fio; interleaved, in
# $ROUNDS rounds, 5 by default, the order flipped every round; medians):
#   life    lifecycle of 10,000 paths on one file: add, free, engine free (ms)
#   batch   pc_check_many over 2,048 paths, one thread (checks/s); fio: the
#           best of a few batch configurations at iodepth 2048 (IOPS)
#   sync    pathcheck-stress --mode sync, p50 of one path (us): since
#           PC_NOCALLBACK, pc_check(PC_SYNC | PC_NOCALLBACK) timed to its
#           return; a build before it times pc_check(PC_SYNC) to on_result
#           (which is what --mode sync-cb times now); fio: iodepth 1 mean
#           latency (us)
#   syncL   the same with two busy loops on the CPUs ("under load"), twice
#           a round.  Under load a run is in one of two modes for its whole
#           length, fio's and ours alike, at random: the loop device's
#           kworker preempts the submitter on its own CPU and the answer is
#           there before the wait (p50 of a few us), or it runs beside a
#           busy loop and the waiter waits its turn to run again (p50 near
#           50 us, p99 a scheduler slice).  A median over runs in both modes
#           says which mode won the draw, so each run is put in its mode by
#           its own p50 (below or above the idle sync p50: for fio its total
#           latency p50) and the modes are compared apart
#   loop    a multipathd-like loop, bench/syncloop: one thread,
#           pc_check(PC_SYNC | PC_NOCALLBACK) back to back over 1,024 paths
#           of the device, both builds' libpathcheck.so loaded by the one
#           harness, in one process, taking turns by blocks of checks with
#           raw: the same loop, each check one io_submit() and
#           io_getevents() on plain libaio ("the same loop on one depth-1
#           fio-style submit-and-wait"); checks/s and CPU us per check of
#           the whole process, medians of its blocks; fio: one job, iodepth
#           1 (its job's CPU per I/O).  pathcheck-stress, which ran this
#           row before, adds its own locks, atomics and clock reads to
#           every check (4 to 8 us of CPU per check here)
# Ratios are NEW/OLD and NEW/fio, of the medians.  "rounds" is the lowest
# and highest NEW/OLD of one round (the k-th run of each build: they ran
# minutes apart at most): a ratio of medians inside that range is not yet
# a difference.  An A/A run, the same build as OLD and NEW (ROUNDS=6
# DUR=1, docs/performance.md), gave 0.91 for the lifecycle and 1.10 for
# the batch.  Raw JSON lines go to $OUT (default a temporary directory,
# removed) when OUT is set.
#
#   ROUNDS=5 DUR=3 bench/ab.sh /work/base/build build
set -u
[ $# -eq 2 ] || { echo "usage: $0 OLD_BUILD NEW_BUILD" >&2; exit 2; }
OLD=$1 NEW=$2
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-3}
for b in "$OLD" "$NEW"; do
	[ -x "$b/pathcheck-stress" ] || { echo "ab: $b/pathcheck-stress missing (make B=$b)" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/pcab.XXXXXX)
RAW=${OUT:-$TMP/raw}
mkdir -p "$RAW"
LOOP= LOADPIDS=

cleanup() {
	for p in $LOADPIDS; do kill "$p" 2>/dev/null; done
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	umount "$TMP/tmpfs" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# field NAME < json-line
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0 || a == "nan") print "-"; else printf "%.2f", a / b }'; }

FIO_CFGS="submit1024 --iodepth_batch_submit=1024 --iodepth_batch_complete_max=2048
plain --iodepth_batch_submit=1 --iodepth_batch_complete_max=1
low1 --iodepth_batch_submit=2048 --iodepth_batch_complete_min=1 --iodepth_batch_complete_max=2048 --iodepth_low=1"

fio_run() {	# fio_run NAME RUNTIME FIO-OPTIONS...: one JSON line
	name=$1 rt=$2
	shift 2
	fio --name=x --filename="$LOOP" --ioengine=libaio --direct=1 --rw=read \
		--bs=4k --size=4k --time_based --runtime="$rt" "$@" \
		--output-format=json 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]; r = j["read"]
cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100 * j["job_runtime"] / 1000
pct = r["lat_ns"].get("percentile", {})
print(json.dumps({"bench": sys.argv[1], "iops": round(r["iops"]),
	"lat_mean_us": round(r["lat_ns"]["mean"] / 1000, 2),
	"lat_p50_us": round(pct.get("50.000000", 0) / 1000, 2),
	"cpu_us_per_io": round(cpu * 1e6 / max(r["total_ios"], 1), 2)},
	separators=(",", ":")))' "$name"
}

load_start() {
	for i in $(seq "$(nproc)"); do
		sh -c 'while :; do :; done' &
		LOADPIDS="$LOADPIDS $!"
	done
}
load_stop() {
	for p in $LOADPIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	LOADPIDS=
}

# one_build TAG BUILD: every pathcheck row of one build, one round
one_build() {
	tag=$1 S=$2/pathcheck-stress
	$S --lifecycle --devices "$TMP/file" --paths 10000 | sed "s/^{/{\"bench\":\"${tag}_life\",/" >> "$RAW/ab.json"
	[ -n "$LOOP" ] || return 0
	$S --devices "$LOOP" --paths 2048 --threads 1 --mode batch --duration "$DUR" --json --quiet \
		| sed "s/^{/{\"bench\":\"${tag}_batch\",/" >> "$RAW/ab.json"
	$S --devices "$LOOP" --paths 1 --threads 1 --mode sync --duration "$DUR" --json --quiet \
		| sed "s/^{/{\"bench\":\"${tag}_sync\",/" >> "$RAW/ab.json"
	for i in 1 2; do
		load_start
		$S --devices "$LOOP" --paths 1 --threads 1 --mode sync --duration "$DUR" --json --quiet \
			| sed "s/^{/{\"bench\":\"${tag}_syncL\",/" >> "$RAW/ab.json"
		load_stop
	done
}

# one_loop: the loop rows of one round, old, new and raw in one process
one_loop() {
	[ -n "$LOOP" ] && [ -n "$SYNCLOOP" ] || return 0
	"$SYNCLOOP" "$LOOP" 1024 $((3 * DUR)) "$(cd "$OLD" && pwd)/libpathcheck.so" \
		"$(cd "$NEW" && pwd)/libpathcheck.so" raw |
		awk '{ t = NR == 1 ? "old" : NR == 2 ? "new" : "raw"
		       sub(/^\{/, "{\"bench\":\"" t "_loop\","); print }' >> "$RAW/ab.json"
}

one_fio() {
	[ -n "$LOOP" ] || return 0
	echo "$FIO_CFGS" | while read -r name opts; do
		# shellcheck disable=SC2086
		fio_run "fio_batch_$name" "$DUR" --iodepth=2048 $opts >> "$RAW/ab.json"
	done
	fio_run fio_sync "$DUR" --iodepth=1 --lat_percentiles=1 >> "$RAW/ab.json"
	for i in 1 2; do
		load_start
		fio_run fio_syncL "$DUR" --iodepth=1 --lat_percentiles=1 >> "$RAW/ab.json"
		load_stop
	done
}

dd if=/dev/zero of="$TMP/file" bs=1M count=1 status=none
if [ "$(id -u)" = 0 ] && command -v fio > /dev/null; then
	mkdir -p "$TMP/tmpfs" && mount -t tmpfs -o size=8m none "$TMP/tmpfs" &&
	dd if=/dev/zero of="$TMP/tmpfs/img" bs=1M count=4 status=none &&
	LOOP=$(losetup -f --show "$TMP/tmpfs/img")
fi
[ -n "$LOOP" ] || echo "ab: no loop device or fio (needs root): lifecycle only" >&2
SYNCLOOP=
for b in "$NEW" "$OLD"; do
	[ -z "$SYNCLOOP" ] && [ -x "$b/bench/syncloop" ] && SYNCLOOP=$b/bench/syncloop
done
[ -n "$SYNCLOOP" ] || echo "ab: no bench/syncloop in either build: no loop rows" >&2
: > "$RAW/ab.json"
echo "ab: $OLD (old) vs $NEW (new), $(uname -r), $(nproc) CPUs, $ROUNDS rounds of ${DUR}s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		one_build old "$OLD"; one_build new "$NEW"; one_fio; one_loop
	else
		one_loop; one_fio; one_build new "$NEW"; one_build old "$OLD"
	fi
done

med() { grep "\"bench\":\"$1\"" "$RAW/ab.json" | tr -d ' ' | field "$2" | median; }

# medm NAME FIELD MODE: med over the runs of one mode under load, a run's
# mode told by its own p50 against the idle mean ($IDLE): "-" when none
mode_rows() {
	grep "\"bench\":\"$1\"" "$RAW/ab.json" | tr -d ' ' | awk -v m="$2" -v t="$IDLE" '{
		p = $0; sub(/.*"lat_p50_us":/, "", p); sub(/[,}].*/, "", p)
		if ((m == "fast") == (p + 0 < t + 0)) print }'
}
medm() { v=$(mode_rows "$1" "$3" | field "$2" | median); [ "$v" = nan ] && echo - || echo "$v"; }
nmode() { mode_rows "$1" "$2" | wc -l | tr -d ' '; }

FB=0 FBN=-
if [ -n "$LOOP" ]; then
	for name in $(echo "$FIO_CFGS" | cut -d' ' -f1); do
		f=$(med "fio_batch_$name" iops)
		if awk -v f="$f" -v b="$FB" 'BEGIN { exit !(f + 0 > b + 0) }'; then FB=$f FBN=$name; fi
	done
fi
# spread NAME FIELD: the lowest and highest NEW/OLD of one round, each
# build's k-th run of NAME against the other's ("min-max")
spread() {
	grep "\"bench\":\"old_$1\"" "$RAW/ab.json" | tr -d ' ' | field "$2" > "$TMP/spread.old"
	grep "\"bench\":\"new_$1\"" "$RAW/ab.json" | tr -d ' ' | field "$2" > "$TMP/spread.new"
	paste -d' ' "$TMP/spread.old" "$TMP/spread.new" | awk '
		$1 + 0 > 0 && $2 != "" { r = $2 / $1; n++
			if (n == 1 || r < lo) lo = r; if (n == 1 || r > hi) hi = r }
		END { if (n) printf "%.2f-%.2f", lo, hi; else print "-" }'
}
row() {	# row NAME UNIT OLD NEW FIO [SPREAD]
	printf '%-34s %-9s %10s %10s %10s %8s %9s %8s\n' "$1" "$2" "$3" "$4" "$5" \
		"$(ratio "$4" "$3")" "${6:--}" "$( [ "$5" = - ] && echo - || ratio "$4" "$5")"
}
echo
printf '%-34s %-9s %10s %10s %10s %8s %9s %8s\n' row unit old new fio new/old rounds new/fio
LO=$(med old_life total_s) LN=$(med new_life total_s)
row "lifecycle, 10,000 paths" ms "$(awk -v t="$LO" 'BEGIN{printf "%.1f", t*1000}')" \
	"$(awk -v t="$LN" 'BEGIN{printf "%.1f", t*1000}')" - "$(spread life total_s)"
if [ -n "$LOOP" ]; then
	row "batch, 2,048 paths (fio: $FBN)" checks/s "$(med old_batch checks_per_s)" "$(med new_batch checks_per_s)" "$FB" \
		"$(spread batch checks_per_s)"
	row "sync p50, one path (fio: mean)" us "$(med old_sync lat_p50_us)" "$(med new_sync lat_p50_us)" "$(med fio_sync lat_mean_us)" \
		"$(spread sync lat_p50_us)"
	IDLE=$(med fio_sync lat_mean_us)
	for mode in fast slow; do
		row "sync p50 under load, $mode runs" us "$(medm old_syncL lat_p50_us "$mode")" \
			"$(medm new_syncL lat_p50_us "$mode")" "$(medm fio_syncL lat_mean_us "$mode")"
	done
	echo "under load, runs fast/slow: old $(nmode old_syncL fast)/$(nmode old_syncL slow)," \
		"new $(nmode new_syncL fast)/$(nmode new_syncL slow), fio $(nmode fio_syncL fast)/$(nmode fio_syncL slow)" \
		"(fast: p50 below the idle mean, $IDLE us); fio's p50 fast $(medm fio_syncL lat_p50_us fast), slow $(medm fio_syncL lat_p50_us slow) us"
	row "sync loop, 1,024 paths (fio: qd1)" checks/s "$(med old_loop checks_per_s)" "$(med new_loop checks_per_s)" "$(med fio_sync iops)" \
		"$(spread loop checks_per_s)"
	row "sync loop CPU per check" us "$(med old_loop cpu_us_per_check)" "$(med new_loop cpu_us_per_check)" "$(med fio_sync cpu_us_per_io)" \
		"$(spread loop cpu_us_per_check)"
	row "sync loop (vs: raw loop)" checks/s "$(med old_loop checks_per_s)" "$(med new_loop checks_per_s)" "$(med raw_loop checks_per_s)"
	row "sync loop CPU per check (vs: raw)" us "$(med old_loop cpu_us_per_check)" "$(med new_loop cpu_us_per_check)" "$(med raw_loop cpu_us_per_check)"
	echo "fio batch configs at iodepth 2048 (IOPS, median):$(for n in $(echo "$FIO_CFGS" | cut -d' ' -f1); do printf ' %s %s' "$n" "$(med "fio_batch_$n" iops)"; done)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
