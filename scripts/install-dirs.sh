#!/bin/sh
# SPDX-License-Identifier: MIT
# install-dirs.sh DESTDIR LIST DIR...: `install -d` of DESTDIR/DIR for each
# DIR, and the directories this made (not those that were there) added to
# the file DESTDIR/LIST, one a line, without DESTDIR.  `make uninstall`
# removes those once empty, and leaves alone the ones it found.
set -eu
dest=$1 list=$2
shift 2
for d in "$@"; do
	new="" p=$d
	while [ "$p" != / ] && [ ! -d "$dest$p" ]; do new="$p
$new"; p=$(dirname "$p"); done
	install -d "$dest$d"
	[ -z "$new" ] || printf '%s' "$new" >> "$dest$list"
done
[ ! -f "$dest$list" ] || { sort -u "$dest$list" > "$dest$list.new" && mv "$dest$list.new" "$dest$list"; }
