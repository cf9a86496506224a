#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Holders are watched once per process, not once per lease: a process that
# holds many leases costs the daemon one pidfd, and each lease at most one
# descriptor (its backend lock). When that holder exits every one of its
# leases is released, while another holder's leases, watched beside it,
# stay; the shared watch then goes, and a new holder is watched afresh.
# TAP output. Needs root and the BPF-LSM kernel (tests/vm/run).
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..9"

n=16
# pidfds the daemon has open, and its descriptors naming our images (one
# listing, not a readlink a descriptor: each costs a TCG guest 0.1 s)
daemon_fds() { ls -l /proc/"${daemon_pid[A]}"/fd; }
pidfds() { daemon_fds | grep -cF -- '-> anon_inode:[pidfd]'; }
image_fds() { daemon_fds | grep -cF -- "-> $work/images/"; }
# a client's connection holds a pidfd until the daemon sees it close: poll
pidfds_are() { [ "$(pidfds)" -eq "$1" ]; }
holds_none() { [ "$(held_by "$1")" -eq 0 ]; }
# leases naming PID among their holders: lines of the CLI's table (a lease
# a line; no Python in the polls: a start costs a TCG guest half a second)
held_by() { lw A list | grep -cE "(^|[ ,])pid $1( \(|,|\$)"; }

mkdir "$work/images"
for i in $(seq $n); do : >"$work/images/$i.img"; done
check daemon_answers_status_after_start start_daemon A --backend fcntl

start_holder many
start_holder other
fails=0
for i in $(seq $n); do lw A acquire "$work/images/$i.img" --pid "$many" >/dev/null 2>&1 || fails=$((fails + 1)); done
lw A acquire "$work/images/1.img" --pid "$other" >/dev/null 2>&1 && fails=$((fails + 1))	# taken: refused
: >"$work/images/other.img"
lw A acquire "$work/images/other.img" --pid "$other" >/dev/null 2>&1 || fails=$((fails + 1))
why="expected $n leases for one holder and one for another, got $(held_by "$many") and $(held_by "$other") ($fails failures)"
check one_holder_takes_many_leases_beside_another [ "$fails" -eq 0 ] && [ "$(held_by "$many")" -eq $n ] && [ "$(held_by "$other")" -eq 1 ]

why="expected 2 pidfds (one per holder process) for $((n + 1)) leases, got $(pidfds)"
check a_holder_of_many_leases_costs_one_pidfd wait_until 30 pidfds_are 2

got=$(image_fds)
why="expected at most one descriptor a lease ($((n + 1))) naming the images, got $got"
check each_lease_costs_at_most_one_descriptor [ "$got" -le $((n + 1)) ]

kill -9 "$many"
why="expected the $n leases of the killed holder released, $(held_by "$many") still held"
check every_lease_of_a_dead_holder_is_released wait_until 60 holds_none "$many"

why="expected the other holder's lease kept, it holds $(held_by "$other")"
check the_other_holder_keeps_its_lease [ "$(held_by "$other")" -eq 1 ]

why="expected the dead holder's pidfd closed (1 left), got $(pidfds)"
check the_dead_holders_pidfd_is_closed wait_until 30 pidfds_are 1

# a new process takes a freed image: watched afresh, released when it exits
start_holder next
lw A acquire "$work/images/2.img" --pid "$next" >/dev/null 2>&1
why="expected the new holder to hold image 2, it holds $(held_by "$next")"
check a_new_holder_takes_a_freed_image [ "$(held_by "$next")" -eq 1 ]
kill -9 "$other"
why="expected the killed other holder's lease released, still $(held_by "$other")"
check a_second_holder_exit_is_seen_too wait_until 60 holds_none "$other"
