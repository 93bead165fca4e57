#!/bin/sh
# SPDX-License-Identifier: MIT
# make install and make uninstall, as a packager and a new user run them:
#   - `make install PREFIX=/usr DESTDIR=X` after a plain `make` installs a
#     pathcheck.pc that says /usr, and the README's example builds and runs
#     against X with pkg-config (PKG_CONFIG_SYSROOT_DIR);
#   - a plain `make install DESTDIR=Y` after it says /usr/local again;
#   - `make uninstall` leaves no file behind (man pages included), and no
#     directory that the install made, while a directory that was there
#     before stays;
#   - the man pages cite the docs where the install put them.
# Prints "install: P passed, F failed, S skipped" as the C tests do.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
B=${PC_BUILD_DIR:-build}
case $B in /*) ;; *) B=$here/$B ;; esac
# Not the jobserver of a make that runs this: a make of its own.
unset MAKEFLAGS MFLAGS MAKELEVEL
pass=0 fail=0 skip=0
ok() { echo "  ok: $*"; pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# make -C "$here" with B as given: a make of an absolute B writes the
# objects' dependency files with absolute targets, which the developer's
# own make (B=build) then never matches, and stops rebuilding them.
m() { make -s -C "$here" B="${PC_BUILD_DIR:-build}" SAN="${SAN:-}" "$@"; }

echo "--- install: PREFIX=/usr after a plain make"
if ! m >"$tmp/log" 2>&1 || ! m install PREFIX=/usr DESTDIR="$tmp/usr-tree" >>"$tmp/log" 2>&1; then
	cat "$tmp/log"; bad "make install PREFIX=/usr"
else
	pc=$tmp/usr-tree/usr/lib/pkgconfig/pathcheck.pc
	if grep -qx 'prefix=/usr' "$pc" && grep -qx 'libdir=/usr/lib' "$pc" &&
	   grep -qx 'includedir=/usr/include' "$pc"; then ok "pathcheck.pc says /usr"
	else cat "$pc"; bad "pathcheck.pc does not say /usr"; fi
	if grep -qx "Version: $(cat "$here/VERSION")" "$pc"; then ok "pathcheck.pc has VERSION"
	else bad "pathcheck.pc version"; fi
	m "$B/readme-example.c" >/dev/null 2>&1
	flags=$(PKG_CONFIG_SYSROOT_DIR="$tmp/usr-tree" PKG_CONFIG_LIBDIR="$tmp/usr-tree/usr/lib/pkgconfig" \
		pkg-config --cflags --libs pathcheck)
	echo "  pkg-config: $flags"
	# shellcheck disable=SC2086
	if cc -Wall -Werror -o "$tmp/example" "$B/readme-example.c" $flags 2>"$tmp/cc.log"; then
		ok "README example builds against the installed tree"
		head -c 1048576 /dev/zero > "$tmp/disk"
		out=$(LD_LIBRARY_PATH="$tmp/usr-tree/usr/lib" "$tmp/example" "$tmp/disk")
		case $out in *": up (ok, "*) ok "it runs: $out" ;; *) bad "it printed: $out" ;; esac
		if LD_LIBRARY_PATH="$tmp/usr-tree/usr/lib" ldd "$tmp/example" | grep -q "$tmp/usr-tree/usr/lib/libpathcheck.so.0"; then
			ok "it links the installed libpathcheck.so.0"
		else bad "it does not link the installed library"; fi
	else
		cat "$tmp/cc.log"; bad "README example does not build with pkg-config"
	fi
	for f in usr/share/man/man8/pathcheck.8 usr/share/man/man3/pc_check.3 \
		 usr/share/man/man1/pathsim.1 usr/share/man/man5/pathcheckd.conf.5 \
		 usr/share/doc/pathcheck/pathsim.md usr/share/doc/pathcheck/performance.md; do
		[ -f "$tmp/usr-tree/$f" ] || bad "not installed: $f"
	done
	if grep -q '/usr/share/doc/pathcheck/pathsim.md' "$tmp/usr-tree/usr/share/man/man1/pathsim.1"; then
		ok "pathsim.1 cites the installed pathsim.md"
	else bad "pathsim.1 does not cite DOCDIR/pathsim.md"; fi
	for m in man8/pathcheckd.8 man1/pathcheck-stress.1; do
		if grep -q '/usr/share/doc/pathcheck/performance.md' "$tmp/usr-tree/usr/share/man/$m" &&
		   ! grep -q 'docs/performance.md' "$tmp/usr-tree/usr/share/man/$m"; then
			ok "${m#*/} cites the installed performance.md"
		else bad "${m#*/} does not cite DOCDIR/performance.md"; fi
	done
fi

echo "--- install: the default prefix again"
# A directory that was there before the install: uninstall leaves it.
mkdir -p "$tmp/local-tree/usr/local/share/man/man1"
if m install DESTDIR="$tmp/local-tree" >"$tmp/log" 2>&1 &&
   grep -qx 'prefix=/usr/local' "$tmp/local-tree/usr/local/lib/pkgconfig/pathcheck.pc"; then
	ok "plain make install: pathcheck.pc says /usr/local"
else cat "$tmp/log"; bad "plain make install after PREFIX=/usr"; fi

echo "--- uninstall leaves nothing behind"
for t in usr-tree:/usr local-tree:/usr/local; do
	tree=$tmp/${t%%:*} prefix=${t#*:}
	[ -d "$tree" ] || continue
	before=$(find "$tree" -type f -o -type l | wc -l)
	if [ "$prefix" = /usr ]; then m uninstall PREFIX=/usr DESTDIR="$tree" >/dev/null 2>&1
	else m uninstall DESTDIR="$tree" >/dev/null 2>&1; fi
	left=$(find "$tree" -type f -o -type l)
	if [ -z "$left" ] && [ "$before" -gt 30 ]; then ok "$prefix: $before files installed, 0 left"
	else echo "$left" | sed 's/^/    left: /'; bad "$prefix: make uninstall left files"; fi
	dirs=$(cd "$tree" && find . -mindepth 1 -type d | sort | tr '\n' ' ')
	if [ "$prefix" = /usr ]; then want=""
	else want="./usr ./usr/local ./usr/local/share ./usr/local/share/man ./usr/local/share/man/man1 "; fi
	if [ "$dirs" = "$want" ]; then ok "$prefix: no directory of the install left${want:+, the one that was there kept}"
	else echo "    directories: $dirs"; echo "    expected:    $want"; bad "$prefix: make uninstall left directories"; fi
done

echo "install: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
