#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Mass release: a holder of many leases exits while another client keeps
# calling Status (1000 leases; LW_MASS_LEASES=2000 for the size of issue 8,
# whose setup takes minutes under TCG). The daemon releases the dead holder's leases in batches,
# so every Status is answered meanwhile (asserted generously: within 10 s
# each; the worst latency measured is printed), and in the end every lease
# is gone from the table and from the state file.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..5"

n=${LW_MASS_LEASES:-1000}
# the daemon watches each lease's holder through a pidfd: room for them all
ulimit -n 65536

mkdir "$work/images"
"$py" - "$work/images" "$n" <<'PY'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"{i}.img"), "wb") as f:
        f.truncate(4096)
PY
check daemon_answers_status_after_start start_daemon A --backend nop

# one holder takes every lease, pipelined a window at a time (force: skip
# the scan for other writers, slow under TCG and beside the point here)
start_holder holder
start=$(date +%s)
out=$("$py" - "$(sock A)" "$work/images" "$n" "$holder" 2>&1 <<'PY'
import json, socket, sys
sock, folder, n, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
buf, ok, errors = b"", 0, []
for first in range(0, n, 50):
    batch = range(first, min(n, first + 50))
    s.sendall(b"".join(json.dumps({"method": "io.lockwarden.Manager.Acquire", "parameters":
              {"image": f"{folder}/{i}.img", "pid": pid, "force": True}}).encode() + b"\0" for i in batch))
    for _ in batch:
        while b"\0" not in buf:
            buf += s.recv(65536)
        reply, buf = buf.split(b"\0", 1)
        r = json.loads(reply)
        if "error" in r:
            errors.append(reply.decode())
        else:
            ok += 1
print(ok, errors[:1])
PY
)
echo "# $n acquires by one holder: $(($(date +%s) - start)) s"
why="expected $n leases, got: $out"
check one_holder_takes_all_the_leases [ "${out%% *}" = "$n" ]

# Status, each on a new connection, until the table is empty (at most 300 s)
"$py" - "$(sock A)" >"$work/pings.out" 2>&1 <<'PY' &
import json, socket, sys, time
worst, calls, late, leases, begin = 0.0, 0, 0, None, time.time()
while time.time() - begin < 300:
    t = time.time()
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(sys.argv[1])
        s.sendall(b'{"method":"io.lockwarden.Manager.Status","parameters":{}}\0')
        buf = b""
        while b"\0" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        s.close()
        leases = json.loads(buf.split(b"\0")[0])["parameters"]["leases"]
    except OSError as e:	# socket.timeout included: no answer within 10 s
        late += 1
        print("no answer within 10 s:", e, flush=True)
    dt = time.time() - t
    worst, calls = max(worst, dt), calls + 1
    if calls == 1:
        print("answered", leases, flush=True)	# the holder may die now
    if leases == 0:
        break
    time.sleep(0.05)
print(f"calls {calls} late {late} worst_ms {int(worst * 1000)} drained_s {time.time() - begin:.1f} leases {leases}")
PY
pinger=$!
# the holder dies once Status has been answered with its leases: a release
# quicker than the pinger's start would leave nothing to measure
for _ in $(seq 600); do grep -q '^answered' "$work/pings.out" && break; nap 0.1; done
kill -KILL "$holder"; wait "$holder" 2>/dev/null
wait "$pinger"
result=$(tail -n 1 "$work/pings.out")
echo "# Status while $n leases were released: $result"
read -r _ calls _ late _ worst _ drained _ left <<<"$result"

why="$late Status call(s) got no answer within 10 s: $(head -n 3 "$work/pings.out" | tr '\n' ';')"
check every_status_is_answered_during_a_mass_release [ "${late:-1}" = 0 -a "${calls:-0}" -gt 1 ]
why="leases left after the holder died: ${left:-unknown} ($result)"
check every_lease_of_the_dead_holder_is_released [ "${left:-1}" = 0 ]
# the snapshot, then the journal of changes since (state.h)
saved=$("$py" -c '
import json, sys
d = sys.argv[1]
snap = json.load(open(d + "/leases.json"))
held = {l["image"] for l in snap["leases"]}
for i, line in enumerate(open(d + "/leases.journal")):
    if line.startswith("\0"):  # room ahead of the records (state.h)
        break
    rec = json.loads(line[9:])
    if i == 0 and rec["snapshot"] != snap["id"]:
        break
    if "lease" in rec:
        held.add(rec["lease"]["image"])
    elif "end" in rec:
        held.discard(rec["end"]["image"])
print(len(held))' "$work/A/state" 2>&1)
why="the state file still lists $saved lease(s)"
check the_state_file_lists_no_lease_afterwards [ "$saved" = 0 ]

exit $((failures > 0))
