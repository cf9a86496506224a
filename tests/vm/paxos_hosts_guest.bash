#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One host of tests/host/paxos_hosts.sh: run in each of three guests booted
# side by side (tests/vm/run --guests 3) on one shared raw disk, with host id
# LW_VM_GUEST. They coordinate through files in the shared output folder.
#   host 1: holds a lease host 2 is refused; its non-holder is denied by the
#           kernel; its holder killed frees the lease for host 2 at once;
#           then (once host 2 is done with host 3) its storage fails under a
#           writing holder, which is fenced (and audited) before host 2 may
#           take that lease.
#   host 2: the other side of each of those, and of host 3's death.
#   host 3: holds a lease and dies (kernel crash); host 2 takes the lease
#           after the failover time.
# TAP, one plan per guest; the host script gathers the three.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/paxos_lib.bash"
require
require_sanlock
me=${LW_VM_GUEST:?run by tests/vm/run --guests}
sync_dir=$LW_VM_OUT
# sanlock io_timeout: renewal fails after 8T, a host is dead after 8T + 60 s.
# 2, not 1: a guest starved of CPU for longer than T (three guests beside
# make check's others on two cores) can have a renewal write land after the
# next one, which sanlock then reads back as a corrupt host id lease
# (-261) and drops the lockspace; seen at T = 1, with and without this
# project's changes.
io=2
failover=$((8 * io + 60))
disk=/dev/mapper/lwshared
mb=1048576
lease() { echo "LS:$1:$disk:$(($2 * mb))"; }

signal() { : >"$sync_dir/sync.$1"; }
await() {
	local deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do [ -e "$sync_dir/sync.$1" ] && return 0; nap 0.2; done
	why="host $me: no '$1' from the other hosts within $2 s"
	return 1
}
# plan: host 1 has 10 cases, host 2 has 9, host 3 has 4
case $me in 1) echo "1..10" ;; 2) echo "1..9" ;; *) echo "1..4" ;; esac

# This host's logs (daemon, audit, sanlock's own and its debug buffer) go to
# the shared folder, which paxos_hosts.sh keeps: on exit, before
# daemon_lib's cleanup removes $work; host 3 saves them before it crashes.
save_logs() {
	local dir=$sync_dir/logs/host$me
	mkdir -p "$dir"
	cp "$work/H/daemon.log" "$work/H/audit.log" "$work/sanlock.out" /var/log/sanlock.log "$dir/" 2>/dev/null
	timeout 20 "$sanlock_bin" client log_dump >"$dir/sanlock.log_dump" 2>&1
	timeout 20 "$sanlock_bin" client status -D >"$dir/sanlock.status" 2>&1
}
trap 'save_logs; cleanup' EXIT

# Every host sees the disk through dm, so host 1 can make it fail for itself alone.
modprobe dm_mod
# (no udev in the guest: dmsetup mknodes makes the node, root:disk 0660)
dmsetup create lwshared --table "0 $(blockdev --getsz /dev/vda) linear /dev/vda 0" && dmsetup mknodes lwshared
check "host${me}_sanlock_starts" start_sanlock
if [ "$me" = 1 ]; then
	init_lockspace LS "$disk" "$io" && init_resource LS vm1 "$disk" $mb &&
		init_resource LS vm2 "$disk" $((2 * mb)) && init_resource LS vm3 "$disk" $((3 * mb)) &&
		signal init
fi
await init 120 || { not_ok "host${me}_storage_initialised" "$why"; exit 1; }
paxos_conf "$work/paxos.conf" "lockspace = LS" "lockspace_path = $disk" "host_id = $me" "io_timeout = $io"
start_daemon H --config "$work/paxos.conf" >/dev/null
check "host${me}_joins_the_lockspace" wait_lockspace H joined 120
img=$(new_image vm.img)

# acquire_until SECONDS LEASE HOLDER: retry until the acquire succeeds.
acquire_until() {
	local deadline=$((SECONDS + $1))
	while ((SECONDS < deadline)); do
		out=$(lw H acquire "$img" --pid "$3" --lease "$2" 2>&1) && return 0
		nap 0.5
	done
	why="host 2 could not acquire $2 within $1 s: $out"
	return 1
}

case $me in
1)
	start_holder h1
	out=$(lw H acquire "$img" --pid "$h1" --lease "$(lease vm1 1)" 2>&1); status=$?
	why="acquire failed ($status): $out"
	check host1_acquires_lease_vm1 [ $status -eq 0 ]
	signal host1-holds-vm1
	why="a rogue write to the image host 1 leased got through"
	check host1_non_holder_write_is_denied_by_the_kernel not rogue_write "$img"
	await host2-refused-vm1 300
	kill -KILL "$h1"; wait "$h1" 2>/dev/null
	check host1_dead_holders_lease_is_released wait_until 30 eval '[ "$(count_leases H)" = 0 ]'
	signal host1-holder-killed
	await host2-done-vm1 300

	# vm2 is taken only once host 2 is through with host 3's death (about
	# the failover time), so that host 2 tries it at once. Held through that
	# wait instead, it was lost in a clean-clone make check: host 1's guest
	# went without a successful renewal for longer than 8 * io_timeout on a
	# busy host, sanlock dropped the lockspace and stopped the lease's agent,
	# the daemon fenced the writer and joined again under a new generation,
	# and host 2's sanlock then granted vm2 at once (the owner's host id
	# lease had "mismatch"ed): host 2 was not refused (case 17) and got the
	# lease before host 1 said its writer was fenced (case 19). A guest
	# stopped for 25 s there (SIGSTOP to its qemu) does the same, every time.
	await host2-done-vm3 600
	# (a lockspace dropped in that wait is joined again by the daemon)
	wait_lockspace H joined 120
	# a holder that writes: it opens the image for write once it holds the lease
	( while [ ! -e "$work/go" ]; do nap 0.1; done; exec 3<>"$img"; exec sleep 100000 ) &
	writer=$!; children+=("$writer")
	out=$(lw H acquire "$img" --pid "$writer" --lease "$(lease vm2 2)" 2>&1); status=$?
	: >"$work/go"
	why="acquire for the writer failed ($status): $out"
	check host1_acquires_lease_vm2_for_a_writer [ $status -eq 0 ]
	wait_until 10 eval 'ls -l /proc/$writer/fd 2>/dev/null | grep -q vm.img'
	signal host1-holds-vm2
	await host2-refused-vm2 300
	# the premise of what follows: host 1 still holds vm2 under a live writer
	alive "$writer" || echo "# host 1's writer was gone before the storage failed: $(grep -m 1 'lost' "$work/H/daemon.log")"
	# the storage fails for this host alone: every I/O errors from now on
	dmsetup suspend --nolockfs lwshared && dmsetup load lwshared --table "0 $(blockdev --getsz /dev/vda) error" &&
		dmsetup resume lwshared
	lost=$SECONDS
	signal host1-storage-lost
	why="the writer still runs $((failover + 20)) s after the storage was lost"
	check host1_writer_is_fenced_after_storage_loss wait_until $((failover + 20)) not alive "$writer"
	fenced=$((SECONDS - lost))
	signal host1-writer-fenced
	echo "# storage lost -> writer fenced: ${fenced} s (others may take the lease ${failover} s after the last renewal)"
	why="fenced after ${fenced} s, not before the failover time ${failover} s"
	check host1_writer_fenced_before_the_lease_can_move [ "$fenced" -lt "$failover" ]
	why="expected a forced-release audit record saying sanlock lost the lease: $(tail -n 3 "$work/H/audit.log" 2>&1)"
	check host1_audit_records_the_fence wait_until 20 grep -q 'forced-release.*sanlock lost the lease' "$work/H/audit.log"
	why="the lost lease is still listed: $(lw H list 2>&1)"
	check host1_lost_lease_leaves_the_table wait_until 20 eval '[ "$(count_leases H)" = 0 ]'
	await host2-done 400
	;;
2)
	start_holder h2
	await host1-holds-vm1 300
	out=$(lw H acquire "$img" --pid "$h2" --lease "$(lease vm1 1)" 2>&1); status=$?
	why="expected 'lease held' while host 1 holds vm1, got $status: $out"
	check host2_refused_lease_held_by_host1 failed_with "lease held"
	signal host2-refused-vm1
	await host1-holder-killed 300
	t=$SECONDS
	check host2_acquires_after_host1_holder_dies acquire_until 30 "$(lease vm1 1)" "$h2"
	echo "# host 1's holder killed -> host 2 acquires: $((SECONDS - t)) s"
	lw H release "$img" --pid "$h2" >/dev/null 2>&1
	signal host2-done-vm1

	await host3-holds-vm3 300
	out=$(lw H acquire "$img" --pid "$h2" --lease "$(lease vm3 3)" 2>&1); status=$?
	why="expected 'lease held' while host 3 holds vm3, got $status: $out"
	check host2_refused_lease_held_by_host3 failed_with "lease held"
	signal host2-tried-vm3
	await host3-crashing 300
	t=$SECONDS
	check host2_acquires_dead_host3s_lease_after_failover acquire_until $((failover + 120)) "$(lease vm3 3)" "$h2"
	echo "# host 3 crashed -> host 2 acquires its lease: $((SECONDS - t)) s (failover time ${failover} s + up to one renewal)"
	lw H release "$img" --pid "$h2" >/dev/null 2>&1
	signal host2-done-vm3

	await host1-holds-vm2 300
	out=$(lw H acquire "$img" --pid "$h2" --lease "$(lease vm2 2)" 2>&1); status=$?
	why="expected 'lease held' while host 1 holds vm2, got $status: $out"
	check host2_refused_lease_held_by_host1_writer failed_with "lease held"
	signal host2-refused-vm2
	await host1-storage-lost 300
	t=$SECONDS
	check host2_acquires_lease_of_host1_with_lost_storage acquire_until $((failover + 120)) "$(lease vm2 2)" "$h2"
	echo "# host 1's storage lost -> host 2 acquires its lease: $((SECONDS - t)) s"
	why="host 2 got the lease before host 1's writer was fenced"
	check host2_got_it_only_after_host1_fenced_its_writer [ -e "$sync_dir/sync.host1-writer-fenced" ]
	lw H release "$img" --pid "$h2" >/dev/null 2>&1
	signal host2-done
	;;
*)
	start_holder h3
	out=$(lw H acquire "$img" --pid "$h3" --lease "$(lease vm3 3)" 2>&1); status=$?
	why="acquire failed ($status): $out"
	check host3_acquires_lease_vm3 [ $status -eq 0 ]
	signal host3-holds-vm3
	await host2-tried-vm3 300 || not_ok host3_waited_for_host2 "$why"
	ok host3_dies_holding_the_lease
	# the host dies at once: nothing more reaches the disk
	echo $((failures > 0)) >"$LW_VM_STATUS"
	save_logs
	signal host3-crashing
	sync
	echo c >/proc/sysrq-trigger
	sleep 60
	;;
esac
exit $((failures > 0))
