#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The path-swap race: a user acquires through a name it keeps swapping
# (renameat2 RENAME_EXCHANGE) between a link to its own file and a link to a
# root-owned file. The daemon resolves the path once, as the user, so it must
# never lease the root file nor ever hold it open for write, however the
# swaps fall. Two rounds: 4,000 tries through a name swapped between the
# user's own folder and root's file (each try is one resolution and a
# refusal: not an image, or not the user's; a check-then-use race, as the
# owner check by stat() then open() was, leases root's file), then 1,000
# acquire+release pairs through a name swapped between the user's own
# image and root's file, where a second lookup by the backend would lock
# root's file for write.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..7"

tries=${LW_SWAP_TRIES:-4000}
pairs=${LW_SWAP_PAIRS:-1000}
user=lw-authz
id "$user" >/dev/null 2>&1 || useradd -M -s /bin/sh "$user" ||
	{ echo "not ok 1 - prerequisites: useradd $user failed"; exit 1; }
as_user() { setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all "$@"; }
chmod 755 "$work"

root_file=$work/root-passwd
cp /etc/passwd "$root_file"; chown root:root "$root_file"; chmod 0644 "$root_file"
race=$work/race
mkdir "$race"; chown "$user:" "$race"
as_user dd if=/dev/zero of="$race/own.img" bs=64k count=1 status=none
as_user ln -s "$race/own.img" "$race/a"
as_user ln -s "$root_file" "$race/b"
as_user mkdir "$race/own.dir"
as_user ln -s "$race/own.dir" "$race/c"
as_user ln -s "$root_file" "$race/d"

check daemon_answers_status_after_start start_daemon A --backend fcntl
chmod 0666 "$(sock A)"
daemon=${daemon_pid[A]}
keeper=$(keeper_of A)

# the kernel's key of each file, as the daemon reports it (stat may differ on overlayfs)
key_of() {	# key_of FILE: "dev ino" of a lease root takes and gives back at once
	lw A acquire "$1" --pid "$holder" --json 2>/dev/null | "$py" -c 'import json,sys; l=json.load(sys.stdin); l=l.get("lease", l); print(l["dev"], l["ino"])'
	lw A release "$1" --pid "$holder" >/dev/null 2>&1
}
start_holder holder
own_key=$(key_of "$race/own.img"); root_key=$(key_of "$root_file")
why="kernel keys unknown or equal: own [$own_key] root [$root_key]"
check kernel_keys_of_both_files_are_known [ -n "$own_key" -a -n "$root_key" -a "$own_key" != "$root_key" ]

# the attacker's swapper: exchanges two names as fast as it can
start_swapper() {	# start_swapper VAR NAME NAME
	as_user "$py" - "$race" "$2" "$3" <<'PY' &
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
os.chdir(sys.argv[1])
x, y = sys.argv[2].encode(), sys.argv[3].encode()
while True:
    libc.renameat2(AT_FDCWD, x, AT_FDCWD, y, RENAME_EXCHANGE)
PY
	children+=($!); printf -v "$1" %s $!
}

# root's watcher: does the daemon or its keeper ever have the root file open
# for write, or a lock on it? Reports what it saw when told to stop.
"$py" - "$root_file" "$daemon" "$keeper" "$work/watch.stop" >"$work/watch.out" <<'PY' &
import fcntl, os, struct, sys, time
target, pids, stop = sys.argv[1], [p for p in sys.argv[2:4] if p], sys.argv[4]
st = os.stat(target)
fd = open(target, "rb")
req = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 1, 0)
seen, rounds = [], 0
while not os.path.exists(stop):
    rounds += 1
    for pid in pids:
        try:
            for n in os.listdir(f"/proc/{pid}/fd"):
                try:
                    # fdinfo, stat, fdinfo: a descriptor closed and reused
                    # meanwhile (the daemon opens and closes many) changes
                    # its fdinfo, and is not counted
                    with open(f"/proc/{pid}/fdinfo/{n}") as f:
                        before = f.read()
                    s = os.stat(f"/proc/{pid}/fd/{n}")
                    with open(f"/proc/{pid}/fdinfo/{n}") as f:
                        after = f.read()
                    if (s.st_dev, s.st_ino) != (st.st_dev, st.st_ino) or before.split("flags:")[1:] != after.split("flags:")[1:]:
                        continue
                    flags = next(int(l.split()[1], 8) for l in after.splitlines() if l.startswith("flags:"))
                    if flags & os.O_ACCMODE != os.O_RDONLY:
                        seen.append(f"pid {pid} fd {n} open for write (flags {flags:o})")
                except (OSError, StopIteration):
                    pass
        except OSError:
            pass
    res = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, req)
    if struct.unpack("hh4xqqi4x", res)[0] != fcntl.F_UNLCK:
        seen.append("a lock on byte 0 of the root file")
    time.sleep(0.002)	# leave the CPUs to the race; the client checks the lock itself too
print(f"rounds {rounds}")
for s in sorted(set(seen)):
    print(s)
PY
watcher=$!

# the attacker's client: acquire through a (and release, in pairs mode),
# note what was leased
race() {	# race MODE TRIES NAME: prints "tries N own N refused N won N locked N"
as_user "$py" - "$(sock A)" "$race/$3" "$2" "$own_key" "$root_file" "$1" 2>&1 <<'PY'
import fcntl, json, os, socket, struct, sys
sock, name, tries, own_key, root_file, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
root_fd = open(root_file, "rb")	# 0644: the user may read it, and ask about its locks
req = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 1, 0)
def root_file_locked():
    res = fcntl.fcntl(root_fd, fcntl.F_OFD_GETLK, req)
    return struct.unpack("hh4xqqi4x", res)[0] != fcntl.F_UNLCK
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
buf = b""
def request(method, params):
    return json.dumps({"method": "io.lockwarden.Manager." + method, "parameters": params}).encode() + b"\0"
def replies(n):
    global buf
    out = []
    while len(out) < n:
        while b"\0" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("daemon closed the connection")
            buf += chunk
        reply, buf = buf.split(b"\0", 1)
        out.append(json.loads(reply))
    return out
# force: skip the daemon's scan for other writers, which costs much under
# TCG and has nothing to do with how the path is resolved. Pairs of Acquire
# and Release are sent a window at a time, so the tries are not paced by
# round trips; after each window, is the root file locked (by the daemon's
# write descriptor)?
acquire = request("Acquire", {"image": name, "force": True})
release = request("Release", {"image": name}) if mode == "pairs" else b""
per_try = 2 if release else 1
own = refused = won = locked = done = 0
while done < tries:
    k = min(25, tries - done)
    s.sendall((acquire + release) * k)
    for r in replies(per_try * k)[0::per_try]:
        if mode == "folder" and r.get("error") == "io.lockwarden.InvalidParameter":
            own += 1	# the user's own folder: not an image
            continue
        if "error" in r:
            refused += 1
            continue
        lease = r["parameters"]["lease"]
        if f'{lease["dev"]} {lease["ino"]}' == own_key:
            own += 1
        else:
            won += 1	# the root file, or anything but the user's own
    if root_file_locked():
        locked += 1
    done += k
print(f"tries {done} own {own} refused {refused} won {won} locked {locked}")
PY
}

# round 1: c is swapped between the user's folder and root's file
start_swapper swapper c d
start=$(date +%s)
race folder "$tries" c >"$work/race1.out"
echo "# round 1 (own folder / root file): $(tail -n 1 "$work/race1.out") in $(($(date +%s) - start)) s"
kill_tree "$swapper"; wait "$swapper" 2>/dev/null
# round 2: a is swapped between the user's image and root's file
start_swapper swapper a b
start=$(date +%s)
race pairs "$pairs" a >"$work/race2.out"
echo "# round 2 (pairs): $(tail -n 1 "$work/race2.out") in $(($(date +%s) - start)) s"
touch "$work/watch.stop"; wait "$watcher"
read -r _ t1 _ own1 _ refused1 _ won1 _ _ <<<"$(grep '^tries' "$work/race1.out")"
read -r _ t2 _ own2 _ refused2 _ won2 _ locked <<<"$(grep '^tries' "$work/race2.out")"

why="a race client did not finish: $(tail -n 2 "$work/race1.out" "$work/race2.out" | tr '\n' ' ')"
check race_ran_the_full_number_of_tries [ "${t1:-0}" = "$tries" -a "${t2:-0}" = "$pairs" ]
why="expected both outcomes in each round (own file, root file refused), got own=$own1/$own2 refused=$refused1/$refused2"
check the_swap_really_alternated_the_target [ "${own1:-0}" -gt 0 -a "${refused1:-0}" -gt 0 -a "${own2:-0}" -gt 0 -a "${refused2:-0}" -gt 0 ]
why="the daemon leased the root file (or a file that is neither) $won1 + $won2 time(s)"
check daemon_never_leased_the_root_file [ "${won1:-1}" = 0 -a "${won2:-1}" = 0 ]
why="the root file was locked for write after $locked successful acquire(s); the watcher saw: $(grep -v '^rounds' "$work/watch.out" | tr '\n' ';')"
check daemon_never_held_the_root_file_open_for_write eval '[ "${locked:-1}" = 0 ] && ! grep -qv "^rounds" "$work/watch.out"'
echo "# watcher: $(head -n 1 "$work/watch.out")"
why="root could not write its own file after the race"
check root_file_stays_writable_by_root rogue_write "$root_file"

exit $((failures > 0))
