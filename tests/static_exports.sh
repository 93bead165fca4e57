#!/bin/sh
# SPDX-License-Identifier: MIT
# The static library exports what the shared one does (src/libpathcheck.map)
# and nothing else: the README's example links against libpathcheck.a
# together with a program that defines every internal name of the library
# (heap_init, lock_group, ...), and runs.  Prints "static_exports: P passed,
# F failed, S skipped" as the C tests do.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${PC_BUILD_DIR:-build}
case $B in /*) ;; *) B=$here/$B ;; esac
pass=0 fail=0 skip=0
ok() { echo "  ok: $*"; pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-static.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}

exports=$(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' "$here/src/libpathcheck.map" | sort)
# Every global the library's objects define, before the archive hides them.
all=$(nm -g --defined-only "$B"/obj/src/*.o | awk 'NF == 3 { print $3 }' | sort -u)
internal=$(printf '%s\n' "$all" | grep -vxF "$exports")
n=$(printf '%s\n' "$internal" | grep -c .)
if [ "$n" -lt 20 ]; then
	bad "only $n internal names found in $B/obj/src/*.o"
fi

shown=$(nm -g --defined-only "$B/libpathcheck.a" | awk 'NF == 3 { print $3 }' | sort -u)
if [ "$shown" = "$exports" ]; then ok "libpathcheck.a defines exactly the map's $(echo "$exports" | wc -l) names"
else
	printf '%s\n' "$shown" | grep -vxF "$exports" | head -20 | sed 's/^/    exported: /'
	bad "libpathcheck.a's globals are not the map's"
fi

# A program that defines each internal name as its own function.
{
	echo '/* every internal name of libpathcheck, defined by the program */'
	for s in $internal; do echo "int $s(void); int $s(void) { return 0; }"; done
} > "$tmp/defs.c"
libs=$(PKG_CONFIG_PATH=$B pkg-config --static --libs-only-l pathcheck | sed 's/-lpathcheck//')
if $CC -std=gnu11 -D_GNU_SOURCE -I"$here/include" -o "$tmp/example" \
	"$B/readme-example.c" "$tmp/defs.c" "$B/libpathcheck.a" $libs \
	${SAN:+-fsanitize=$SAN} > "$tmp/log" 2>&1; then
	ok "the README example links with $n internal names of its own"
	head -c 1048576 /dev/zero > "$tmp/file"
	out=$("$tmp/example" "$tmp/file" 2>&1)
	case $out in
	*": up (ok, "*) ok "and checks a file: $out" ;;
	*) bad "the example says: $out" ;;
	esac
else
	head -20 "$tmp/log" | sed 's/^/    /'
	bad "the README example does not link with the program's own internal names"
fi

echo "static_exports: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
