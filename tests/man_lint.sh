#!/bin/sh
# SPDX-License-Identifier: MIT
# Every man page, as built (version and DOCDIR filled in), renders without a
# warning from either formatter: `groff -ww -z -man` (all warnings) and
# `mandoc -T lint -W warning`.  A third check catches what both let through:
# a font-alternating macro (.BR, .IB, ...) given prose, whose words then run
# together ("(3)),andprintsoneline"): three plain words in a row outside
# quotes; a fourth, a list item's tag that lost its .TP.
# Prints "man_lint: P passed, F failed, S skipped".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${PC_BUILD_DIR:-build}
case $B in /*) ;; *) B=$here/$B ;; esac
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }
skipped() { echo "  skipped: $*"; skip=$((skip + 1)); }

pages=$(ls "$B"/man/*.[1358] 2>/dev/null)
[ -n "$pages" ] || { echo "  no man pages in $B/man (run make)"; pages=$(ls "$here"/docs/man/*.[1358]); }

run_lint() { # NAME COMMAND...: each page; any output is a failure
	name=$1; shift
	if ! command -v "$1" >/dev/null 2>&1; then
		skipped "$name: $1 not installed (scripts/deps.sh build)"; return
	fi
	for p in $pages; do
		out=$("$@" "$p" 2>&1)
		if [ -z "$out" ]; then ok
		else echo "$out" | sed 's/^/    /'; bad "$name: $(basename "$p")"; fi
	done
}
run_lint groff groff -ww -z -man
run_lint mandoc mandoc -T lint -W warning

# Quoted arguments count as one non-word; three bare lowercase words in a
# row are prose that the macro would print without spaces.
for p in $pages; do
	out=$(awk '/^\.(BR|RB|BI|IB|IR|RI)[ \t]/ {
		line = $0; gsub(/"[^"]*"/, " \001 ", line)
		n = split(line, w, /[ \t]+/); run = 0
		for (i = 2; i <= n; i++) {
			run = (w[i] ~ /^[a-z]+,?$/) ? run + 1 : 0
			if (run == 3) { printf "%d: %s\n", FNR, $0; break }
		}
	}' "$p")
	if [ -z "$out" ]; then ok
	else echo "$out" | sed 's/^/    /'; bad "words run together: $(basename "$p")"; fi
done

# A list item's tag without its .TP: a bold or italic term alone on a line
# between the end of one sentence and a capitalised one ("by itself.",
# ".B marginal", "Shown only: ...") runs into the previous item's text.
for p in $pages; do
	out=$(awk '{ l[NR] = $0 }
	END { for (i = 2; i < NR; i++)
		if (l[i] ~ /^\.(B|I|BI|IB)[ \t]/ && l[i] !~ /[ \t][.,;:)]$/ &&
		    l[i - 1] ~ /[.:;]$/ && l[i - 1] !~ /^\./ && l[i + 1] ~ /^[A-Z][a-z]/)
			printf "%d: %s\n", i, l[i] }' "$p")
	if [ -z "$out" ]; then ok
	else echo "$out" | sed 's/^/    /'; bad "a tag without .TP: $(basename "$p")"; fi
done

echo "  $(echo "$pages" | wc -w) pages, $pass checks passed"
echo "man_lint: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
