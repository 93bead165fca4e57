#!/bin/sh
# SPDX-License-Identifier: MIT
# contrib/: the Prometheus rules load and pass their promtool unit tests,
# every alert has a firing and a non-firing case there, and the Grafana
# dashboard is valid JSON with a query in every panel.  (That every metric
# name they use is exported is tests/daemon_metrics_file.c, on a live
# daemon.)  Prints "contrib: P passed, F failed, S skipped".
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0 skip=0
ok() { echo "  ok: $*"; pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }
rules=contrib/prometheus/pathcheck.rules.yml
tests=contrib/prometheus/pathcheck.rules.test.yml
dash=contrib/grafana/pathcheck-fleet.json

if ! command -v promtool >/dev/null 2>&1; then
	echo "  SKIPPED: promtool is not installed (Debian package prometheus; scripts/deps.sh ci)"
	skip=$((skip + 2))
else
	if promtool check rules "$rules"; then ok "promtool check rules"; else bad "promtool check rules"; fi
	if promtool test rules "$tests"; then ok "promtool test rules"; else bad "promtool test rules"; fi
fi

# Every alert: a case with exp_alerts: [] and one with a non-empty list.
alerts=$(sed -n 's/^ *- alert: *\([A-Za-z0-9_]*\).*/\1/p' "$rules")
n=0
for a in $alerts; do
	n=$((n + 1))
	cases=$(awk -v a="$a" '
		/alertname:/ { cur = $2 }
		/exp_alerts: *\[\]/ { if (cur == a) empty++ ; next }
		/exp_alerts: *$/ { if (cur == a) firing++ }
		END { printf "%d %d", firing, empty }' "$tests")
	firing=${cases% *} empty=${cases#* }
	if [ "$firing" -ge 1 ] && [ "$empty" -ge 1 ]; then :
	else bad "$a: $firing firing and $empty non-firing cases"; fi
done
[ "$n" -ge 8 ] && ok "$n alerts, each with firing and non-firing cases" || bad "only $n alerts"

if ! command -v jq >/dev/null 2>&1; then
	echo "  SKIPPED: jq is not installed"; skip=$((skip + 1))
elif jq -e '(.panels | length) > 8 and
	    ([.panels[] | select(.type != "row") | (.targets | length) > 0] | all) and
	    ([.panels[] | select(.type != "row") | .targets[].expr | test("pathcheck_")] | all)' \
	    "$dash" >/dev/null; then
	ok "$dash: valid, every panel queries pathcheck metrics"
else
	bad "$dash: invalid JSON or a panel without a pathcheck query"
fi

echo "contrib: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
