# SPDX-License-Identifier: LGPL-2.1-or-later
"""Many connections from one user, for tests/vm/limits_*.sh.

usage: limits_clients.py SOCKET COUNT OUT MODE
Opens COUNT connections, sends one Status on each and sorts the replies:
answered, or refused with the daemon's reason. Writes
{"answered": N, "reasons": {reason: count}} to OUT, then keeps the
answered connections open:
  hold  until the file OUT.release exists
  idle  until the daemon closes them all (or 60 s), adding to OUT.closed
        {"closed": N, "after_sec": seconds since the last Status}
"""
import json
import os
import resource
import socket
import sys
import time

path, count, out, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def write(name, obj):
    with open(name + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(name + ".tmp", name)


def read_reply(s):
    buf = b""
    try:
        while not buf.endswith(b"\0"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except OSError as e:
        return {"oserror": str(e)}
    try:
        return json.loads(buf.rstrip(b"\0").decode())
    except ValueError:
        return {"unparsable": buf[:80].decode(errors="replace")}


socks = []
for _ in range(count):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)     # blocking: waits while the daemon's backlog is full
    s.settimeout(30)
    socks.append(s)
request = json.dumps({"method": "io.lockwarden.Manager.Status", "parameters": {}}).encode() + b"\0"
for s in socks:
    try:
        s.sendall(request)
    except OSError:
        pass    # refused and closed already: its reply is still there to read
answered, reasons = [], {}
for s in socks:
    reply = read_reply(s)
    if "error" not in reply and "parameters" in reply:
        answered.append(s)
        continue
    why = reply.get("error", "") + ": " + reply.get("parameters", {}).get("reason", json.dumps(reply))
    reasons[why] = reasons.get(why, 0) + 1
    s.close()
last_call = time.monotonic()
write(out, {"answered": len(answered), "reasons": reasons})

if mode == "hold":
    while not os.path.exists(out + ".release"):
        time.sleep(0.1)
elif mode == "idle":
    open_socks = list(answered)
    deadline = time.monotonic() + 60
    for s in answered:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if s.recv(1) == b"":
                open_socks.remove(s)
        except OSError:
            pass
    write(out + ".closed", {"closed": len(answered) - len(open_socks),
                            "after_sec": round(time.monotonic() - last_call, 1)})
