#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A connection acts only for the process that opened it: once that process
# has exited, its pid may name another process (here forced with
# ns_last_pid: a holder of someone else's lease), and a call on the old
# connection must be refused, not run for the new owner of the pid.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/limits_lib.bash"
require
echo "1..8"

make_user lwpeer
check daemon_answers_status_after_start start_daemon A --config "$(config open '[daemon]' 'socket_mode = 0666')"
victim=$(new_image victim.img)
u=$work/users/peer; mkdir -p "$u"; chown lwpeer "$u"; mkfifo "$u/go"; chmod 666 "$u/go"

# The user's process connects, makes one call (so the daemon has accepted
# and identified it), forks a child that keeps the socket, and exits.
as_user lwpeer "$py" - "$(sock A)" "$victim" "$u" >/dev/null 2>"$work/users/peer.err" <<'PY' &
import json, os, socket, sys
path, image, d = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
def call(method, params):
    s.sendall(json.dumps({"method": "io.lockwarden.Manager." + method, "parameters": params}).encode() + b"\0")
    buf = b""
    while not buf.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            return "EOF"
        buf += chunk
    return buf[:-1].decode()
first = call("Status", {})
if os.fork() == 0:
    open(d + "/go").read()          # wait until root has reused our parent's pid
    with open(d + "/reply.tmp", "w") as f:
        f.write(call("Release", {"image": image}))
    os.rename(d + "/reply.tmp", d + "/reply")
    os._exit(0)
with open(d + "/first", "w") as f:
    f.write(first)
with open(d + "/pid", "w") as f:
    f.write(str(os.getpid()))
os._exit(0)
PY
wait $!
connector=$(cat "$u/pid" 2>/dev/null)
why="the user's first call failed: $(cat "$u/first" 2>&1)"
check user_connection_answers_while_its_process_lives grep -q '"parameters"' "$u/first"

why="the user's process did not say its pid: $(cat "$work/users/peer.err" 2>&1)"
check the_connecting_process_exited eval '[ -n "$connector" ] && ! alive "$connector"'
# Reuse the exited connector's pid for a holder of root's lease.
reused=""
for _ in $(seq "$([ -n "$connector" ] && echo 20 || echo 0)"); do
	echo $((connector - 1)) >/proc/sys/kernel/ns_last_pid
	start_holder holder
	[ "$holder" = "$connector" ] && { reused=yes; break; }
	kill -KILL "$holder"; wait "$holder" 2>/dev/null
done
why="could not start a process with pid $connector (last got $holder)"
check a_new_process_got_the_exited_connectors_pid [ -n "$reused" ]
out=$(lw A acquire "$victim" --pid "$holder" 2>&1); status=$?
why="root's acquire for pid $holder failed ($status): $out"
check root_leases_the_victim_image_for_the_reused_pid [ $status -eq 0 ]

timeout 10 sh -c 'echo go >"$1"' _ "$u/go"
for _ in $(seq 300); do [ -f "$u/reply" ] && break; nap 0.1; done
reply=$(cat "$u/reply" 2>/dev/null)
why="expected PermissionDenied saying the connecting process has exited, got: ${reply:-no reply}"
check release_on_a_connection_whose_process_exited_is_refused \
	eval 'grep -q PermissionDenied <<<"$reply" && grep -q "connecting process has exited" <<<"$reply"'
why="expected the lease of pid $holder to remain, list shows: $(lw A list 2>&1 | tr '\n' ' ')"
check the_victims_lease_remains eval '[ "$(count_leases A)" = 1 ] && lw A list --json | grep -q "\"pid\": *$holder"'
why="the refusal was not logged: $(tail -n 3 "$work/A/daemon.log" | tr '\n' ' ')"
check the_refusal_is_logged grep -q "connecting process $connector has exited" "$work/A/daemon.log"
exit $((failures > 0))
