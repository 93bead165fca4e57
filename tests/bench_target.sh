#!/bin/sh
# SPDX-License-Identifier: MIT
# make bench prints MISSED next to a target its measurement does not meet
# (bench/lib.sh target()), and nothing when it is met.
set -u
cd "$(dirname "$0")/.." || exit 1
. bench/lib.sh
pass=0 fail=0
t() {	# expected, then target's arguments
	want=$1; shift
	got=$(target "$@")
	if [ "$got" = "$want" ]; then pass=$((pass + 1)); echo "  ok: target $*: $got"
	else fail=$((fail + 1)); echo "  FAILED: target $*: '$got', expected '$want'"; fi
}
t "(target >= 0.75)"		0.80 ">=" 0.75
t "(target >= 0.75) MISSED"	0.74 ">=" 0.75
t "(target >= 25)"		31.2 ">=" 25
t "(target >= 25) MISSED"	3.1 ">=" 25
t "(target <= 1.5)"		1.50 "<=" 1.5
t "(target <= 1.5) MISSED"	2.02 "<=" 1.5
t "(target < 100 ms)"		41.5 "<" 100 ms
t "(target < 100 ms) MISSED"	100 "<" 100 ms
t "(target <= 1024 B) MISSED"	nan "<=" 1024 B
t "(target >= 0.90) MISSED"	"" ">=" 0.90
# Every "target" bench/run.sh prints goes through target().
n=$(grep -c '(target [<>]' bench/run.sh)
[ "$n" -eq 0 ] && { pass=$((pass + 1)); echo "  ok: no literal (target ...) left in bench/run.sh"; } ||
	{ fail=$((fail + 1)); echo "  FAILED: $n literal targets in bench/run.sh"; grep -n '(target [<>]' bench/run.sh; }
echo "bench_target: $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
