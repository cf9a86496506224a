#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The VM harness itself: the guest has BPF LSM, sees the host and the
# repository, loads the kernel's modules, returns files, exit status, and a
# hung guest is killed with a message. TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
out=$(mktemp -d "$top/build/harness-test.XXXXXX")
trap 'rm -rf "$out"' EXIT
n=0 failed=0
check() { # check NAME CONDITION-STATUS [DETAIL]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1${3:+: $3}"; failed=1; fi
}
echo "1..7"

boot=$(tests/vm/run --out "$out" -- /bin/sh -c '
	echo "lsm=$(cat /sys/kernel/security/lsm)"
	[ -f "'"$top"'/tests/vm/run" ] && echo "repository=visible"
	modprobe loop && modprobe ext4 && modprobe btrfs && modprobe dm_mod && echo "modprobe=ok"
	mount | grep -q " /sys/fs/bpf type bpf" && mount | grep -q " /sys/fs/cgroup type cgroup2" && echo "mounts=ok"
	echo written >"'"$out"'/from-guest"
	exit 7' 2>&1 | tr -d '\r')
status=$?
grep -q '^lsm=.*bpf' <<<"$boot"; check guest_active_lsm_list_has_bpf $? "got: $(grep '^lsm=' <<<"$boot")"
grep -q '^repository=visible' <<<"$boot"; check guest_sees_repository_at_same_path $?
grep -q '^modprobe=ok' <<<"$boot"; check guest_modprobe_loads_loop_ext4_btrfs_dm $? "$(tail -n 3 <<<"$boot")"
grep -q '^mounts=ok' <<<"$boot"; check guest_has_bpffs_and_cgroup2 $?
[ "$(cat "$out/from-guest" 2>/dev/null)" = written ]; check files_under_out_come_back_to_host $?
[ "$status" -eq 7 ]; check command_status_becomes_harness_status $? "expected 7, got $status"

msg=$(tests/vm/run --timeout 20 --out "$out" -- sleep 1000 2>&1 >/dev/null)
status=$?
[ "$status" -eq 124 ] && grep -q 'did not finish within 20s' <<<"$msg"
check hung_guest_is_killed_with_message $? "status $status, stderr: $msg"
exit $failed
