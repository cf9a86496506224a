#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every shell script of the tree parses, the guest scripts that bench/run
# and tests/vm/run carry as strings included: a script that only runs in
# `make bench` or in a guest must not wait for that run to show a syntax
# error (an apostrophe in bench/run's guest script once broke `make bench`).
# TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0 failed=0
check() { # check NAME STATUS [DETAIL]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1${3:+: $3}"; failed=$((failed + 1)); fi
}
mapfile -t scripts < <(git ls-files | while read -r f; do
	[ -f "$f" ] && head -n 1 "$f" | grep -q '^#!.*\bbash\b' && echo "$f"; done)
echo "1..$((${#scripts[@]} + 2))"
for f in "${scripts[@]}"; do
	why=$(bash -n "$f" 2>&1)
	check "$f parses" $? "$why"
done
# bench/run's guest scripts: the single-quoted strings from NAME=' to exit $status'
for name in script icount_script; do
	guest=$(sed -n "/^$name='/,/^exit \$status'/p" bench/run | sed "1s/^$name='//; \$s/'\$//")
	[ -n "$guest" ] && why=$(bash -n <<<"$guest" 2>&1)
	check "bench/run's guest script $name parses" $? "${why:-no guest script $name found}"
done
echo "# scripts_parse: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
