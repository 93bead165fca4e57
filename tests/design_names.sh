#!/bin/sh
# SPDX-License-Identifier: MIT
# docs/design.md names the code: every backticked name in it exists.
#   - a file (`src/bufpool.c`, `cmds.h`, `clock.[ch]`, `tests/callbacks_once`,
#     `shutdown_hung_reads/fully_orphaned`: a test of tests/shutdown_hung_reads.c) is a file of the
#     tree whose path ends so;
#   - a name (`host_busy()`, `struct rec`, `engine->groups_lock`,
#     `pc_engine_new/free/reset/stats`, `kcmp(KCMP_FILE)`) is, word by
#     word, a word of the code (src, include, tools, tests), and a prefix
#     (`pc_test_`) starts one;
#   - anything else (a command line, a format, a formula) is not checked.
# Names from outside the project that the page cites are listed below.
# Prints "design_names: P passed, F failed, S skipped".
set -u
cd "$(dirname "$0")/.." || exit 1
doc=docs/design.md
# Cited from elsewhere: the 2020 patch's check_state(), glibc's
# posix_memalign(), liburcu's urcu_bp_barrier() (which the library no
# longer calls).
foreign="check_state posix_memalign urcu_bp_barrier"
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-design.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

find src include tools tests docs scripts bench contrib debian multipath -type f \
	! -path '*/build*' > "$tmp/files"
grep -rhoE '[A-Za-z_][A-Za-z0-9_]*' src include tools tests multipath \
	--include='*.[ch]' --include='*.sh' | sort -u > "$tmp/words"
for w in $foreign; do echo "$w"; done >> "$tmp/words"

# Every `span` outside fenced code blocks, one a line.
awk '/^```/ { fenced = !fenced; next }
     !fenced { while (match($0, /`[^`]+`/)) {
		print substr($0, RSTART + 1, RLENGTH - 2)
		$0 = substr($0, RSTART + RLENGTH) } }' "$doc" | sort -u > "$tmp/spans"

is_file() { # SPAN: a file of the tree ends with it
	case $1 in
	*.\[ch\]) set -- "${1%.\[ch\]}.c" "${1%.\[ch\]}.h" ;;
	*) set -- "$1" ;;
	esac
	for f in "$@"; do
		grep -qE "(^|/)$(printf '%s' "$f" | sed 's/[.[\*^$]/\\&/g')(\.c|\.sh)?/?\$" "$tmp/files" && return 0
		[ -d "$f" ] && return 0
	done
	return 1
}

is_test_case() { # FILE/CASE: a test case named in tests/FILE.c
	[ -f "tests/${1%%/*}.c" ] && grep -q "\"${1#*/}\"" "tests/${1%%/*}.c"
}

has_words() { # SPAN: each identifier in it is a word of the code
	for w in $(printf '%s\n' "$1" | grep -oE '[A-Za-z_][A-Za-z0-9_]*'); do
		case $w in
		*_) grep -q "^$w" "$tmp/words" || return 1 ;;
		*) grep -qxF "$w" "$tmp/words" || return 1 ;;
		esac
	done
}

check() { # SPAN: 0 found, 1 missing, 2 not a name
	s=${1#struct }
	s=${s#enum }
	case $s in
	*\**) return 2 ;;	# a glob
	*/*.*|*.c|*.h|*.\[ch\]|*.sh|*.md|*.map|src/|tests/|include/|tools/*/|tests/*)
		is_file "$s" && return 0
		case $s in */*) is_test_case "$s" && return 0 ;; esac
		return 1 ;;
	esac
	# a C name, members, alternatives, a call with arguments
	printf '%s\n' "$s" |
		grep -qE '^[A-Za-z_][A-Za-z0-9_]*((->|\.|/)[A-Za-z_][A-Za-z0-9_]*)*(\(\)|\([A-Za-z0-9_, ]*\))?$' ||
		return 2
	has_words "$s"
}

while IFS= read -r span; do
	check "$span"
	case $? in
	0) pass=$((pass + 1)) ;;
	1) echo "  FAILED: \`$span\` names nothing in the tree"; fail=$((fail + 1)) ;;
	esac
done < "$tmp/spans"

echo "  $pass names of $doc found in the code"
echo "design_names: $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
