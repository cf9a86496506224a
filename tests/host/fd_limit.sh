#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The descriptor limit, natively (fanotify enforcer, nop backend). The
# daemon counts 2 descriptors a lease here (fanotify's), a pidfd a holder
# process, 2 a connection open now and what it keeps for itself; past
# the room its limit leaves, an acquire is refused with the reason and a
# log line, before a descriptor runs out where nobody could say so
# (fanotify's answering thread then cannot read an event, and the kernel
# denies that open, even the holder's). At the cap the daemon still
# answers, enforces (a rogue write denied, a read allowed), and a release
# makes room again. After kill -9 and a restart with every lease taken
# back, the room is the same (the descriptors the enforcer takes back for
# the leases are not counted twice).
# TAP output. Needs root.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || [ ! -x "$top/build/bench/lease_fill" ]; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root and a build (make all test-bins)"; exit 1
fi
echo "1..10"

limit=600
ulimit -n $limit || { not_ok prerequisites "ulimit -n $limit failed"; exit 1; }
printf '[daemon]\nmax_clients = 32\n' >"$work/small.conf"
start_daemon a --enforcer fanotify --backend nop --config "$work/small.conf"
check daemon_starts_under_a_low_descriptor_limit wait_answers a
counts() { lw a status --json 2>&1 | "$py" -c 'import json, sys; s = json.load(sys.stdin); print(s["leases"], s["max_images"])'; }
# with one connection (status's own). A lease takes a descriptor here; the
# fill's process takes two pidfds (the holder watch's, the fanotify
# enforcer's) and its connection two descriptors: fill short of the room,
# then take extras until the refusal
room=$(counts | cut -d' ' -f2)
mkdir -p "$work/images"
fill=$((room - 8))
"$top/build/bench/lease_fill" --socket "$(sock a)" --images "$work/images" --leases $fill >"$work/fill.log" 2>&1 &
children+=($!)
why="lease_fill did not fill $fill leases (status said room for $room) in 120 s: $(tail -n 2 "$work/fill.log" 2>/dev/null | tr '\n' ' ')"
check fills_up_to_the_room_status_shows wait_until 120 grep -q ready "$work/fill.log"

# the fill's own process holds the extras: a new holder's pidfd would take
# room of its own
h=$(pgrep -f "lease_fill --socket $(sock a)")
for i in $(seq 10); do
	extra=$(new_image "extra$i.img")
	out=$(lw a acquire "$extra" --pid "$h" 2>&1) || break
done
got=$(counts)
held=${got% *}
why="expected an acquire past the room to fail naming the limit and the $held leases held, got: $out"
check acquire_past_the_room_is_refused_with_the_reason \
	grep -q "descriptor limit ($limit) leaves room for $held leases" <<<"$out"
why="no log line: $(tail -n 2 "$work/a/daemon.log" | tr '\n' ' ')"
check the_refusal_is_logged grep -q "acquire $extra refused: the descriptor limit $limit" "$work/a/daemon.log"
why="expected status to show $held leases of at most $held (as many connections as at the refusal), got: $got"
check status_shows_the_room_it_refused_at [ "$got" = "$held $held" ]
leased=$(ls "$work"/images/img* | head -n 1)
why="a rogue write of a leased image got through at the cap"
check rogue_write_denied_at_the_cap not dd if=/dev/zero of="$leased" bs=512 count=1 conv=notrunc status=none 2>/dev/null
why="a read of a leased image was refused at the cap"
check read_allowed_at_the_cap dd if="$leased" of=/dev/null bs=512 count=1 status=none
lw a release "$leased" --pid "$h" >/dev/null 2>&1
out=$(lw a acquire "$extra" --pid "$h" 2>&1); status=$?
why="after a release, expected the acquire to succeed, got $status: $out"
check a_release_makes_room_again [ $status -eq 0 ]

before=$(counts)
kill9_daemon a
start_daemon a --enforcer fanotify --backend nop --config "$work/small.conf"
adopted() { [ "$(counts | cut -d' ' -f1)" = "${before% *}" ] && grep -q "adopted" "$work/a/daemon.log"; }
why="the restarted daemon did not adopt ${before% *} leases in 60 s: $(tail -n 2 "$work/a/daemon.log" | tr '\n' ' ')"
check daemon_restarts_with_every_lease wait_until 60 adopted
after=$(counts)
# the same within 2: the enforcer's own descriptors are estimated after a
# restart; counting the leases' twice would take room for half of them
why="expected the same leases and room (within 2) after the restart as before ($before), got: $after"
same_room() { [ "${after% *}" = "${before% *}" ] && ((${after#* } - ${before#* } <= 2 && ${before#* } - ${after#* } <= 2)); }
check room_is_the_same_after_a_restart same_room
