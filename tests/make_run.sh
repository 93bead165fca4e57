#!/bin/sh
# SPDX-License-Identifier: MIT
# `make run` (scripts/demo.sh), as CI runs it, with stdout not a terminal:
# exit 0; pathcheckd on simulated paths shows p2 failing and p3 timing out,
# both recovering, show paths and metrics, a last line that says what was
# shown and where to go next; and nothing left behind (mount, processes,
# temporary directory).  Without root or /dev/fuse, the demonstration is
# skipped with the reason (and make run still exits 0, saying so).
# As root, also run as an unprivileged user: it says it needs root.
# Prints "make_run: P passed, F failed, S skipped".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${PC_BUILD_DIR:-build}
case $B in /*) ;; *) B=$here/$B ;; esac
unset MAKEFLAGS MFLAGS MAKELEVEL
pass=0 fail=0 skip=0
ok() { echo "  ok: $*"; pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-make-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
has() { grep -qF -- "$1" "$tmp/out"; }

echo "--- make run"
start=$(date +%s)
# B as given, not absolute: see tests/install.sh
TMPDIR=$tmp make -s -C "$here" B="${PC_BUILD_DIR:-build}" SAN="${SAN:-}" run >"$tmp/out" 2>&1; rc=$?
secs=$(($(date +%s) - start))
sed 's/^/    /' "$tmp/out"
[ $rc = 0 ] && ok "exit 0 after $secs s" || bad "exit $rc"
has "== this machine's block devices" && ok "this machine's devices checked once" ||
	bad "no one-shot check of this machine's devices"
last=$(tail -n 1 "$tmp/out")
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "  SKIPPED: the simulated paths need root and /dev/fuse"
	skip=$((skip + 1))
	case $last in "make run: shown: "*"skipped: pathcheckd on simulated paths, "*"next: README.md"*)
		ok "its last line says what was shown, skipped and why, and what next" ;;
	*) bad "last line: $last" ;; esac
else
	for t in "p2: ready -> faulty" "p3: ready -> i/o timeout" "p1: marginal (slow)" \
		 "p3: i/o timeout -> ready" "p2: faulty -> ready"; do
		has "$t" && ok "transition: $t" || bad "no transition '$t'"
	done
	grep -q '^ *[0-9.]*s  status: p0 ready   p1 [a-z/ ]*   p2 faulty   p3 i/o timeout$' "$tmp/out" &&
		ok "a status line with p2 faulty and p3 timed out" || bad "no status line with p2 faulty and p3 timed out"
	has "== pathcheck show paths" && grep -q '^p2 .* ready ' "$tmp/out" && ok "show paths" || bad "show paths"
	grep -q '^pathcheck_check_timeouts_total [1-9]' "$tmp/out" && ok "metrics" || bad "metrics"
	has "pathcheckd: stopped in" && has "pathsim: unmounted" && ok "a clean stop" || bad "no clean stop"
	case $last in "make run: shown: "*"next: README.md"*) ok "last line says what was shown and what next" ;;
	*) bad "last line: $last" ;; esac
fi
grep -q "$tmp" /proc/self/mountinfo && bad "a mount left: $(grep "$tmp" /proc/self/mountinfo)"
left=$(ls "$tmp" | grep -v '^out$')
[ -z "$left" ] && ok "no temporary directory left" || bad "left in TMPDIR: $left"
procs=$(for c in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$c" 2>/dev/null | grep -F "$tmp/" ; done)
[ -z "$procs" ] && ok "no process left" || bad "processes left: $procs"

# As root: the same run without root says so and still exits 0.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	echo "--- scripts/demo.sh as nobody"
	chmod 0755 "$tmp"
	(cd "$here" && TMPDIR=$tmp B="$B" setpriv --reuid=65534 --regid=65534 --clear-groups \
		sh scripts/demo.sh) >"$tmp/out" 2>&1; rc=$?
	sed 's/^/    /' "$tmp/out"
	[ $rc = 0 ] && ok "without root: exit 0" || bad "without root: exit $rc"
	has "skipped: pathcheckd on simulated paths, it needs root" && ok "without root: says it needs root" ||
		bad "without root: does not say it needs root"
fi

echo "make_run: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
