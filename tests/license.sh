#!/bin/sh
# SPDX-License-Identifier: MIT
# The license: LICENSE is the MIT license of "the pathcheck authors", every
# C file carries an SPDX tag, every SPDX tag says MIT, and debian/copyright
# agrees.  Prints "license: P passed, F failed, S skipped".
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0
ok() { echo "  ok: $*"; pass=$((pass + 1)); }
bad() { echo "  FAILED: $*"; fail=$((fail + 1)); }

if [ -f LICENSE ] && head -1 LICENSE | grep -qx 'MIT License' &&
   grep -q '^Copyright (c) .* the pathcheck authors$' LICENSE &&
   grep -q 'Permission is hereby granted, free of charge' LICENSE; then
	ok "LICENSE: MIT, the pathcheck authors"
else bad "LICENSE missing or not the MIT license of the pathcheck authors"; fi

missing=$(find src include tools tests -name '*.[ch]' | while read -r f; do
	head -3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"; done)
[ -z "$missing" ] && ok "every C file has SPDX-License-Identifier: MIT" ||
	{ echo "$missing" | sed 's/^/    no tag: /'; bad "C files without an SPDX tag"; }

other=$(grep -rIl --exclude-dir=.git --exclude-dir='build*' 'SPDX-License-Identifier:' . |
	xargs grep -h 'SPDX-License-Identifier:' | grep -v 'SPDX-License-Identifier: MIT\b' |
	grep -v "grep\|'SPDX" || true)
[ -z "$other" ] && ok "every SPDX tag says MIT" || { echo "$other" | sed 's/^/    /'; bad "a tag is not MIT"; }

if grep -q '^License: MIT$' debian/copyright && grep -q 'the pathcheck authors' debian/copyright; then
	ok "debian/copyright: MIT, the pathcheck authors"
else bad "debian/copyright disagrees with LICENSE"; fi

echo "license: $pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
