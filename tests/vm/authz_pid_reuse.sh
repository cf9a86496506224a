#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A connection acts only for the process that opened it. A hostile user
# connects from a child that exits before the daemon accepts; by then its
# pid runs another user's process (here made so with ns_last_pid, while
# the daemon is stopped with SIGSTOP; an attacker would delay the accept
# and cycle pids). The daemon must refuse the connection, not bind it to
# that process: else the attacker's Acquire makes the victim the holder.
# 6.12 answers SO_PEERPIDFD (the pidfd of the process that connected);
# 6.1 does not, and the daemon checks the uid of the pid's process instead.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..6"

attacker=lw-pidreuse-atk
victim=lw-pidreuse-vic
for u in "$attacker" "$victim"; do
	id "$u" >/dev/null 2>&1 || useradd -M -s /bin/sh "$u" ||
		{ echo "not ok 1 - prerequisites: useradd $u failed"; exit 1; }
done
attacker_uid=$(id -u "$attacker")
victim_uid=$(id -u "$victim")
chmod 755 "$work"
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups --inh-caps=-all "$@"; }

check daemon_answers_status_after_start start_daemon A
chmod 0666 "$(sock A)"
img=$(new_image attacker.img); chown "$attacker:" "$img"
mkdir -m 0777 "$work/atk"

# The attacker: connects from a child that exits at once (SO_PEERCRED names
# the child), says the child's pid, waits for "go", then calls Acquire on
# that connection and prints the reply.
cat >"$work/attack.py" <<'PY'
import os, socket, sys, time
sock, img, w = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
child = os.fork()
if child == 0:
    s.connect(sock)
    os._exit(0)
os.waitpid(child, 0)
with open(w + "/child.tmp", "w") as f:
    f.write(str(child))
os.rename(w + "/child.tmp", w + "/child")
while not os.path.exists(w + "/go"):
    time.sleep(0.05)
msg = '{"method":"io.lockwarden.Manager.Acquire","parameters":{"image":"%s"}}' % img
try:
    s.sendall(msg.encode() + b"\0")
    buf = b""
    while b"\0" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    print(buf.split(b"\0", 1)[0].decode() or "EOF")
except OSError as e:
    print("EOF", e)
PY

# hold the accept: the connection waits in the listen backlog
kill -STOP "${daemon_pid[A]}"
as "$attacker" "$py" "$work/attack.py" "$(sock A)" "$img" "$work/atk" >"$work/atk/reply" 2>&1 &
children+=($!)
for _ in $(seq 600); do [ -s "$work/atk/child" ] && break; nap 0.1; done
child=$(cat "$work/atk/child" 2>/dev/null)

# the victim takes the exited child's pid
victim_pid=
for _ in $(seq 20); do
	[ -n "$child" ] || break
	echo $((child - 1)) >/proc/sys/kernel/ns_last_pid
	# (a command, not the function "as": bash execs it in the forked child)
	setpriv --reuid="$victim" --regid="$victim" --init-groups --inh-caps=-all sleep 100000 \
		</dev/null >/dev/null 2>&1 &
	pid=$!
	if [ "$pid" = "$child" ]; then victim_pid=$pid; children+=("$pid"); break; fi
	kill "$pid"; wait "$pid" 2>/dev/null
done
# the victim is sleep, of its own uid, before the daemon looks
victim_is_sleeping() {
	[ -n "$victim_pid" ] && [ "$(ps -o uid= -p "$victim_pid" | tr -d ' ')" = "$victim_uid" ] &&
		[ "$(cat "/proc/$victim_pid/comm" 2>/dev/null)" = sleep ]
}
wait_until 30 victim_is_sleeping
why="expected sleep of $victim (uid $victim_uid) to take the exited connecting child's pid ${child:-(none)}: $(ps -o pid=,uid=,comm= -p "${victim_pid:-0}")"
check victim_process_has_the_connecting_childs_pid victim_is_sleeping

kill -CONT "${daemon_pid[A]}"
touch "$work/atk/go"
wait_until 60 grep -q . "$work/atk/reply"
reply=$(cat "$work/atk/reply")
why="expected the attacker's Acquire on the stale connection refused (PermissionDenied), got: $reply"
check connection_of_an_exited_process_is_refused grep -q 'PermissionDenied' <<<"$reply"

out=$(lw A list --json 2>&1)
why="expected no lease (above all none held by the victim's pid $victim_pid), got: $out"
check victim_process_is_not_made_a_holder [ "$(count_leases A)" = 0 ]

why="expected the daemon to log the refusal of uid $attacker_uid: $(tail -n 5 "$work/A/daemon.log" | tr '\n' ' ')"
check refusal_is_logged grep -q "refusing a client of uid $attacker_uid" "$work/A/daemon.log"
grep "refusing a client" "$work/A/daemon.log" | sed 's/^/# /'

out=$(as "$attacker" "$cli_bin" --socket "$(sock A)" run "$img" -- true 2>&1); status=$?
why="expected the attacker's own lease (an honest connection) to work after the refusal, got $status: $out"
check honest_connection_still_acquires [ $status -eq 0 ]

exit $((failures > 0))
