#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's console sessions, run as printed, give the output printed.
# Each ```console block is replayed in a temporary directory: a line "# CMD"
# is a command ("&" at the end: in the background), the lines after it are
# what the session showed until the next command: CMD's own output and
# whatever the background jobs printed meanwhile.  Numbers, times, pids and
# column widths vary, so both sides are compared with every run of digits
# as "#" and every run of blanks as one space, and as sets of lines (two
# programs writing at once interleave at random); the shell's own job
# messages ("[2] 4242", "[2]+ Done ...") and `jobs` are left out.  The
# "following device events from" line names udev or the kernel depending
# on the machine, so "udev" reads as "kernel".
# Needs root and /dev/fuse (pathsim); prints
# "readme_console: P passed, F failed, S skipped".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${PC_BUILD_DIR:-build}
case $B in /*) ;; *) B=$here/$B ;; esac
pass=0 fail=0 skip=0
summary() { echo "readme_console: $pass passed, $fail failed, $skip skipped"; }
if [ "$(id -u)" != 0 ] || [ ! -w /dev/fuse ]; then
	echo "  skipped: the sessions mount pathsim: need root and /dev/fuse"
	skip=1; summary; exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-readme.XXXXXX") || exit 1
pids=""
cleanup() {
	for p in $pids; do kill -TERM -- "-$p" 2>/dev/null; done
	for p in $pids; do
		i=0
		while kill -0 -- "-$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL -- "-$p" 2>/dev/null
	done
	mountpoint -q "$tmp/sim" 2>/dev/null && umount -l "$tmp/sim"
	rm -rf "$tmp"
}
trap cleanup EXIT

norm() { # stdin: lines as compared
	sed -e 's/[0-9][0-9]*/#/g' -e 's/[[:blank:]][[:blank:]]*/ /g' -e 's/ $//' \
	    -e 's/^\[#\][+-]\{0,1\} .*//' -e 's/events from udev/events from kernel/' |
		grep -v '^$' | sort
}

# The session's names, here: /tmp/sim and the like, build/.
localize() {
	sed -e "s|/tmp/sim|$tmp/sim|g" -e "s|/tmp/pcd\.|$tmp/pcd.|g" -e "s|build/|$B/|g"
}

# Lines of the background jobs' files not read yet, appended to $1.
take_bg() {
	for f in "$tmp"/bg.*; do
		[ -f "$f" ] || continue
		seen=$(cat "$tmp/seen.${f##*.}" 2>/dev/null || echo 0)
		total=$(wc -l < "$f")
		tail -n +"$((seen + 1))" "$f" | head -n "$((total - seen))" >> "$1"
		echo "$total" > "$tmp/seen.${f##*.}"
	done
}

# Waits (up to 20 s) until the output of the step holds every line the
# README shows, then half a second for anything more.
settle() { # EXPECTED ACTUAL
	i=0
	while [ $i -lt 200 ]; do
		take_bg "$2"
		norm < "$1" > "$tmp/e.n"; norm < "$2" > "$tmp/a.n"
		[ -z "$(comm -23 "$tmp/e.n" "$tmp/a.n")" ] && break
		sleep 0.1; i=$((i + 1))
	done
	sleep 0.5
	take_bg "$2"
}

step() { # COMMAND EXPECTED-FILE BLOCK
	cmd=$1
	: > "$tmp/actual"
	case $cmd in
	jobs) return ;;
	"kill %"*)
		k=${cmd#kill %}; k=${k%% *}
		p=$(echo $pids | cut -d' ' -f"$k")
		kill -TERM -- "-$p" 2>/dev/null
		i=0
		while kill -0 -- "-$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done ;;
	*"&")
		nbg=$((nbg + 1))
		setsid sh -c "${cmd%&}" > "$tmp/bg.$nbg" 2>&1 < /dev/null &
		pids="$pids $!" ;;
	*)	sh -c "$cmd" >> "$tmp/actual" 2>&1 < /dev/null ;;
	esac
	settle "$2" "$tmp/actual"
	norm < "$2" > "$tmp/e.n"; norm < "$tmp/actual" > "$tmp/a.n"
	if cmp -s "$tmp/e.n" "$tmp/a.n"; then
		pass=$((pass + 1))
	else
		printf '  FAILED: %s: # %s\n' "$3" "$4"
		diff "$tmp/e.n" "$tmp/a.n" | sed -n 's/^</    README:/p; s/^>/    actual:/p'
		fail=$((fail + 1))
	fi
}

# One block: its commands, each with the lines after it.
run_block() { # FILE NAME
	nbg=0
	shown=""
	: > "$tmp/expected"
	while IFS= read -r line; do
		# a command, not a line of output such as "# pathsim 1 ...";
		# a comment after it is the README's, not the shell's
		case $line in
		"# build/"*|"# mkdir "*|"# printf "*|"# kill "*|"# jobs"*)
			[ -n "$shown" ] && step "$(printf '%s\n' "$shown" | localize)" "$tmp/expected" "$2" "$shown"
			shown=$(printf '%s\n' "${line#\# }" | sed 's/[[:blank:]]*#[[:blank:]].*//')
			: > "$tmp/expected"
			# a human types the next command a moment later: the
			# first checks of a 1 s interval are in by then
			sleep 1.2 ;;
		*) printf '%s\n' "$line" | localize >> "$tmp/expected" ;;
		esac
	done < "$1"
	[ -n "$shown" ] && step "$(printf '%s\n' "$shown" | localize)" "$tmp/expected" "$2" "$shown"
	cleanup_block
}

cleanup_block() {
	for p in $pids; do kill -TERM -- "-$p" 2>/dev/null; done
	for p in $pids; do
		i=0
		while kill -0 -- "-$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	done
	pids=""
	rm -f "$tmp"/bg.* "$tmp"/seen.*
	mountpoint -q "$tmp/sim" 2>/dev/null && umount -l "$tmp/sim"
	rm -rf "$tmp/sim" "$tmp"/pcd.*
}

n=0
awk -v dir="$tmp" '/^```console$/ { n++; f = dir "/block." n; next }
	/^```$/ { f = ""; next } f { print > f }' "$here/README.md"
for b in "$tmp"/block.*; do
	n=$((n + 1))
	name=$(awk -v want="$n" '/^## / { h = $0 } /^```console$/ && ++k == want { print h }' \
		"$here/README.md")
	echo "--- ${name#\#\# }"
	run_block "$b" "${name#\#\# }"
done
echo "  $pass commands gave the README's output"
summary
[ "$fail" -eq 0 ]
