#!/bin/sh
# SPDX-License-Identifier: MIT
# The Debian packages on this machine: `make deb` (without -Werror),
# lintian (no errors), dpkg -i of the four packages, pathcheck --version,
# the unit enabled but not started, the docs the man pages cite shipped
# under those names, the README's embedding example built with pkg-config
# against the installed libpathcheck-dev (shared and static); the service
# restarted by an upgrade when it runs and left stopped when it does not,
# stopped on removal; then dpkg -r and dpkg --purge leave nothing of what
# they installed, nor the daemon's metrics textfile and /var/lib/pathcheckd.
# Needs root, dpkg and unshare; slow for make check (a package build), so
# .ci/run runs it.
#
# What the maintainer scripts do to the service is seen through a fake
# deb-systemd-invoke and systemctl first on PATH, which record each call and
# keep the service's state (running or stopped) in a file; dpkg runs in a
# mount namespace of its own with /run/systemd/system present, so that the
# scripts take their systemd branch whether or not systemd runs here.
#   tests/pkg/deb.sh [DIR]   DIR: the .deb files already built (no make deb)
# Prints "deb: P passed, F failed, S skipped".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0 skip=0
ok() { echo "  ok: $*"; pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }
finish() { echo "deb: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }
pkgs="libpathcheck0 libpathcheck-dev pathcheckd pathcheck-tools"
# pathcheck-multipath goes in beside multipath-tools (its Depends), when
# that is installed here (scripts/deps.sh ci installs it).
mpt_why="multipath-tools is not installed (apt-get install multipath-tools)"
if dpkg-query -W -f='${Status}' multipath-tools 2>/dev/null | grep -q ' installed$'; then
	pkgs="$pkgs pathcheck-multipath" mpt_why=""
fi

if [ "$(id -u)" -ne 0 ] || ! command -v dpkg >/dev/null 2>&1 || ! command -v unshare >/dev/null 2>&1; then
	echo "  SKIPPED: needs root, dpkg and unshare to install packages"; skip=1; finish
fi
for p in $pkgs; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed\|config-files'; then
		echo "  SKIPPED: $p is already on this machine; not touching it"; skip=1; finish
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-deb.XXXXXX") || exit 1
installed=""
cleanup() {
	# Whatever happened: leave the machine as it was.
	[ -n "$installed" ] && dpkg_retry --purge $pkgs >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
# --- a fake service manager, and dpkg as under systemd --------------------------
fake=$tmp/fake
mkdir -p "$fake/bin"
cat > "$fake/bin/deb-systemd-invoke" <<EOF
#!/bin/sh
echo "deb-systemd-invoke \$*" >> "$fake/calls"
state=\$(cat "$fake/state" 2>/dev/null || echo stopped)
case \$1 in
start) echo running > "$fake/state" ;;
restart) echo running > "$fake/state"; echo "(restarted)" >> "$fake/calls" ;;
try-restart) [ "\$state" != running ] || echo "(restarted)" >> "$fake/calls" ;;
stop) echo stopped > "$fake/state" ;;
esac
exit 0
EOF
# Only what reaches the service manager is faked; what works on files
# (deb-systemd-helper's `systemctl --root=/ preset`) goes to the real one.
real_systemctl=$(command -v systemctl || true)
cat > "$fake/bin/systemctl" <<EOF
#!/bin/sh
echo "systemctl \$*" >> "$fake/calls"
case "\$*" in *--root=*) [ -z "$real_systemctl" ] || exec "$real_systemctl" "\$@" ;; esac
exit 0
EOF
chmod 0755 "$fake/bin/deb-systemd-invoke" "$fake/bin/systemctl"
# service STATE: the state the fake starts the next step with; no calls yet.
service() { echo "$1" > "$fake/state"; : > "$fake/calls"; }
# The calls of the step, daemon-reloads left out, ';'-separated.
calls() { grep -v 'daemon-reload' "$fake/calls" | tr '\n' ';' | sed 's/;$//'; }
state() { cat "$fake/state"; }
nsdpkg() {
	unshare --mount --propagation private sh -c '
		mount -t tmpfs -o size=1m,mode=0755 pc-deb-run /run &&
		mkdir -p /run/systemd/system && PATH="$0:$PATH" exec dpkg "$@"' "$fake/bin" "$@"
}
service stopped

# Another process may hold the dpkg lock for a while: retry.
dpkg_retry() {
	i=0
	while :; do
		out=$(nsdpkg "$@" 2>&1) && { echo "$out"; return 0; }
		case $out in *lock*) ;; *) echo "$out"; return 1 ;; esac
		i=$((i + 1)); [ $i -ge 60 ] && { echo "$out"; return 1; }
		sleep 2
	done
}

debs=${1:-}
if [ -z "$debs" ]; then
	debs=$tmp/out
	echo "=== make deb"
	unset MAKEFLAGS MFLAGS MAKELEVEL
	git=""
	[ -e "$top/.git" ] && command -v git >/dev/null 2>&1 && git=yes
	[ -n "$git" ] && git -C "$top" status --porcelain --ignored > "$tmp/status.before"
	# Not -s: the compile lines (V=1 in debian/rules) go to the log.
	if make -C "$top" deb DEBOUT="$debs" >"$tmp/build.log" 2>&1; then ok "make deb"
	else tail -40 "$tmp/build.log"; bad "make deb"; finish; fi
	# The compile lines are in the log (V=1): none with -Werror.
	n=$(grep -c ' -c -o .*\.o ' "$tmp/build.log")
	if [ "$n" -gt 0 ] && ! grep ' -c -o .*\.o ' "$tmp/build.log" | grep -q -- '-Werror\( \|$\)'; then
		ok "built without -Werror ($n compiles)"
	else bad "the package build uses -Werror (or no compile line in the log: $n)"; fi
	# The source tree stays as it was.
	if [ -n "$git" ]; then
		git -C "$top" status --porcelain --ignored > "$tmp/status.after"
		if cmp -s "$tmp/status.before" "$tmp/status.after"; then ok "the source tree is left as it was"
		else diff "$tmp/status.before" "$tmp/status.after"; bad "make deb changed the source tree"; fi
	fi
fi
files=""
for p in $pkgs; do
	f=$(ls "$debs"/${p}_*.deb 2>/dev/null | head -1)
	[ -n "$f" ] || { bad "no $p package in $debs"; finish; }
	files="$files $f"
done

echo "--- lintian"
if command -v lintian >/dev/null 2>&1; then
	lintian --tag-display-limit 0 $files >"$tmp/lintian" 2>&1
	sed 's/^/    /' "$tmp/lintian"
	if grep -q '^E:' "$tmp/lintian"; then bad "lintian reports errors"; else ok "lintian: no errors"; fi
else
	echo "  SKIPPED: lintian is not installed"; skip=$((skip + 1))
fi

echo "--- dpkg -i"
# shellcheck disable=SC2086
if dpkg_retry -i $files >"$tmp/install.log" 2>&1; then installed=yes; ok "dpkg -i$(for p in $pkgs; do printf ' %s' "$p"; done)"
else cat "$tmp/install.log"; bad "dpkg -i"; finish; fi
for p in $pkgs; do dpkg-query -L "$p"; done | sort -u > "$tmp/owned"
v=$(cat "$top/VERSION")
out=$(pathcheck --version 2>&1)
[ "$out" = "pathcheck $v" ] && ok "pathcheck --version: $out" || bad "pathcheck --version: $out"
[ "$(command -v pathcheck)" = /usr/bin/pathcheck ] || bad "pathcheck is $(command -v pathcheck)"
for t in /usr/sbin/pathcheckd /usr/bin/pathsim /usr/bin/pathcheck-stress; do
	o=$($t --version 2>&1); [ "$o" = "$(basename $t) $v" ] || bad "$t --version: $o"
done
[ -f /etc/pathcheckd.conf ] && /usr/sbin/pathcheckd -t -c /etc/pathcheckd.conf >/dev/null &&
	ok "/etc/pathcheckd.conf is valid, every setting commented" || bad "/etc/pathcheckd.conf"
grep -qx '/etc/pathcheckd.conf' /var/lib/dpkg/info/pathcheckd.conffiles 2>/dev/null &&
	ok "/etc/pathcheckd.conf is a conffile" || bad "/etc/pathcheckd.conf is not a conffile"
if [ -L /etc/systemd/system/multi-user.target.wants/pathcheckd.service ]; then ok "pathcheckd.service enabled"
else bad "pathcheckd.service is not enabled"; fi
# Not started: the maintainer scripts never start it, and no process runs it.
c=$(calls)
case $c in *start*) bad "the first install started the service: $c" ;;
*) ok "the first install does not start the service (calls: ${c:-none}; $(state))" ;; esac
running=$(for e in /proc/[0-9]*/exe; do [ "$(readlink "$e" 2>/dev/null)" = /usr/sbin/pathcheckd ] && echo "$e"; done)
[ -z "$running" ] && ok "no /usr/sbin/pathcheckd process" || bad "/usr/sbin/pathcheckd runs: $running"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	st=$(systemctl is-active pathcheckd.service 2>&1)
	[ "$st" = inactive ] && ok "pathcheckd.service not started" || bad "pathcheckd.service is $st"
else
	echo "  SKIPPED: systemd is not running here: cannot tell whether the unit was started"
	skip=$((skip + 1))
fi
for m in pathcheck.8 pathcheckd.8 pathcheckd.conf.5 pathsim.1 pathcheck-stress.1 pc_check.3; do
	man -w "${m%.*}" >/dev/null 2>&1 || [ -f "/usr/share/man/man${m##*.}/$m.gz" ] || bad "no man page $m"
done

# The docs that the man pages cite are shipped, under the names they cite
# (pathsim.md, not pathsim.md.gz); one named by its place in the source is
# shipped under its own name.
for m in pathsim.1 pathcheck-stress.1 pathcheckd.8; do
	page=$(zcat "/usr/share/man/man${m##*.}/$m.gz")
	for d in $(echo "$page" | grep -o '/usr/share/doc/[^ ]*\.md' | sort -u); do
		[ -f "$d" ] && ok "$m cites $d, shipped" || bad "$m cites $d, not shipped"
	done
	for d in $(echo "$page" | grep -o 'docs/[a-z]*\.md' | sort -u); do
		grep -q "^/usr/share/doc/[^/]*/${d#docs/}\$" "$tmp/owned" && ok "$m names $d, shipped as $(grep "/${d#docs/}\$" "$tmp/owned" | head -1)" ||
			bad "$m names $d, not shipped under that name"
	done
done

echo "--- upgrade: restarts a running service, leaves a stopped one stopped"
# A second version of pathcheckd: the same files, a higher version.
pcd=$(ls "$debs"/pathcheckd_*.deb | head -1)
ver=$(dpkg-deb -f "$pcd" Version)
mkdir -p "$tmp/up"
dpkg-deb -R "$pcd" "$tmp/up/root" || bad "dpkg-deb -R $pcd"
for n in 1 2; do
	sed -i "s/^Version: .*/Version: $ver+up$n/" "$tmp/up/root/DEBIAN/control" &&
	dpkg-deb --root-owner-group -b "$tmp/up/root" "$tmp/up/pathcheckd-$n.deb" >/dev/null || bad "version $ver+up$n"
done
service running
if dpkg_retry -i "$tmp/up/pathcheckd-1.deb" >"$tmp/up.log" 2>&1; then
	c=$(calls)
	case "$c;" in *"try-restart pathcheckd.service;(restarted);"*)
		case $c in *" stop "*) bad "upgrade of a running service: stopped it: $c" ;;
		*) ok "upgrade $ver -> $ver+up1 of a running service: restarted ($c)" ;; esac ;;
	*) bad "upgrade of a running service: not restarted: $c" ;; esac
	[ "$(state)" = running ] || bad "upgrade of a running service: now $(state)"
	[ "$(dpkg-query -W -f='${Version}' pathcheckd)" = "$ver+up1" ] || bad "pathcheckd is not $ver+up1"
else cat "$tmp/up.log"; bad "dpkg -i of $ver+up1"; fi
service stopped
if dpkg_retry -i "$tmp/up/pathcheckd-2.deb" >"$tmp/up.log" 2>&1; then
	c=$(calls)
	case $c in *"(restarted)"*|*"deb-systemd-invoke start"*) bad "upgrade of a stopped service started it: $c" ;;
	*) [ "$(state)" = stopped ] && ok "upgrade $ver+up1 -> $ver+up2 of a stopped service: left stopped ($c)" ||
		bad "a stopped service is $(state) after an upgrade" ;; esac
else cat "$tmp/up.log"; bad "dpkg -i of $ver+up2"; fi

echo "--- pathcheck-multipath: the plugin where multipathd looks, loaded by the 0.9 driver"
if [ -n "$mpt_why" ]; then
	echo "  SKIPPED: $mpt_why"; skip=$((skip + 1))
elif [ ! -x "$top/build/tests/multipath_09" ] &&
	! make -C "$top" -s build/tests/multipath_09 >"$tmp/mpt-build.log" 2>&1; then
	tail -20 "$tmp/mpt-build.log"; bad "cannot build build/tests/multipath_09, the plugin's driver"
else
	so=/lib/multipath/libcheckpathcheck.so
	[ -f "$so" ] && [ -f "$(dirname "$(readlink -f /lib/multipath/libcheckdirectio.so)")/libcheckpathcheck.so" ] &&
		ok "$so beside multipath-tools' checkers" || bad "$so is not where libcheckdirectio.so is"
	case $(ldd "$so" | sed -n 's/.*libpathcheck.so.0 => \([^ ]*\).*/\1/p') in
	/usr/lib/*/libpathcheck.so.0|/lib/*/libpathcheck.so.0) ok "$so links the installed libpathcheck" ;;
	*) bad "$so does not link the installed libpathcheck" ;; esac
	if (cd "$top" && PC_MPT_PLUGIN=$so build/tests/multipath_09 healthy_up) > "$tmp/mpt.log" 2>&1 &&
		grep -q 'all 8 up' "$tmp/mpt.log"; then ok "the installed plugin: $(grep 'all 8 up' "$tmp/mpt.log" | sed 's/^ *//')"
	elif grep -q 'SKIP' "$tmp/mpt.log"; then
		echo "  SKIPPED: $(grep SKIP "$tmp/mpt.log" | head -1)"; skip=$((skip + 1))
	else sed 's/^/    /' "$tmp/mpt.log" | tail -20; bad "the installed plugin through the driver"; fi
fi

echo "--- the README example against the installed libpathcheck-dev"
sed -n '/^<!-- embed-example -->$/,/^```$/p' "$top/README.md" | sed '1,2d;$d' > "$tmp/example.c"
flags=$(pkg-config --cflags --libs pathcheck) || bad "pkg-config pathcheck"
echo "  pkg-config: $flags"
head -c 1048576 /dev/zero > "$tmp/disk"
# shellcheck disable=SC2086
if cc -Wall -Werror -o "$tmp/example" "$tmp/example.c" $flags 2>&1; then
	o=$("$tmp/example" "$tmp/disk")
	case $o in *": up (ok, "*) ok "shared: $o" ;; *) bad "shared example printed: $o" ;; esac
	lib=$(ldd "$tmp/example" | sed -n 's/.*libpathcheck.so.0 => \([^ ]*\).*/\1/p')
	case $lib in /usr/lib/*/libpathcheck.so.0|/lib/*/libpathcheck.so.0) ;;
	*) bad "linked to '$lib', not the installed library" ;; esac
else bad "the example does not build with pkg-config"; fi
# shellcheck disable=SC2086
if cc -Wall -Werror -static -o "$tmp/example-static" "$tmp/example.c" \
	$(pkg-config --static --cflags --libs pathcheck) 2>"$tmp/static.log"; then
	o=$("$tmp/example-static" "$tmp/disk")
	case $o in *": up (ok, "*) ok "static: $o" ;; *) bad "static example printed: $o" ;; esac
else
	sed 's/^/    /' "$tmp/static.log" | tail -5; bad "the example does not link statically (pkg-config --static)"
fi

echo "--- what the daemon writes: a hold, the metrics textfile"
# The installed daemon, run by hand on a file path, with a textfile named
# in /etc/pathcheckd.conf: a hold lands in /var/lib/pathcheckd, and the
# clean stop leaves pathcheck_daemon_up 0 in the textfile.
mkdir -p "$tmp/textfile"
echo "# not pathcheckd's" > "$tmp/textfile/other.prom"
printf 'interval 1s\npath %s\nmetrics_file %s\n' "$tmp/disk" "$tmp/textfile/pathcheckd.prom" >> /etc/pathcheckd.conf
/usr/sbin/pathcheckd -f --log stderr -s "$tmp/pcd.sock" 2>"$tmp/pcd.log" &
pcdpid=$!
i=0; until grep -q 'pathcheckd: ready' "$tmp/pcd.log" || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
pathcheck -s "$tmp/pcd.sock" fail path disk >/dev/null 2>&1 || bad "fail path disk: $(cat "$tmp/pcd.log")"
pathcheck -s "$tmp/pcd.sock" shutdown >/dev/null 2>&1; wait $pcdpid
if [ -s /var/lib/pathcheckd/holds ] && grep -q '^pathcheck_daemon_up 0' "$tmp/textfile/pathcheckd.prom"; then
	ok "the daemon wrote /var/lib/pathcheckd/holds and its textfile (pathcheck_daemon_up 0)"
else cat "$tmp/pcd.log"; bad "the daemon did not write its hold and textfile"; fi

echo "--- dpkg -r, then dpkg --purge"
service running
# shellcheck disable=SC2086
dpkg_retry -r $pkgs >"$tmp/remove.log" 2>&1 || { cat "$tmp/remove.log"; bad "dpkg -r"; }
c=$(calls)
case $c in *"deb-systemd-invoke stop pathcheckd.service"*) [ "$(state)" = stopped ] &&
	ok "dpkg -r stops the service ($c)" || bad "dpkg -r: the service is $(state)" ;;
*) bad "dpkg -r does not stop the service: ${c:-no call}" ;; esac
left=$(while read -r f; do if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then echo "$f"; fi; done < "$tmp/owned" | grep -v '^$' || true)
[ "$left" = /etc/pathcheckd.conf ] && ok "dpkg -r: only the conffile stays" ||
	{ echo "$left" | sed 's/^/    left: /'; bad "dpkg -r left more than the conffile"; }
# shellcheck disable=SC2086
dpkg_retry --purge $pkgs >"$tmp/purge.log" 2>&1 && installed="" || { cat "$tmp/purge.log"; bad "dpkg --purge"; }
left=$(while read -r f; do if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then echo "$f"; fi; done < "$tmp/owned" | grep -v '^$' || true)
[ -L /etc/systemd/system/multi-user.target.wants/pathcheckd.service ] && left="$left enable-link"
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case $st in ""|*not-installed) ;; *) left="$left $p($st)" ;; esac
done
if [ -z "$(echo "$left" | tr -d ' ')" ]; then ok "dpkg --purge: nothing left ($(wc -l < "$tmp/owned") paths were owned)"
else echo "$left" | sed 's/^/    left: /'; bad "dpkg --purge left files"; fi
if [ ! -e "$tmp/textfile/pathcheckd.prom" ] && [ ! -e /var/lib/pathcheckd ] && [ -f "$tmp/textfile/other.prom" ]; then
	ok "dpkg --purge removed the metrics textfile and /var/lib/pathcheckd, and nothing else there"
else
	ls -la "$tmp/textfile" /var/lib/pathcheckd 2>&1 | sed 's/^/    /'
	bad "dpkg --purge left the daemon's textfile or /var/lib/pathcheckd (or took another file)"
fi
finish
