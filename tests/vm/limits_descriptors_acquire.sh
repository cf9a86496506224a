#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Descriptors running out during an acquire (each lease keeps its backend
# lock open): the acquire that cannot get one, or that the daemon refuses
# first because the limit leaves no room for it (lockwardend(8),
# descriptors), is refused as a resource limit
# naming descriptors (not as "image not found" or a backend failure), the
# daemon logs it with what to raise, no lease is half-taken, and once a
# lease is released the next acquire succeeds. TAP output. Needs root and
# the BPF-LSM kernel (tests/vm/run).
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..6"

# the daemon under a low limit: soft = hard = 128
printf '#!/bin/bash\nulimit -Sn 128 && ulimit -Hn 128 && exec %q "$@"\n' "$daemon_bin" >"$work/lowfd"
chmod 755 "$work/lowfd"
daemon_bin=$work/lowfd
check daemon_starts_under_a_low_descriptor_limit start_daemon A --backend fcntl

mkdir "$work/images"
start_holder holder
held=0 out="" status=0
for i in $(seq 120); do
	: >"$work/images/$i.img"
	out=$(lw A acquire "$work/images/$i.img" --pid "$holder" 2>&1); status=$?
	[ $status -ne 0 ] && break
	held=$((held + 1))
done
why="expected an acquire refused for want of descriptors after some leases, got $held leases, last status $status: $out"
# the room it names is what fits now: the leases held, or one less once
# the holder's pidfd is counted too (which of the two depends on how many
# descriptors the daemon itself holds)
check an_acquire_beyond_the_descriptors_is_refused_as_a_resource_limit \
	failed_with "out of file descriptors\|descriptor limit (128) leaves room for \($held\|$((held - 1))\) leases"
refused=$work/images/$((held + 1)).img

why="expected a log line naming the refused image and LimitNOFILE, got: $(grep -i descriptor "$work/A/daemon.log" | tail -n 3)"
check running_out_during_an_acquire_is_logged \
	grep -Eq "acquire $refused refused: (out of file descriptors|the descriptor limit 128).*raise LimitNOFILE" "$work/A/daemon.log"

got=$(count_leases A)
why="expected the $held leases taken before, and none half-taken, got $got"
check no_lease_is_half_taken [ "$got" = "$held" ]

lw A release "$work/images/1.img" --pid "$holder" >/dev/null 2>&1
out=$(lw A acquire "$refused" --pid "$holder" 2>&1); status=$?
why="expected the refused image leased once a lease was released, got status $status: $out"
check acquire_succeeds_again_once_a_lease_is_released [ $status -eq 0 ]

got=$(count_leases A)
why="expected $held leases after one release and one acquire, got $got"
check the_table_counts_what_was_granted [ "$got" = "$held" ]
