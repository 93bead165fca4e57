#!/bin/sh
# Runs each test binary, prints its output, and a total line at the end.
# A binary that exits 77 skipped everything; one that dies or overruns its
# time limit counts as a failure.
set -u
limit=${PC_TEST_TIMEOUT:-600}
here=$(cd "$(dirname "$0")" && pwd)
export TSAN_OPTIONS="suppressions=$here/tsan.supp halt_on_error=1 second_deadlock_stack=1 atexit_sleep_ms=0 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="detect_leaks=1 abort_on_error=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
p=0 f=0 s=0 bad=""
for t in "$@"; do
	name=$(basename "$t")
	echo "=== $name"
	log=$(mktemp)
	timeout -k 10 "$limit" "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep -E "^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$" "$log" | tail -n 1)
	rm -f "$log"
	if [ -n "$line" ]; then
		read -r tp tf ts <<-END
		$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/')
		END
		p=$((p + tp)); f=$((f + tf)); s=$((s + ts))
	fi
	case $rc in
	0|77) [ -n "$line" ] || { f=$((f + 1)); bad="$bad $name(no summary)"; } ;;
	*) bad="$bad $name(exit $rc)"; [ -n "$line" ] && [ "$rc" = 1 ] || f=$((f + 1)) ;;
	esac
done
echo
[ -n "$bad" ] && echo "failed:$bad"
[ -n "${SAN:-}" ] && echo "sanitizers: $SAN"
echo "tests: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ -z "$bad" ]
