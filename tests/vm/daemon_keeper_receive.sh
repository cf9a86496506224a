#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The keeper may receive a leased image's write descriptor (the keeper map),
# so an acquire does not wait for it to take its copy of the lock: with the
# keeper stopped, an acquire still answers and its lease is enforced. Once
# the keeper runs again it holds the copy (it was not refused), which keeps
# the lock through a kill -9 of the daemon. An acquire again right after a
# release, while the first copy is still on its way, waits for the keeper
# rather than calling it a writer. No other process gains: a rogue
# root handed a holder's write descriptor is still refused it. The keeper
# entry changed behind the daemon's back is restored.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..11"

img=$(new_image stopped.img)
check daemon_starts start_daemon A --backend fcntl
why="the daemon says the keeper may not receive: $(grep 'before its lease exists' "$work/A/daemon.log")"
check keeper_may_receive not grep -q "before its lease exists" "$work/A/daemon.log"
keeper=$(keeper_of A)

# the holder hands a write descriptor of the image to whoever connects
"$py" - "$img" "$work/pass.sock" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[2]); s.listen(4)
while True:
    c, _ = s.accept()
    fd = os.open(sys.argv[1], os.O_RDWR)
    socket.send_fds(c, [b"x"], [fd])
    os.close(fd); c.close()
PY
h1=$!; children+=($h1)

kill -STOP "$keeper"
out=$(timeout 60 "$cli_bin" --socket "$(sock A)" acquire "$img" --pid "$h1" 2>&1); status=$?
why="acquire with the keeper stopped ($status, 124 = no answer in 60 s): $out"
check acquire_answers_with_the_keeper_stopped [ $status -eq 0 ]
why="a write open of $img got through with the keeper stopped"
check lease_is_enforced_with_the_keeper_stopped not rogue_write "$img"
kill -CONT "$keeper"

# the keeper's descriptor table: a write descriptor (O_WRONLY or O_RDWR) of the image
keeps_image() {
	local fd
	for fd in /proc/"$keeper"/fd/*; do
		[ "$(readlink "$fd")" = "$img" ] && grep -q "^flags:.*[12]$" "/proc/$keeper/fdinfo/${fd##*/}" && return 0
	done 2>/dev/null
	return 1
}
keeps_image_soon() { for _ in $(seq 100); do keeps_image && return 0; nap 0.1; done; return 1; }
why="keeper $keeper holds no write descriptor of $img: $(ls -l /proc/"$keeper"/fd 2>&1 | tail -n 5)"
check keeper_received_the_copy_after_the_lease_existed keeps_image_soon
why="the daemon logged a refused put: $(grep refused "$work/A/daemon.log")"
check keeper_refused_nothing not grep -q "refused its copy" "$work/A/daemon.log"

# acquire, release and acquire again with the keeper stopped: the first
# lock's copy is still on its way to the keeper (in no descriptor table)
# when the writers check of the second acquire counts the image's writers;
# the daemon waits for the keeper (let go 2 s later) and looks again
img2=$(new_image again.img)
start_holder h2
kill -STOP "$keeper"
out=$(timeout 60 "$cli_bin" --socket "$(sock A)" acquire "$img2" --pid "$h2" 2>&1 &&
	timeout 60 "$cli_bin" --socket "$(sock A)" release "$img2" --pid "$h2" 2>&1); status=$?
(sleep 2; kill -CONT "$keeper") &
out2=$(timeout 60 "$cli_bin" --socket "$(sock A)" acquire "$img2" --pid "$h2" 2>&1); status2=$?
kill -CONT "$keeper"
why="with the keeper stopped: acquire+release ($status): $out; the acquire again ($status2): $out2"
check acquire_again_after_a_release_with_the_keeper_stopped [ "$status:$status2" = 0:0 ]

# a rogue root connects to the holder: the kernel refuses it the descriptor
rogue_receives() {
	"$py" - "$work/pass.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
msg, fds, flags, _ = socket.recv_fds(s, 16, 1)
print(f"{len(msg)} byte(s), {len(fds)} descriptor(s)")
PY
}
out=$(rogue_receives 2>&1)
why="a rogue root connected to the holder and got: $out (want the byte, no descriptor)"
check rogue_root_is_refused_the_holders_descriptor [ "$out" = "1 byte(s), 0 descriptor(s)" ]

# the keeper entry rewritten (no keeper): the tamper check puts it back
# (bpftool prints the raw bytes, and the fields as well where the map has BTF)
keeper_entry_pid() {
	bpftool -j map lookup pinned "$(pins A)/keeper" key hex 00 00 00 00 2>&1 | "$py" -c '
import json, sys
d = json.load(sys.stdin)
v = d.get("formatted", d)["value"]
print(v["pid"] if isinstance(v, dict) else int.from_bytes(bytes(int(x, 16) for x in v[4:8]), "little"))' 2>&1
}
bpftool map update pinned "$(pins A)/keeper" key hex 00 00 00 00 value hex $(printf '00 %.0s' $(seq 24))
restored() { for _ in $(seq 100); do [ "$(keeper_entry_pid)" = "$keeper" ] && return 0; nap 0.1; done; return 1; }
restored_and_logged() {
	restored && grep -q "the keeper entry (the keeper's identity) was changed" "$work/A/daemon.log" && return 0
	why="keeper entry after 10 s: $(bpftool -j map lookup pinned "$(pins A)/keeper" key hex 00 00 00 00 2>&1), want pid $keeper; $(grep -c 'keeper entry' "$work/A/daemon.log") log line(s)"
	return 1
}
check changed_keeper_entry_is_restored_and_logged restored_and_logged

kill9_daemon A
why="nobody holds the backend lock of $img with the daemon killed (the keeper's copy)"
check keepers_copy_holds_the_lock_through_kill_9 byte0_locked "$img"
check daemon_restarts_and_readopts eval 'start_daemon A --backend fcntl && lw A list --json | grep -q "\"pid\": *$h1"'
stop_daemon A

exit $((failures > 0))
