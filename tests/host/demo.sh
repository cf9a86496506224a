#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `make demo` keeps showing what it promises, on both of its paths: natively
# (bpf-lsm where the host kernel runs it, else fanotify) and in the VM
# (`make demo VM=1`, bpf-lsm): the enforcer named, the rogue writer denied,
# the denial in the audit trail, the image writable after release. TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0 failed=0
check() { # check NAME PATTERN
	n=$((n + 1))
	if grep -qE "$2" <<<"$out"; then echo "ok $n - $1"
	else echo "not ok $n - $1: no line matching '$2' in the demo's output"; failed=1; fi
}
run_path() { # run_path NAME ENFORCER_PATTERN DENIED_PATTERN [ARG]
	local name=$1 enforcer=$2 denied=$3 status
	out=$(tools/demo ${4:-} 2>&1 | tr -d '\r')
	status=${PIPESTATUS[0]}
	check "${name}_says_enforcer_in_use" "^enforcer: +($enforcer)\$"
	check "${name}_rogue_dd_is_denied" "dd: failed to open .*vm1.raw.: ($denied)"
	check "${name}_audit_shows_the_denial" "deny open-write +[0-9]+ +0 +dd "
	check "${name}_lists_the_lease_of_the_stand_in_vm" "exclusive +fcntl +pid [0-9]+ \(bash\)"
	check "${name}_image_is_writable_after_release" "^   -> allowed"
	n=$((n + 1))
	if [ "$status" -eq 0 ]; then echo "ok $n - ${name}_exits_zero"
	else echo "not ok $n - ${name}_exits_zero: exit status $status"; failed=1; fi
	[ "$failed" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/# /'
}
echo "1..12"
# natively: bpf-lsm denies with EACCES, fanotify with EPERM
run_path demo_native "bpf-lsm|fanotify" "Permission denied|Operation not permitted"
run_path demo_vm "bpf-lsm" "Permission denied" --vm
exit $failed
