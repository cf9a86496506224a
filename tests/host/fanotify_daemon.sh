#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lockwardend natively on a host whose kernel refuses BPF LSM (the 6.18
# development hosts): enforcer=auto falls back to fanotify and says so, a
# lease taken with `lockwarden run` lets its holder write, a rogue dd is
# denied and audited, release makes the image writable. Across a daemon
# crash and restart, a re-exec and a stop, the keeper keeps the fanotify
# group and answers it: a rogue writer polling never gets through, a
# holder polling is never refused, and the test reports how long openers
# waited. With the keeper killed too, the restart reports the writers that
# got in (gap writers). TAP output. Needs root.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || [ ! -x "$cli_bin" ]; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root and a build (make all): $daemon_bin"; exit 1
fi
echo "1..48"

json_field() { "$py" -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"; }

# auto: bpf-lsm where the kernel runs it (then this test goes on with
# --enforcer fanotify), else fanotify
start_daemon a --enforcer auto
check daemon_starts_with_enforcer_auto true
enforcer=auto
if [ "$(lw a status --json | json_field enforcer)" = bpf-lsm ]; then
	echo "# this kernel runs BPF LSM: auto chose bpf-lsm; going on with --enforcer fanotify"
	stop_daemon a; rm -rf "$(pins a)"; : >"$work/a/daemon.log"
	start_daemon a --enforcer fanotify
	enforcer=fanotify log_says="^lockwardend: enforcer fanotify: "
else
	log_says="bpf-lsm unavailable \(.+\); using fanotify"
fi
out=$(lw a status --json 2>&1)
got=$(json_field enforcer <<<"$out")
why="expected enforcer fanotify, got '$got'"
check status_json_names_the_fanotify_enforcer [ "$got" = fanotify ]
why="expected a limits paragraph naming when enforcement lapses, got: $(json_field enforcer_limits <<<"$out")"
check status_json_gives_the_enforcer_limits grep -q "lapses only if the daemon and its keeper both stop" <<<"$(json_field enforcer_limits <<<"$out")"
out=$(lw a status 2>&1)
why="no 'enforcer: fanotify' line in: $out"
check status_text_names_the_enforcer grep -qE "^enforcer: +fanotify$" <<<"$out"
why="no line matching '$log_says' in the daemon log: $(cat "$work/a/daemon.log")"
check daemon_log_says_why_bpf_lsm_was_not_used grep -qE "$log_says" "$work/a/daemon.log"

# auto never falls back while a pin folder holds something: pinned BPF
# programs would go on enforcing leases the fanotify daemon no longer sees.
# (The folder is not on bpffs, so bpf-lsm cannot open there on any host.)
mkdir -p "$work/b/stale-pins" && : >"$work/b/stale-pins/leases"
"$daemon_bin" --config "$work/empty.conf" --enforcer auto --socket "$work/b/s" --pin-dir "$work/b/stale-pins" \
	--state-dir "$work/b/state" --audit-log "$work/b/audit.log" >"$work/b/log" 2>&1 &
b=$!
for _ in $(seq 100); do alive "$b" || break; sleep 0.05; done
alive "$b" && kill "$b"; wait "$b"; status=$?
out=$(cat "$work/b/log")
why="expected a start-up failure naming the pinned state, got status $status: $out"
check auto_does_not_fall_back_beside_existing_pins failed_with "not falling back to fanotify: $work/b/stale-pins holds pinned BPF state"

# A holder under `lockwarden run` writes, waits for the rogue, opens and
# writes again (the shell itself: a forked child of a holder is not one).
img=$(new_image vm1.raw)
lw a run "$img" -- bash -c 'exec 3<>"$1" && printf holder1 >&3 && echo first >"$2.log";
	while [ ! -e "$2.go" ]; do sleep 0.05; done;
	exec 4<>"$1" && printf holder2 >&4 && echo second >>"$2.log"' sh "$img" "$work/holder" 2>&1 &
run_pid=$!
for _ in $(seq 100); do [ -e "$work/holder.log" ] && break; sleep 0.1; done
why="the holder's first write did not happen (log: $(cat "$work/holder.log" 2>&1))"
check holder_under_run_writes_its_image grep -qx first "$work/holder.log"
out=$(dd if=/dev/zero of="$img" bs=1 count=1 seek=4096 conv=notrunc 2>&1); status=$?
why="expected dd to fail with 'Operation not permitted', got status $status: $out"
check rogue_dd_is_denied failed_with "Operation not permitted"
touch "$work/holder.go"
wait "$run_pid"
why="the holder's second write (after the denial) did not happen (log: $(cat "$work/holder.log"))"
check holder_writes_again_after_the_denial grep -qx second "$work/holder.log"
out=$("$cli_bin" audit --log "$work/a/audit.log" 2>&1)
why="no 'deny open-write ... dd' record in: $out"
check denial_shows_in_lockwarden_audit grep -qE "deny open-write +[0-9]+ +0 +dd " <<<"$out"
for _ in $(seq 50); do [ "$(count_leases a)" = 0 ] && break; sleep 0.1; done
why="the image was not writable after the holder exited (leases: $(count_leases a))"
check image_is_writable_after_release rogue_write "$img"
why="expected the holder's second write at the start of the image, got: $(head -c 7 "$img" | tr -d '\0')"
check image_holds_what_the_holder_wrote [ "$(head -c 7 "$img" | tr -d '\0')" = holder2 ]

# A block device: fanotify gets no permission events for device nodes on
# this kernel, so the lease is refused with a reason, and nothing is left.
loopdev=$(losetup --find --show "$(new_image disk.raw)" 2>&1)
start_holder holder
out=$(lw a acquire "$loopdev" --pid "$holder" 2>&1); status=$?
why="expected the lease on $loopdev refused with 'the fanotify enforcer cannot guard this image', got status $status: $out"
check block_device_lease_is_refused_with_a_reason failed_with "the fanotify enforcer cannot guard this image"
why="expected no lease left after the refusal, got $(count_leases a)"
check refused_block_device_lease_leaves_nothing [ "$(count_leases a)" = 0 ]
losetup -d "$loopdev" 2>/dev/null

# List in several replies: a client that asks for "more" gets the leases
# 256 a reply (continues), so no reply passes a client's cap at any table
# size; liblockwarden asks so and joins them. 300 leases, one connection.
start_holder many
out=$("$py" - "$(sock a)" "$work/many" "$many" <<'PY'
import json, os, socket, sys
sock, folder, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(folder, exist_ok=True)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(120)
s.connect(sock)
buf = b""
def send(msg):
    s.sendall(json.dumps(msg).encode() + b"\0")
def reply():
    global buf
    while b"\0" not in buf:
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("lockwardend hung up")
        buf += chunk
    text, buf = buf.split(b"\0", 1)
    return json.loads(text)
for i in range(300):
    image = f"{folder}/img{i}.raw"
    open(image, "wb").close()
    send({"method": "io.lockwarden.Manager.Acquire", "parameters": {"image": image, "pid": pid}})
    r = reply()
    if "error" in r:
        sys.exit(f"acquire {image}: {r}")
send({"method": "io.lockwarden.Manager.List", "more": True})
sizes = []
while True:
    r = reply()
    sizes.append(len(r["parameters"]["leases"]))
    if not r.get("continues"):
        break
send({"method": "io.lockwarden.Manager.List"})
print(" ".join(map(str, sizes)), len(reply()["parameters"]["leases"]))
PY
)
why="expected List with more answered as 256 + 44 leases (and 300 in one reply without more), got: $out"
check list_with_more_comes_256_leases_a_reply [ "$out" = "256 44 300" ]
n=$(lw a list --json | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["leases"]))')
why="expected lockwarden list --json to join the replies into 300 leases, got $n"
check cli_list_joins_every_reply [ "$n" = 300 ]
kill -KILL "$many"; wait "$many" 2>/dev/null
why="the dead holder's 300 leases are still listed: $(count_leases a)"
check holder_of_300_leases_dying_releases_them wait_until 30 eval '[ "$(count_leases a)" = 0 ]'

# Across a restart, a crash, a re-exec and a stop: the keeper keeps a copy
# of the fanotify group and answers it while no daemon does, so there is
# no window. A rogue writer tries an open for write every ~1 ms and a holder
# every ~5 ms, each logging the time and how long its open took
# (CLOCK_REALTIME) while the daemon goes down and comes back.
img2=$(new_image vm2.raw)
rm -f "$work/holder2.stop"
"$py" - "$img2" "$work/holder2.log" "$work/holder2.stop" <<'PY' &
import os, sys, time
img, log, stop = sys.argv[1:]
with open(log, "w", buffering=1) as out:
    while not os.path.exists(stop):
        t = time.time()
        try:
            os.close(os.open(img, os.O_WRONLY))
            r = "ok"
        except OSError as e:
            r = "error-%d" % e.errno
        out.write("%.6f %.6f %s\n" % (t, time.time() - t, r))
        time.sleep(0.005)
PY
holder2=$!
children+=("$holder2")
lw a acquire "$img2" --pid "$holder2" >/dev/null
# measure_window WHAT COMMAND...: run COMMAND (which takes the daemon down
# and brings it back) while the rogue and the holder try; then check that
# no rogue open got through, no holder open failed, and report how long
# the longest open waited (openers block while the group changes hands).
measure_window() {
	local what=$1 start_at answered_at result denied_before through tried rogue_wait holder_ok holder_bad holder_wait
	shift
	rm -f "$work/rogue.stop" "$work/rogue.log"
	"$py" - "$img2" "$work/rogue.log" "$work/rogue.stop" <<'PY' &
import os, sys, time
img, log, stop = sys.argv[1:]
with open(log, "w") as out:
    while not os.path.exists(stop):
        t = time.time()
        try:
            os.close(os.open(img, os.O_WRONLY))
            r = "ok"
        except PermissionError:
            r = "denied"
        out.write("%.6f %.6f %s\n" % (t, time.time() - t, r))
        time.sleep(0.001)
PY
	local rogue=$!
	children+=("$rogue")
	# a loaded host may take a while to start python: wait for its attempts
	for _ in $(seq 100); do [ "$(wc -l 2>/dev/null <"$work/rogue.log" || echo 0)" -ge 50 ] && break; sleep 0.05; done
	start_at=$(date +%s.%N)
	"$@"
	answered_at=$(date +%s.%N)
	sleep 0.5
	touch "$work/rogue.stop"; wait "$rogue"
	why="expected the lease re-adopted after the $what, got $(count_leases a) leases"
	check "lease_is_adopted_again_after_the_$what" [ "$(count_leases a)" = 1 ]
	result=$("$py" - "$work/rogue.log" "$work/holder2.log" "$start_at" "$answered_at" <<'PY'
import sys
rogue, holder, start, answered = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def rows(path):
    return [(float(t), float(d), r) for t, d, r in (l.split() for l in open(path) if l.count(" ") == 2)]
r, h = rows(rogue), rows(holder)
before = [x for t, d, x in r if t < start]
during = [(t, d, x) for t, d, x in r if start <= t <= answered]
hdur = [(t, d, x) for t, d, x in h if start <= t <= answered]
# denied-before  rogue-through  rogue-tries  rogue-max-wait-ms  holder-ok  holder-failed  holder-max-wait-ms
print(int(bool(before) and all(x == "denied" for x in before)),
      sum(1 for t, d, x in r if t >= start and x == "ok"), len(during),
      "%.1f" % (max([d for t, d, x in during] or [0]) * 1000),
      sum(1 for t, d, x in hdur if x == "ok"), sum(1 for t, d, x in hdur if x != "ok"),
      "%.1f" % (max([d for t, d, x in hdur] or [0]) * 1000))
PY
)
	read -r denied_before through tried rogue_wait holder_ok holder_bad holder_wait <<<"$result"
	echo "# $what: the daemon answered again $("$py" -c "print('%.0f' % ((float('$answered_at') - float('$start_at')) * 1000))") ms" \
		"after it went down; meanwhile the rogue tried $tried open(s) (longest wait ${rogue_wait} ms)," \
		"the holder opened $holder_ok time(s) (longest wait ${holder_wait} ms)"
	why="expected every rogue attempt before the $what denied, got before=$denied_before"
	check "rogue_is_denied_before_the_$what" [ "$denied_before" = 1 ]
	why="expected the rogue to try while the daemon was down ($what), got $tried attempt(s)"
	check "rogue_tries_while_the_daemon_is_down_$what" [ "$tried" -gt 0 ]
	why="expected no rogue write open to get through across the $what, got $through"
	check "no_rogue_write_gets_through_across_the_$what" [ "$through" = 0 ]
	if [ -n "${audited_while_down:-}" ]; then
		# the keeper has no audit sink: its denials wait in the shared table
		local audited
		audited=$("$py" - "$work/a/audit.log" "$rogue" "$down_from" "$down_to" <<'PY'
import json, sys
log, pid, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
n = 0
for line in open(log):
    r = json.loads(line)
    if r.get("type") == "denial" and r.get("tgid", r.get("pid")) == pid and start <= r["time_ns"] / 1e9 <= end:
        n += 1
print(n)
PY
)
		why="expected denials of the rogue (pid $rogue) made while no daemon ran in the audit log, got $audited"
		check "denials_while_the_daemon_is_down_are_audited_$what" [ "$audited" -gt 0 ]
	fi
	if [ -n "${holder_may_be_refused:-}" ]; then
		# a kill between the answering thread's read() and its note of
		# what it read leaves events the next answerer must deny unseen
		# (docs/fanotify.md): a holder may get EPERM then, never a hang
		echo "# $what: $holder_bad holder open(s) refused"
		why="expected the holder to go on opening across the $what, got $holder_ok ok"
		check "holder_is_never_left_waiting_across_the_$what" [ "$holder_ok" -gt 0 ] && \
			[ "$("$py" -c "import time,sys; print(int(time.time() - float(open(sys.argv[1]).readlines()[-1].split()[0]) < 5))" "$work/holder2.log")" = 1 ]
		return
	fi
	why="expected every holder open to succeed across the $what, got $holder_ok ok and $holder_bad failed (log: $(tail -n 3 "$work/holder2.log" | tr '\n' ' '))"
	check "holder_opens_for_write_across_the_$what" [ "$holder_ok" -gt 0 ] && [ "$holder_bad" = 0 ]
}

restart() { kill9_daemon a; start_daemon a --enforcer "$enforcer"; }
reexec() {
	kill -USR1 "${daemon_pid[a]}"
	# the same pid answers again once the new image is up
	sleep 0.05; wait_answers a
}
# stopped (SIGTERM) and left down a while: the keeper goes on answering
stop_and_stay_down() {
	stop_daemon a; down_from=$(date +%s.%N)
	sleep 1.5
	down_to=$(date +%s.%N); start_daemon a --enforcer "$enforcer"
}
measure_window restart restart
measure_window reexec reexec
audited_while_down=1 measure_window stop stop_and_stay_down
# the keeper killed first: the daemon starts another and gives it the group
new_keeper_then_crash() {
	local old; old=$(keeper_of a)
	kill -KILL "$old"
	for _ in $(seq 100); do [ "$(keeper_of a)" != "$old" ] && break; sleep 0.05; done
	restart
}
measure_window keeper_replaced new_keeper_then_crash
# eight crashes in a row, each at a random moment of the daemon's work
crash_storm() {
	for _ in $(seq 8); do
		sleep "0.$((RANDOM % 250 + 50))"
		restart || return 1
	done
}
holder_may_be_refused=1 measure_window crash_storm crash_storm
touch "$work/holder2.stop"; wait "$holder2"

# The one gap left: the daemon and its keeper killed together (the group
# goes with its last descriptor). The restart enforces the lease again and
# reports whoever opened the image for write meanwhile, as under bpf-lsm.
source "$(dirname "$0")/../vm/tamper_lib.bash"
img3=$(new_image vm3.raw)
start_holder holder3
lw a acquire "$img3" --pid "$holder3" >/dev/null
keeper=$(keeper_of a)
# the daemon first: one still running replaces a keeper it sees die
kill9_daemon a; kill -KILL "$keeper"
for _ in $(seq 100); do alive "$keeper" || break; sleep 0.05; done
hold_open_for_write "$img3" writer
for _ in $(seq 100); do [ "/proc/$writer/fd/7" -ef "$img3" ] && break; sleep 0.05; done
why="the gap writer $writer could not open the image with the daemon and keeper (pid $keeper) gone"
check writer_opens_the_image_when_daemon_and_keeper_are_gone eval 'ls -l /proc/$writer/fd/7 2>/dev/null | grep -q vm3.raw'
adoptions() { grep -c "adopted .* lease(s) of" "$work/a/daemon.log"; }
before=$(adoptions)
start_daemon a --enforcer "$enforcer"
# the daemon answers while it adopts: the report comes with the lease's adoption
wait_until 30 eval '(($(adoptions) > before))'
why="daemon log does not name gap writer $writer: $(grep -iE "adopt|gap" "$work/a/daemon.log" | tail -n 4 | tr '\n' ' ')"
check gap_writer_is_logged grep -q "gap writer: $img3: pid $writer " "$work/a/daemon.log"
why="audit log has no gap-writer record for pid $writer: $(tail -n 2 "$work/a/audit.log")"
check gap_writer_is_audited audit_has a '"event":"gap-writer"' "\"pid\":$writer" "$img3"
out=$(status_get a '[(w["pid"], w["image"]) for w in s["gap_writers"]]')
why="expected ($writer, '$img3') in status gap_writers, got: $out"
check status_shows_the_gap_writer grep -qF "($writer, '$img3')" <<<"$out"
why="a new write open of $img3 was allowed after the restart"
check new_write_opens_are_denied_again_after_the_gap not rogue_write "$img3"
exit $((failures > 0))
