#!/bin/sh
# Installs the Debian packages pathcheck needs, as root, or says what to run.
#   deps.sh build   to build and test (make, make check, make run)
#   deps.sh bench   also what make bench compares against
#   deps.sh deb     also what make deb needs: debhelper, fakeroot, lintian
#   deps.sh ci      what .ci/run needs: deb's, and promtool (prometheus) and
#                   jq for the contrib/ tests, multipath-tools for the
#                   checker plugin's tests (tests/multipath_*)
set -eu
what=${1:-build}
pkgs="gcc make pkg-config libaio-dev liburcu-dev libcunit1-dev libfuse3-dev fuse3 libudev-dev btrfs-progs libedit-dev groff-base mandoc"
[ "$what" = bench ] && pkgs="$pkgs fio multipath-tools"
case $what in deb|ci) pkgs="$pkgs debhelper dpkg-dev fakeroot lintian" ;; esac
[ "$what" = ci ] && pkgs="$pkgs prometheus jq multipath-tools"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: apt-get install$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || true
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >&2
	exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: run as root: apt-get update && apt-get install -y$missing" >&2
exit 1
