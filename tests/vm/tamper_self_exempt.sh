#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon is exempt from its own enforcement by the identity it
# registers in the kernel, so it never lifts a lease: with the daemon and
# its keeper killed together (the backend lock lost), the restarted daemon
# takes the lock on the image again while the lease stays enforced. A rogue
# writer trying in a tight loop throughout never succeeds, three times over.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/tamper_lib.bash"
require
echo "1..9"

img=$(new_image leased.img)
check daemon_starts start_daemon A --backend fcntl
start_holder h
out=$(lw A acquire "$img" --pid "$h" 2>&1); status=$?
why="acquire failed ($status): $out"
check lease_taken [ $status -eq 0 ]

# the rogue: write opens as fast as it can; each success is a breach
breach=$work/breach
"$py" - "$img" "$breach" "$work/stop-rogue" <<'PY' & rogue=$!; children+=($rogue)
import os, sys
img, breach, stop = sys.argv[1:]
tries = 0
while not os.path.exists(stop):
    tries += 1
    try:
        fd = os.open(img, os.O_WRONLY)
    except OSError:
        continue
    os.close(fd)
    with open(breach, "a") as f:
        f.write("write open succeeded at try %d\n" % tries)
with open(breach + ".tries", "w") as f:
    f.write(str(tries))
PY
sleep 1

for round in 1 2 3; do
	keeper=$(keeper_of A)
	kill -KILL "${daemon_pid[A]}" "$keeper" 2>/dev/null; wait "${daemon_pid[A]}" 2>/dev/null
	start_daemon A --backend fcntl; status=$?
	out=$(lw A list --json 2>&1)
	why="round $round: after kill -9 of daemon and keeper ($keeper): start $status, list: $out"
	check "round_${round}_lease_is_readopted_after_losing_daemon_and_keeper" grep -q "\"pid\": *$h" <<<"$out"
done
why="nobody holds the lock on byte 0 of $img after the restarts"
check backend_lock_is_taken_again byte0_locked "$img"
touch "$work/stop-rogue"; wait "$rogue" 2>/dev/null
tries=$(cat "$breach.tries" 2>/dev/null)
why="the rogue made no attempts: ${tries:-none}"
check rogue_tried_throughout [ "${tries:-0}" -gt 100 ]
why="writes got through in $tries tries: $(head -n 3 "$breach" 2>/dev/null | tr '\n' ' ')"
check rogue_writer_never_succeeded [ ! -s "$breach" ]
why="the daemon lifted a lease: $(grep -i 'without enforcement' "$work/A/daemon.log")"
check daemon_never_lifts_a_lease not grep -qi "without enforcement" "$work/A/daemon.log"
