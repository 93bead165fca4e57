#!/bin/sh
# SPDX-License-Identifier: MIT
# make run: what pathcheck does, on any machine, in about 20 seconds.
#
#   1. a one-shot check of this machine's block devices (pathcheck);
#   2. pathcheckd on four simulated paths (pathsim): p0 healthy, p1 slow,
#      p2 that fails, p3 that hangs.  It prints a live status line and each
#      transition as it happens, makes p2 fail and p3 hang (its read times
#      out), then both recover; then `show paths`, a few metrics, and a
#      clean stop (hung reads released, the daemon stopped, unmounted).
#
# Step 2 needs root and /dev/fuse; without them it says so and stops after
# step 1 (exit 0).  Exit 1 when the demonstration did not show what it
# should (a transition missing within its bound), 2 on an error.  Works
# with stdout not a terminal (CI): the status line is then printed only
# when it changes.  tests/make_run.sh runs it.
#   B=build sh scripts/demo.sh
set -u
B=${B:-build}
INTERVAL=1s		# each path checked every second
TIMEOUT_S=2		# a read unanswered for 2 s is a timeout
BOUND_S=25		# each step's transitions arrive within this (generous)
HOLD_MS=1500		# then the status line stays that long

tty=""
[ -t 1 ] && tty=yes
t0=0
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() { ms=$(($(now_ms) - t0)); printf '%3d.%ds' $((ms / 1000)) $((ms % 1000 / 100)); }
# A line above the status line: on a terminal, the status line is redrawn.
say() { [ -n "$tty" ] && printf '\r\033[K'; printf '%s\n' "$*"; }

# --- 1. this machine's block devices -----------------------------------------
real_devices() {
	say "== this machine's block devices: $B/pathcheck (one read of each, 5 s deadline)"
	out=$("$B/pathcheck" --timeout 5s 2>&1); rc=$?
	[ $rc -le 1 ] || { say "$out"; say "make run: pathcheck failed (exit $rc)"; exit 2; }
	nskip=$(printf '%s\n' "$out" | grep -c ' skipped: ')
	nreal=$(printf '%s\n' "$out" | sed 1d | grep -vc ' skipped: ')
	printf '%s\n' "$out" | grep -v ' skipped: ' | head -n 21
	[ "$nreal" -le 20 ] || say "(and $((nreal - 20)) more: $B/pathcheck lists them all)"
	[ "$nskip" -gt 0 ] && say "($nskip more skipped by default: loop, zram, dm-, ...; pathcheck --all checks them)"
	[ "$nreal" -eq 0 ] && say "(no device to check here: the simulated paths below show the rest)"
	say ""
}

# --- 2. the daemon on simulated paths ----------------------------------------
# Why the demonstration cannot run here, or nothing.
missing() {
	[ "$(id -u)" = 0 ] || { echo "it needs root (make run as root, or see README.md: watching a path hang)"; return; }
	[ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || { echo "it needs /dev/fuse (modprobe fuse)"; return; }
	[ -x "$B/pathsim" ] || echo "$B/pathsim was not built (libfuse3-dev missing: make deps)"
}

tmp="" simpid="" dpid="" subpid=""
cleanup() {
	[ -n "$tty" ] && printf '\r\033[K'
	# Hung reads answered first: a process that exits with a read in flight
	# waits in the kernel until it is answered.
	if [ -n "$simpid" ]; then
		"$B/pathsim" ctl "$tmp/sim" set all up >/dev/null 2>&1
		"$B/pathsim" ctl "$tmp/sim" release >/dev/null 2>&1
	fi
	[ -n "$subpid" ] && kill "$subpid" 2>/dev/null
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -n "$simpid" ] && kill "$simpid" 2>/dev/null && wait "$simpid" 2>/dev/null
	if [ -n "$tmp" ]; then
		grep -qF " $tmp/sim " /proc/self/mountinfo 2>/dev/null && umount -l "$tmp/sim"
		rm -rf "$tmp"
	fi
	simpid="" dpid="" subpid="" tmp=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Waits (at most 10 s) for a line matching $2 in file $1.
wait_line() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -le 100 ] || return 1
		sleep 0.1
	done
}

start_sim() {
	mkdir "$tmp/sim"
	"$B/pathsim" -n 4 --parent-watch $$ "$tmp/sim" >"$tmp/sim.out" 2>"$tmp/sim.err" &
	simpid=$!
	if ! wait_line "$tmp/sim.out" '^ready '; then
		wait "$simpid" 2>/dev/null; rc=$?; simpid=""
		sed 's/^/  /' "$tmp/sim.err"
		[ $rc = 3 ] && return 3	# FUSE cannot be mounted here
		say "make run: pathsim did not start (exit $rc)"; exit 2
	fi
	"$B/pathsim" ctl "$tmp/sim" set p1 slow:300 >/dev/null
}

start_daemon() {
	cat >"$tmp/pathcheckd.conf" <<-EOF
	# make run's: every path each second, a 2 s deadline; a path whose
	# median latency over 3 s is above 200 ms is marginal (slow).
	interval $INTERVAL
	timeout ${TIMEOUT_S}s
	slow_threshold 200ms
	slow_window 3s
	flap_threshold 10
	path $tmp/sim/p*
	EOF
	"$B/pathcheckd" -f --log stderr -c "$tmp/pathcheckd.conf" -s "$tmp/sock" \
		--metrics-file "$tmp/metrics.prom" --state-dir "$tmp/state" 2>"$tmp/daemon.log" &
	dpid=$!
	wait_line "$tmp/daemon.log" 'pathcheckd: ready' ||
		{ cat "$tmp/daemon.log"; say "make run: pathcheckd did not start"; exit 2; }
	"$B/pathcheck" -s "$tmp/sock" subscribe >"$tmp/events" 2>&1 &
	subpid=$!
	say "$(grep 'pathcheckd: ready' "$tmp/daemon.log")"
}

ctl() { "$B/pathcheck" -s "$tmp/sock" "$@"; }
# act WHAT CTL-WORDS...: tells what it does, then does it.
act() { say "$(elapsed)  >> $1 (pathsim ctl $2 $3${4:+ $4})"; shift; "$B/pathsim" ctl "$tmp/sim" "$@" >/dev/null; }

# The daemon's view, on one line: "p0 ready  p1 marginal  ...".
status() {
	ctl show paths format '%d=%t' 2>/dev/null | sed '1d; s/ *$//; s/ *=/ /' | tr '\n' '|' |
		sed 's/|$//; s/|/   /g'
}
shown=""
draw_status() {
	st=$(status)
	[ "$st" = "$shown" ] && [ -z "$tty" ] && return
	if [ -n "$tty" ]; then printf '\r\033[K%s  [%s]' "$(elapsed)" "$st"
	else printf '%s  status: %s\n' "$(elapsed)" "$st"; fi
	shown=$st
}

# New subscribe events, one line each; "seen" collects "dev:to" words.
nev=0 seen=""
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
print_events() {
	total=$(wc -l <"$tmp/events")
	[ "$total" -gt "$nev" ] || return 0
	sed -n "$((nev + 1)),${total}p" "$tmp/events" | while read -r ev; do
		dev=$(echo "$ev" | field dev)
		case $ev in
		*'"event":"state"'*)
			say "$(elapsed)  $dev: $(echo "$ev" | field from) -> $(echo "$ev" | field to)  ($(echo "$ev" | field reason))" ;;
		*'"event":"marginal"'*)
			case $ev in *'"marginal":true'*) m=marginal ;; *) m="no longer marginal" ;; esac
			say "$(elapsed)  $dev: $m ($(echo "$ev" | field reason))" ;;
		esac
	done
	seen="$seen $(sed -n "$((nev + 1)),${total}p" "$tmp/events" | sed -n \
		's/.*"dev":"\([^"]*\)".*"to":"\([^"]*\)".*/\1:\2/p; s/.*"dev":"\([^"]*\)".*"marginal":true.*/\1:marginal/p' |
		tr ' \n' '_ ')"
	nev=$total
}

# Watches until every word of $1 ("dev:state", spaces in states as _) was
# seen since the last step, at most BOUND_S seconds.
until_seen() {
	seen="" end=$(($(now_ms) + BOUND_S * 1000))
	while :; do
		print_events
		draw_status
		all=yes
		for w in $1; do case " $seen " in *" $w "*) ;; *) all="" ;; esac; done
		[ -n "$all" ] && return 0
		[ "$(now_ms)" -lt "$end" ] || { say "make run: FAILED: not within ${BOUND_S} s:$(for w in $1; do
			case " $seen " in *" $w "*) ;; *) printf ' %s' "$w" ;; esac; done)"; return 1; }
		sleep 0.2
	done
}

# Watches until every path has a first result (their events may come before
# the subscription), at most BOUND_S seconds.
until_checked() {
	end=$(($(now_ms) + BOUND_S * 1000))
	until draw_status; [ -n "$shown" ] && ! echo "$shown" | grep -q 'undef\|pending'; do
		[ "$(now_ms)" -lt "$end" ] || { say "make run: FAILED: not every path checked within ${BOUND_S} s"; return 1; }
		sleep 0.2
	done
	print_events
}

# A moment to read the status line before the next step.
hold() {
	end=$(($(now_ms) + HOLD_MS))
	while [ "$(now_ms)" -lt "$end" ]; do print_events; draw_status; sleep 0.2; done
}

show_results() {
	say ""
	say "== pathcheck show paths"
	ctl show paths
	say ""
	say "== a few metrics (pathcheck show metrics; --metrics-file writes them for node_exporter)"
	ctl show metrics | grep -E '^pathcheck_(paths\{state="(ready|faulty|i/o timeout|marginal)"\}|path_transitions_total|checks_total|check_timeouts_total|checks_busy_total)'
	say ""
	say "== the daemon's log (multipathd's words)"
	grep -E ': (directio checker|path is)' "$tmp/daemon.log" | sed 's/^/  /'
}

stop_all() {
	say ""
	say "== stopping: pathcheck shutdown, then pathsim (releases what it holds, unmounts)"
	ctl shutdown >/dev/null && wait "$dpid"; rc=$?; dpid=""
	sed -n 's/^pathcheckd: stopped/  pathcheckd: stopped/p' "$tmp/daemon.log"
	[ $rc = 0 ] || { say "make run: pathcheckd exited $rc"; exit 1; }
	wait "$subpid" 2>/dev/null; subpid=""
	"$B/pathsim" ctl "$tmp/sim" release >/dev/null
	kill "$simpid" && wait "$simpid"; rc=$?; simpid=""
	if [ $rc != 0 ] || grep -qF " $tmp/sim " /proc/self/mountinfo; then
		say "make run: pathsim did not stop cleanly (exit $rc)"; exit 1
	fi
	say "  pathsim: unmounted $tmp/sim"
}

demo() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pathcheck-run.XXXXXX") || exit 2
	say "== pathcheckd on simulated paths: pathsim serves p0 (healthy), p1 (slow: 300 ms a read),"
	say "   p2 (will fail) and p3 (will hang) from a FUSE mount, through the kernel's real AIO path"
	start_sim || return 3
	start_daemon
	t0=$(now_ms)
	until_checked || exit 1
	hold
	act "p2 fails: its reads get EIO" set p2 eio
	act "p3 hangs: its reads get no answer" set p3 hung
	until_seen "p2:faulty p3:i/o_timeout p1:marginal" || exit 1
	hold
	act "p2 comes back" set p2 up
	act "p3 comes back" set p3 up
	act "p3's hung read is answered" release p3
	until_seen "p2:ready p3:ready" || exit 1
	hold
	[ -n "$tty" ] && printf '\r\033[K'
	show_results
	stop_all
	rm -rf "$tmp"; tmp=""
}

real_devices
why=$(missing)
if [ -n "$why" ]; then
	say "make run: shown: the one-shot check of this machine's devices; skipped: pathcheckd on simulated paths, $why; next: README.md (the daemon: quick start), man 8 pathcheckd."
	exit 0
fi
demo; rc=$?
if [ $rc = 3 ]; then
	say "make run: shown: the one-shot check of this machine's devices; skipped: pathcheckd on simulated paths, FUSE cannot be mounted here (pathsim exit 3); next: README.md (the daemon: quick start), man 8 pathcheckd."
	exit 0
fi
say ""
say "make run: shown: pathcheckd checking 4 simulated paths, p2 failing and p3 hanging (its read timed out after ${TIMEOUT_S} s), both recovering, p1 marginal (slow), show paths and metrics, and a clean stop; next: README.md (the daemon: quick start), man 8 pathcheckd, docs/pathsim.md."
