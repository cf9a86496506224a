#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A user's FUSE mount whose server never answers (what any user can have
# where fusermount3 is setuid) against lockwardend: the daemon looks an
# unprivileged caller's image path up as that caller, and such a lookup
# never ends. The daemon goes on answering root meanwhile, answers the
# stalled call after lookup_timeout_sec naming the path as unresponsive,
# refuses a third lookup of the user's while two stall (ResourceLimit,
# after waiting as long for one to end), and serves the user again once
# the FUSE server is gone. A burst of the user's lookups that do end is
# served in turn, none refused. fanotify
# enforcer, natively; the user is nobody (65534) through setpriv. TAP
# output. Needs root and /dev/fuse.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || [ ! -c /dev/fuse ]; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root, /dev/fuse and a build (make all)"; exit 1
fi
echo "1..10"

user=65534
as_user() { setpriv --reuid="$user" --regid="$user" --clear-groups --inh-caps=-all "$@"; }
chmod 755 "$work"

# call JSON: one raw varlink call to daemon A as the user; prints the reply
# (or "TIMEOUT" when none came within 30 s)
call() {
	as_user "$py" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\0")
buf = b""
try:
    while b"\0" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            print("EOF"); sys.exit(0)
        buf += chunk
except socket.timeout:
    print("TIMEOUT"); sys.exit(0)
print(buf.split(b"\0", 1)[0].decode())' "$(sock A)" "$1"
}
# says TEXT PATTERN...: TEXT matches every PATTERN (JSON members come in any order)
says() { local text=$1 p; shift; for p; do grep -q -- "$p" <<<"$text" || return 1; done; }
acquire_json() { printf '{"method":"io.lockwarden.Manager.Acquire","parameters":{"image":"%s"}}' "$1"; }
inquire_json() { printf '{"method":"io.lockwarden.Manager.Inquire","parameters":{"image":"%s"}}' "$1"; }

# The FUSE mount, as setuid fusermount3 makes it for the user: /dev/fuse
# mounted on a folder of the user's, its server the user's own process,
# which never answers (not even FUSE_INIT).
mnt=$work/fuse
install -d -o "$user" -g "$user" -m 755 "$mnt"
"$py" - "$mnt" "$user" <<'PY' &
import ctypes, os, sys, time
mnt, uid = sys.argv[1], int(sys.argv[2])
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
opts = f"fd={fd},rootmode=40000,user_id={uid},group_id={uid}".encode()
if libc.mount(b"lwtest", mnt.encode(), b"fuse.lwtest", 6, opts) != 0:  # MS_NOSUID|MS_NODEV
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))
os.setgroups([]); os.setgid(uid); os.setuid(uid)
print("mounted", flush=True)
time.sleep(3600)
PY
fuse_server=$!
children+=("$fuse_server")
# before the library's cleanup removes $work: a stalled mount would hang it
trap 'kill_tree "$fuse_server"; umount -l "$mnt" 2>/dev/null; cleanup' EXIT
wait_until 10 grep -q " $mnt fuse.lwtest " /proc/self/mounts

printf "[daemon]\nlookup_timeout_sec = 3\n" >"$work/a.conf"
mkdir -p "$work/A"
"$daemon_bin" --config "$work/a.conf" --socket "$(sock A)" --pin-dir "$(pins A)" --state-dir "$work/A/state" \
	--audit-log "$work/A/audit.log" --enforcer fanotify --backend nop >>"$work/A/daemon.log" 2>&1 &
daemon_pid[A]=$!
wait_answers A || { echo "not ok 1 - the daemon did not start: $why"; exit 1; }
chmod 0666 "$(sock A)"

# ---- more lookups than may run at once, each ending: served in turn ----
own=$work/own.img
install -o "$user" -g "$user" -m 600 /dev/null "$own"
burst=()
for i in 1 2 3 4 5 6; do call "$(inquire_json "$own")" >"$work/burst$i" & burst+=($!); done
wait "${burst[@]}"
out=$(cat "$work/burst"*)
why="expected 6 concurrent Inquires of the user all answered (no lease), got: $out"
check burst_of_a_users_lookups_is_served_in_turn [ "$(grep -c '^{"parameters":{"lease":null}}$' <<<"$out")" -eq 6 ]

# ---- a stalled lookup does not stall the daemon ----
call "$(acquire_json "$mnt/x.img")" >"$work/stalled1" &
stalled1=$!
sleep 1
out=$(timeout 5 "$cli_bin" --socket "$(sock A)" status 2>&1); status=$?
why="expected root's status answered while the user's lookup stalls, got status $status: $out"
check root_status_answers_while_a_user_lookup_stalls [ "$status" -eq 0 ]

img=$(new_image root.img)
start_holder holder
out=$(timeout 5 "$cli_bin" --socket "$(sock A)" acquire "$img" --pid "$holder" 2>&1); status=$?
out2=$(timeout 5 "$cli_bin" --socket "$(sock A)" release "$img" --pid "$holder" 2>&1); status2=$?
why="expected root's acquire and release served meanwhile, got $status: $out / $status2: $out2"
check root_acquires_and_releases_while_a_user_lookup_stalls [ "$status" -eq 0 ] && [ "$status2" -eq 0 ]

wait "$stalled1"
out=$(cat "$work/stalled1")
why="expected ImageNotFound naming $mnt/x.img as not answering, got: $out"
check stalled_acquire_is_answered_as_unresponsive \
	says "$out" '"io.lockwarden.ImageNotFound"' "$mnt/x.img does not answer: its lookup did not finish within 3 s"

# ---- the user cannot pile up stalled lookups ----
# the first is still stalled (answered, its thread not ended): one more
# runs, a third waits for one of them to end
call "$(inquire_json "$mnt/y.img")" >"$work/stalled2" &
stalled2=$!
sleep 1
call "$(inquire_json "$mnt/z.img")" >"$work/third" &
third=$!
sleep 1
out=$(timeout 5 "$cli_bin" --socket "$(sock A)" status 2>&1); status=$?
why="expected root's status answered while two lookups stall and a third waits, got status $status: $out"
check root_status_answers_while_two_lookups_stall [ "$status" -eq 0 ]
wait "$stalled2"
out=$(cat "$work/stalled2")
why="expected the stalled Inquire answered as unresponsive, got: $out"
check stalled_inquire_is_answered_as_unresponsive \
	says "$out" '"io.lockwarden.ImageNotFound"' "$mnt/y.img does not answer"
wait "$third"
out=$(cat "$work/third")
why="expected the third lookup refused with ResourceLimit while two stall, got: $out"
check third_lookup_of_a_user_is_refused_while_two_stall \
	says "$out" '"io.lockwarden.ResourceLimit"' "uid $user has 2 path lookups under way that did not end within 3 s"
why="expected the daemon log to say the third lookup never started: $(grep lookup "$work/A/daemon.log")"
check daemon_logs_that_the_third_lookup_waited_in_vain grep -q "z.img for uid $user waited 3 s for others to end: refused" "$work/A/daemon.log"

# ---- the FUSE server gone: the stalled lookups end, the user is served ----
kill_tree "$fuse_server"
wait "$fuse_server" 2>/dev/null
out=
for _ in $(seq 50); do
	out=$(call "$(inquire_json "$own")")
	grep -q '"lease"' <<<"$out" && break
	nap 0.1
done
why="expected the user's Inquire served once its stalled lookups ended, got: $out"
check user_is_served_once_the_fuse_server_is_gone grep -q '"parameters":{"lease":null}' <<<"$out"
why="expected the daemon log to say both stalled lookups ended: $(grep lookup "$work/A/daemon.log")"
check daemon_logs_that_the_stalled_lookups_ended \
	[ "$(grep -c "ended, after its call was answered or gone" "$work/A/daemon.log")" -eq 2 ]
((failures == 0))
