#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Group commit (userspace/daemon/commit.h) natively, fanotify enforcer,
# fcntl backend. 10 clients acquire and release their own image at once;
# lockwardend is killed -9 right after a run of acknowledgements; the
# restarted daemon holds every lease whose last acknowledged step was an
# acquire and none whose last acknowledged step was a release or that was
# never asked for (a step in flight at the kill may go either way). Then the
# same clients with the daemon stopped by SIGTERM: there no step may go
# either way (the batch staged at the stop is committed and answered). Then the
# state folder on a full tmpfs: every one of 8 concurrent acquires fails
# with the state's error, nothing is acknowledged or left behind (no lease,
# no enforcement), and once there is room again acquires work and survive a
# restart. And a state of an earlier boot is dropped whole. TAP output.
# Needs root.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || [ ! -x "$cli_bin" ]; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root and a build (make all): $daemon_bin"; exit 1
fi
echo "1..20"

clients=10
opts=(--enforcer fanotify --backend fcntl)

# client N: acquire/release its image for its holder until the daemon goes
# away; each step is logged "send OP" before and "ack OP" after it was
# answered with success.
client() {
	local n=$1 holder=$2 img=$work/img$1 log=$work/client$1.log
	while :; do
		for op in acquire release; do
			echo "send $op" >>"$log"
			if lw a "$op" "$img" --pid "$holder" >/dev/null 2>>"$work/client$n.err"; then
				echo "ack $op" >>"$log"
			else
				echo "fail $op" >>"$log"
				return
			fi
		done
	done
}

acks() { cat "$work"/client*.log 2>/dev/null | grep -c '^ack' || true; }

# verdict loose|strict: the leases daemon a lists against the clients' logs.
# loose (after kill -9): a step in flight at the kill may go either way;
# strict (after SIGTERM): a step that failed did not happen.
verdict() {
	lw a list --json >"$work/listed.json"
	"$py" - "$work" "$clients" "${holders[*]}" "$1" <<'PY'
import json, sys
work, clients, holders, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
leases = {l["image"]: l for l in json.load(open(f"{work}/listed.json"))["leases"]}
bad = []
for n in range(1, clients + 1):
    img = f"{work}/img{n}"
    acked, inflight = None, None
    for line in open(f"{work}/client{n}.log"):
        what, op = line.split()
        if what == "ack":
            acked, inflight = op, None
        elif what == "send":
            inflight = op
        elif what == "fail" and mode == "strict":
            inflight = None
    held = img in leases
    if held:
        pids = [h.get("pid") for h in leases[img].get("holders", [])]
        if pids != [int(holders[n - 1])]:
            bad.append(f"{img} held by {pids}, expected [{holders[n - 1]}]")
    if inflight is None and acked == "acquire" and not held:
        bad.append(f"{img}: acquire acknowledged, lease missing after the restart")
    if inflight is None and acked in ("release", None) and held:
        bad.append(f"{img}: {'release acknowledged' if acked else 'never acquired'}, lease present after the restart"
                   + (" (the last step failed at the stop)" if mode == "strict" else ""))
    if inflight == "acquire" and acked == "acquire":
        bad.append(f"{img}: log out of order")
for img in leases:
    if not img.startswith(work + "/img"):
        bad.append(f"{img}: a lease nobody asked for")
print("; ".join(bad) if bad else "ok")
PY
}

start_daemon a "${opts[@]}"
check daemon_starts_with_fanotify wait_answers a
holders=()
for n in $(seq $clients); do
	dd if=/dev/zero of="$work/img$n" bs=64k count=1 status=none
	start_holder h
	holders[n]=$h
done
cpids=()
for n in $(seq $clients); do client "$n" "${holders[n]}" & cpids+=($!); done
# kill -9 once every client had a few answers, right after the latest one
enough() { (($(acks) >= clients * 5)); }
why="the clients got $(acks) acknowledgements in 120 s, expected $((clients * 5))"
check clients_get_answers_concurrently wait_until 120 enough
kill9_daemon a
wait "${cpids[@]}"
total=$(acks)
echo "# $total acknowledged steps before the kill"

start_daemon a "${opts[@]}"
check daemon_restarts_after_kill_9 wait_answers a
verdict=$(verdict loose)
listed=$(cat "$work/listed.json")
why="expected every acknowledged lease and nothing else, got: $verdict (list: $listed)"
check acknowledged_leases_survive_kill_9_and_nothing_else_appears [ "$verdict" = ok ]
# what the restarted daemon holds it enforces: release everything, the images are writable
for n in $(seq $clients); do lw a release "$work/img$n" --pid "${holders[n]}" >/dev/null 2>&1; done
why="expected 0 leases after releasing every image, got $(count_leases a)"
check every_lease_releases_after_the_restart [ "$(count_leases a)" = 0 ]
echo "# $(grep -c "\"image\"" "$work/listed.json") lease(s) held after the restart"

# the same clients, the daemon stopped with SIGTERM: the batch staged at the
# stop is committed and answered, so no client sees a failure for a step
# that took effect
rm -f "$work"/client*.log "$work"/client*.err
cpids=()
for n in $(seq $clients); do client "$n" "${holders[n]}" & cpids+=($!); done
why="the clients got $(acks) acknowledgements in 120 s, expected $((clients * 5))"
wait_until 120 enough
stop_daemon a
wait "${cpids[@]}"
echo "# $(acks) acknowledged steps before the SIGTERM"
start_daemon a "${opts[@]}"
check daemon_restarts_after_sigterm wait_answers a
verdict=$(verdict strict)
why="expected exactly the acknowledged leases (a failed step never took effect), got: $verdict (list: $(cat "$work/listed.json"))"
check sigterm_answers_every_step_it_made_durable [ "$verdict" = ok ]
for n in $(seq $clients); do lw a release "$work/img$n" --pid "${holders[n]}" >/dev/null 2>&1; done
stop_daemon a

# a state of an earlier boot: its leases ended with that boot (holders,
# backend locks, kernel entries), and its journal is not synced, so the
# restart drops it whole, even a lease whose holder (pid and start time) is
# alive here, with a log line; what the keeper kept is let go
start_daemon a "${opts[@]}"
wait_answers a
out=$(lw a acquire "$work/img1" --pid "${holders[1]}" 2>&1)
why="expected the acquire of img1 to succeed, got: $out"
check acquire_before_a_simulated_reboot [ "$(count_leases a)" = 1 ]
stop_daemon a
state_of_another_boot a
start_daemon a "${opts[@]}"
wait_answers a
why="expected no lease and the log line, got $(count_leases a) lease(s); log: $(tail -n 5 "$work/a/daemon.log" | tr '\n' ' ')"
check state_of_an_earlier_boot_is_dropped_with_a_log_line dropped_as_of_another_boot a
why="a write to img1 was denied: the dropped lease's enforcement stayed behind"
check dropped_lease_leaves_no_enforcement rogue_write "$work/img1"
stop_daemon a

# the state folder on a tmpfs that fills up: the journal write fails
small=$work/small
mkdir -p "$small"
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$small" || { not_ok tmpfs_for_a_full_state "mount -t tmpfs failed"; exit 1; }
cleanup_mount() { umount -l "$small" 2>/dev/null; cleanup; }
trap cleanup_mount EXIT
start_daemon b "${opts[@]}" --state-dir "$small/state"
check daemon_starts_on_a_small_tmpfs wait_answers b
# img9 leased before the folder fills; img10 taken and given back until a
# step finds no room (the journal's last page may hold a few records more).
# img9's path is longer than any record of img10 (a lease's record is its
# path and some 300 bytes): once a step of img10 finds no room, the
# release of img9 finds none either, whatever room the page has left.
long=$work/$(printf 'd%.0s' $(seq 200))/$(printf 'e%.0s' $(seq 200))
mkdir -p "$long" && mv "$work/img9" "$long/img9"
img9=$long/img9
out=$(lw b acquire "$img9" --pid "${holders[9]}" 2>&1); status=$?
why="expected the acquire of img9 to succeed, got status $status: $out"
check acquire_on_the_small_tmpfs_works [ "$status" = 0 ]
dd if=/dev/zero of="$small/filler" bs=4k status=none 2>/dev/null
out="" steps=0
for i in $(seq 200); do
	op=acquire; ((i % 2)) || op=release
	out=$(lw b $op "$work/img10" --pid "${holders[10]}" 2>&1) || break
	out="" steps=$i
done
echo "# $steps step(s) fitted in the journal's last page"
why="expected a step to fail with 'No space left on device' within 200, got: ${out:-none failed}"
check a_full_state_fails_a_step_with_its_reason grep -q "No space left on device" <<<"$out"
outs=() cpids=()
for n in $(seq 8); do
	( out=$(lw b acquire "$work/img$n" --pid "${holders[n]}" 2>&1); echo "$? $out" >"$work/full$n.out" ) &
	cpids+=($!)
done
wait "${cpids[@]}"
failed=0 reasons=""
for n in $(seq 8); do
	read -r status out <"$work/full$n.out"
	if [ "$status" -ne 0 ] && grep -q "No space left on device" <<<"$out"; then
		failed=$((failed + 1))
	else
		reasons+="client $n: status $status: $out; "
	fi
done
why="expected 8 acquires to fail with 'No space left on device', got $failed: $reasons"
check full_state_fails_every_concurrent_acquire_with_its_reason [ "$failed" = 8 ]
leased=$(lw b list --json | "$py" -c 'import json,sys; print(" ".join(sorted(l["image"].rsplit("/",1)[1] for l in json.load(sys.stdin)["leases"])))')
why="expected only img9 leased after the failed batch (and img10 only if its release failed), got: $leased"
check failed_batch_leaves_no_lease grep -qxE "img9( img10)?|img10 img9" <<<"$leased"
why="a write to img1 was denied: the failed acquire left its enforcement behind"
check failed_batch_leaves_no_enforcement rogue_write "$work/img1"
out=$(lw b release "$img9" --pid "${holders[9]}" 2>&1); status=$?
why="expected the release of img9 to fail with 'No space left on device', got status $status: $out"
check release_that_cannot_be_recorded_fails_with_its_reason failed_with "No space left on device"
why="img9 is no longer listed or a rogue write to it got through after its release failed"
check release_that_cannot_be_recorded_keeps_the_lease_enforced \
	bash -c '"$1" --socket "$2" list --json | grep -q "/img9\"" && ! dd if=/dev/zero of="$3" bs=1 count=1 conv=notrunc status=none 2>/dev/null' \
	sh "$cli_bin" "$(sock b)" "$img9"
rm -f "$small/filler"
out=$(lw b acquire "$work/img1" --pid "${holders[1]}" 2>&1); status=$?
why="expected the acquire to succeed once there is room, got status $status: $out"
check acquire_works_again_once_there_is_room [ "$status" = 0 ]
kill9_daemon b
start_daemon b "${opts[@]}" --state-dir "$small/state"
listed=$(lw b list --json 2>&1)
why="expected img1 and img9 leased after the restart, got: $listed"
check leases_after_the_failure_survive_a_restart "$py" -c '
import json, sys
l = json.loads(sys.argv[1])["leases"]
got = sorted(x["image"] for x in l if not x["image"].endswith("/img10"))
sys.exit(0 if got == sorted(sys.argv[2:]) else 1)' "$listed" "$work/img1" "$img9"
for n in 1 10; do lw b release "$work/img$n" --pid "${holders[n]}" >/dev/null 2>&1; done
lw b release "$img9" --pid "${holders[9]}" >/dev/null 2>&1
stop_daemon b
((failures == 0))
