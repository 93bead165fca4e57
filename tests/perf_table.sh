#!/bin/sh
# SPDX-License-Identifier: MIT
# docs/performance.md's current figures are one table whose every row has
# a date (YYYY-MM-DD) and a command in backticks; `make bench` prints a
# line for each row, labelled "ROW. " (bench/, the Makefile's bench
# target); and every figure of the README's comparison with multipath's
# checker (38.9k, 14.8x...) is one of the rows the README cites.
# Prints "perf_table: P passed, F failed, S skipped".
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-perf.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The rows of the first table after "## Current figures".
awk '/^## Current figures/ { on = 1; next } on && /^## / { exit }
     on && /^\| *[0-9]+[a-z]? *\|/ { print; seen = 1 } on && seen && !/^\|/ { exit }' \
	docs/performance.md > "$tmp/rows"
n=$(wc -l < "$tmp/rows")
[ "$n" -ge 9 ] && ok || bad "docs/performance.md: no table of current figures ($n rows)"

while IFS= read -r row; do
	id=$(printf '%s\n' "$row" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
	printf '%s\n' "$row" | grep -qE '\| *20[0-9][0-9]-[0-1][0-9]-[0-3][0-9][^|]*\|' && ok ||
		bad "row $id has no date"
	last=$(printf '%s\n' "$row" | awk -F'|' '{ print $(NF - 1) }')
	printf '%s\n' "$last" | grep -q '`[^`]*`' && ok || bad "row $id has no command"
	grep -qE "[\"']$id\. " bench/*.sh bench/*.py Makefile && ok ||
		bad "make bench prints no line for row $id (\"$id. ...\")"
done < "$tmp/rows"

# The README's comparison: its figures, and the rows it names.
awk '/^\*\*Compared with multipath/ { on = 1 } on { print } on && /^$/ { exit }' README.md \
	> "$tmp/readme"
rows=$(grep -oE 'row [0-9]+[a-z]?' "$tmp/readme" | cut -d' ' -f2 | sort -u)
[ -n "$rows" ] && ok || bad "README's comparison cites no row of docs/performance.md"
: > "$tmp/cited"
for r in $rows; do grep -E "^\| *$r *\|" "$tmp/rows" >> "$tmp/cited" || bad "README cites row $r: no such row"; done
for fig in $(tr '\n' ' ' < "$tmp/readme" | grep -oE '[0-9][0-9.,]*(k|x)\b' | sort -u); do
	grep -qE "(^|[^0-9.])$(printf '%s' "$fig" | sed 's/\./\\./g')" "$tmp/cited" && ok ||
		bad "README's $fig is not in rows $(echo $rows) of the current figures"
done

echo "  $n rows of current figures"
echo "perf_table: $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
