#!/bin/bash
# lockwardend natively on a host whose kernel refuses BPF LSM (the 6.18
# development hosts): enforcer=auto falls back to fanotify and says so, a
# lease taken with `lockwarden run` lets its holder write, a rogue dd is
# denied and audited, release makes the image writable. Across a daemon
# restart, fanotify enforcement lapses (nothing is pinned): the test
# measures that window with a rogue writer polling, and proves enforcement
# comes back with the re-adopted lease. TAP output. Needs root.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || [ ! -x "$cli_bin" ]; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root and a build (make all): $daemon_bin"; exit 1
fi
echo "1..20"

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
why="expected a limits paragraph naming the restart lapse, got: $(json_field enforcer_limits <<<"$out")"
check status_json_gives_the_enforcer_limits grep -q "lapses while the daemon is not running" <<<"$(json_field enforcer_limits <<<"$out")"
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

# Across a restart: a rogue writer tries an open for write every ~1 ms and
# logs each attempt (CLOCK_REALTIME); the daemon is killed (SIGKILL, as a
# crash) and started again.
img2=$(new_image vm2.raw)
start_holder holder
lw a acquire "$img2" --pid "$holder" >/dev/null
# measure_window WHAT COMMAND...: run COMMAND (which takes the daemon down
# and brings it back) while a rogue writer tries an open for write every
# ~1 ms, logging each attempt (CLOCK_REALTIME); then checks and reports.
measure_window() {
	local what=$1 start_at answered_at result denied_before through window_ms answered_ms denied_end
	shift
	rm -f "$work/rogue.stop" "$work/rogue.log"
	"$py" - "$img2" "$work/rogue.log" "$work/rogue.stop" <<'PY' &
import os, sys, time
img, log, stop = sys.argv[1:]
with open(log, "w") as out:
    while not os.path.exists(stop):
        try:
            os.close(os.open(img, os.O_WRONLY))
            r = "ok"
        except PermissionError:
            r = "denied"
        out.write("%.6f %s\n" % (time.time(), r))
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
	result=$("$py" - "$work/rogue.log" "$start_at" "$answered_at" <<'PY'
import sys
log, start, answered = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
rows = [(float(t), r) for t, r in (l.split() for l in open(log))]
before = [r for t, r in rows if t < start]
after = [(t, r) for t, r in rows if t >= start]
ok = [t for t, r in after if r == "ok"]
back = [t for t, r in after if r == "denied" and (not ok or t > ok[-1])]
# denied-before  writes-through  window-ms  daemon-answered-ms  denied-at-end
print(int(bool(before) and all(r == "denied" for r in before)), len(ok),
      "%.1f" % ((back[0] - start) * 1000 if ok and back else 0),
      "%.1f" % ((answered - start) * 1000), int(bool(rows) and rows[-1][1] == "denied"))
PY
)
	read -r denied_before through window_ms answered_ms denied_end <<<"$result"
	why="expected every rogue attempt before the $what denied and the last after it denied, got before=$denied_before end=$denied_end"
	check "rogue_is_denied_before_and_after_the_$what" [ "$denied_before" = 1 ] && [ "$denied_end" = 1 ]
	echo "# enforcement window across a daemon $what (from the signal to the rogue's first denial after its last success):" \
		"${window_ms} ms; ${through} rogue write opens got through; the daemon answered ${answered_ms} ms after the signal"
	why="expected the $what window to be measured (rogue opens getting through), got $through"
	check "${what}_window_is_real_and_measured" [ "$through" -gt 0 ]
}

restart() { kill9_daemon a; start_daemon a --enforcer "$enforcer"; }
reexec() {
	kill -USR1 "${daemon_pid[a]}"
	# the same pid answers again once the new image is up
	sleep 0.05; wait_answers a
}
measure_window restart restart
measure_window reexec reexec
exit $((failures > 0))
