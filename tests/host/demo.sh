#!/bin/bash
# `make demo` keeps showing what it promises: the rogue writer denied, the
# denial in the audit trail, the image writable after release. TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=$(tools/demo 2>&1 | tr -d '\r')
status=$?
n=0 failed=0
check() { # check NAME PATTERN
	n=$((n + 1))
	if grep -qE "$2" <<<"$out"; then echo "ok $n - $1"
	else echo "not ok $n - $1: no line matching '$2' in the demo's output"; failed=1; fi
}
echo "1..5"
check demo_rogue_dd_is_denied "dd: failed to open .*vm1.raw.: Permission denied"
check demo_audit_shows_the_denial "deny open-write +[0-9]+ +0 +dd "
check demo_lists_the_lease_of_the_stand_in_vm "exclusive +fcntl +pid [0-9]+ \(bash\)"
check demo_image_is_writable_after_release "^   -> allowed"
n=$((n + 1))
if [ "$status" -eq 0 ]; then echo "ok $n - demo_exits_zero"
else echo "not ok $n - demo_exits_zero: exit status $status"; failed=1; fi
[ "$failed" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
exit $failed
