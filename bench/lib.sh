# SPDX-License-Identifier: MIT
# Shared by the bench scripts (sourced).

# target VALUE OP LIMIT [UNIT]: "(target OP LIMIT UNIT)", and " MISSED" after it when
# VALUE does not meet it (also when VALUE is not a number: nothing measured).
# OP is one of >= <= < >.
target() {
	awk -v v="$1" -v op="$2" -v l="$3" -v u="${4:+ $4}" 'BEGIN {
		num = (v ~ /^[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/)
		x = v + 0
		ok = num && ((op == ">=" && x >= l) || (op == "<=" && x <= l) ||
			     (op == "<" && x < l) || (op == ">" && x > l))
		printf "(target %s %s%s)%s", op, l, u, ok ? "" : " MISSED"
	}'
}
