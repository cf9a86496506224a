#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two daemons, each with its own state, socket and pins folder, sharing the
# storage: each stands in for a host. The fcntl backend makes them agree, in
# direct mode (locks on the images) and indirect mode (a shared lockspace).
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..11"

mkdir -p "$work/lockspace"
img=$(new_image shared.img)

check direct_mode_daemons_start start_daemon A --backend fcntl
check direct_mode_second_daemon_starts start_daemon B --backend fcntl

start_holder ha; start_holder hb
out=$(lw A acquire "$img" --pid "$ha" 2>&1); status=$?
why="host A acquire failed ($status): $out"
check first_host_acquires [ $status -eq 0 ]
out=$(lw B acquire "$img" --pid "$hb" 2>&1); status=$?
# in one kernel A's enforcement already denies B's write open of the image;
# the lock on byte 0 is what a daemon on another host meets
why="expected host B's acquire to fail while A holds, got $status: $out"
check second_host_acquire_fails_while_first_holds [ $status -ne 0 ]
why="nobody holds the lock on byte 0 of the image A leased"
check first_host_holds_the_lock_on_byte_0 byte0_locked "$img"
lw A release "$img" --pid "$ha" >/dev/null 2>&1
out=$(lw B acquire "$img" --pid "$hb" 2>&1); status=$?
why="expected host B's acquire to succeed after A released, got $status: $out"
check second_host_acquires_after_first_releases [ $status -eq 0 ]
lw B release "$img" --pid "$hb" >/dev/null 2>&1

out=$(lw A acquire "$img" --pid "$ha" --shared 2>&1 && lw B acquire "$img" --pid "$hb" --shared 2>&1); status=$?
why="expected shared leases on both hosts, got $status: $out"
check shared_leases_on_two_hosts_coexist [ $status -eq 0 ]
lw A release "$img" --pid "$ha" >/dev/null 2>&1; lw B release "$img" --pid "$hb" >/dev/null 2>&1

stop_daemon A; stop_daemon B
check indirect_mode_daemons_start start_daemon C --backend fcntl --lockspace "$work/lockspace"
check indirect_mode_second_daemon_starts start_daemon D --backend fcntl --lockspace "$work/lockspace"
lw C acquire "$img" --pid "$ha" >/dev/null 2>&1
out=$(lw D acquire "$img" --pid "$hb" 2>&1); status=$?
why="expected host D's acquire to fail with 'lease held' while C holds (lockspace), got $status: $out"
check indirect_second_host_acquire_fails_while_first_holds failed_with "lease held"
# the holder's death on C frees the lease for D
kill -KILL "$ha"; wait "$ha" 2>/dev/null
for _ in $(seq 50); do out=$(lw D acquire "$img" --pid "$hb" 2>&1) && break; nap 0.1; done
status=$?
why="expected host D's acquire to succeed after C's holder died, got $status: $out"
check indirect_second_host_acquires_after_first_holder_dies [ $status -eq 0 ]

exit $((failures > 0))
