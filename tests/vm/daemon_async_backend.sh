#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An acquire the backend answers later: the fcntl backend in waiting mode
# ([fcntl] wait_timeout_sec) and a lock held by another process (Python's
# fcntl, as another host sharing the storage would). While the acquire is
# pending the daemon goes on serving: Status, List, another image's
# acquire, denial records. Releasing the blocker completes it; a client that
# goes away (or a holder that dies) while pending leaves no lease and no
# lock behind.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..21"

printf '[fcntl]\nwait_timeout_sec = 600\n' >"$work/wait.conf"
check daemon_starts_with_fcntl_waiting_mode start_daemon A --backend fcntl --config "$work/wait.conf"

# block IMAGE VAR: another process takes byte 0 of IMAGE (as another host
# would) and keeps it until killed; its pid goes to VAR.
block() {
	"$py" - "$1" "$work/blocked.$2" <<'PY' >/dev/null 2>&1 &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 1, 0))
open(sys.argv[2], "w").close()
time.sleep(100000)
PY
	children+=($!)
	printf -v "$2" %s $!
	local end=$((SECONDS + 60))
	while ((SECONDS < end)); do [ -e "$work/blocked.$2" ] && return 0; nap 0.1; done
	why="the blocker of $1 did not take its lock within 60 s"
	return 1
}

# acquire_in_background IMAGE PID OUT VAR: the CLI itself (not a subshell
# around it, so killing VAR's pid closes its connection) asks for IMAGE.
acquire_in_background() {
	"$cli_bin" --socket "$(sock A)" acquire "$1" --pid "$2" >"$3" 2>&1 &
	children+=($!)
	printf -v "$4" %s $!
}

# pending_count: the daemon's pending acquires (Status), or what it said instead
pending_count() {
	local out
	out=$(lw A status --json 2>&1)
	grep -o '"pending_acquires": *[0-9]*' <<<"$out" | grep -o '[0-9]*$' || echo "no count in: $out"
}

# wait_pending N: until Status counts N pending acquires (up to 60 s).
wait_pending() {
	local n end=$((SECONDS + 60))
	while ((SECONDS < end)); do n=$(pending_count); [ "$n" = "$1" ] && return 0; nap 0.1; done
	why="expected $1 pending acquire(s) within 60 s, Status says: $n"
	return 1
}

# wait_exit PID: until the background command PID exits (up to 60 s); its status in $status.
wait_exit() {
	local end=$((SECONDS + 60))
	while ((SECONDS < end)); do
		alive "$1" || { wait "$1"; status=$?; return 0; }
		nap 0.1
	done
	why="process $1 still running after 60 s"
	return 1
}

img=$(new_image a.img)
other_img=$(new_image b.img)
check another_process_holds_the_image_lock block "$img" blocker

start_holder holder
acquire_in_background "$img" "$holder" "$work/pending.out" acquiring
check acquire_of_a_locked_image_is_pending wait_pending 1
why="the acquire returned while the lock was held elsewhere: $(cat "$work/pending.out")"
check pending_acquire_has_not_answered alive "$acquiring"

out=$(timeout 30 "$cli_bin" --socket "$(sock A)" status 2>&1); status=$?
why="expected Status answered while an acquire is pending, got $status: $out"
check second_client_status_is_answered_while_pending [ $status -eq 0 ]

out=$(lw A list --json 2>&1)
why="expected the pending lease listed with \"pending\": true, got: $out"
check list_shows_the_pending_lease_as_pending "$py" -c '
import json, sys
leases = json.loads(sys.argv[1])["leases"]
sys.exit(0 if any(l["image"] == sys.argv[2] and l.get("pending") is True for l in leases) else 1)' "$out" "$img"

out=$(lw A list 2>&1)
why="expected the pending lease's line in \`lockwarden list\` to say pending, got: $out"
line_marked_pending() { grep -F "$1" <<<"$out" | grep -qF '(pending: not granted yet, not enforced)'; }
check list_text_marks_the_pending_lease line_marked_pending "$img"

why="a write open of the pending image got through: pending leases are not enforced"
check pending_image_is_not_enforced_before_the_grant rogue_write "$img"

start_holder other
out=$(timeout 30 "$cli_bin" --socket "$(sock A)" acquire "$other_img" --pid "$other" 2>&1); status=$?
why="expected another image acquired while one is pending, got $status: $out"
check another_image_is_acquired_while_pending [ $status -eq 0 ]

why="a write open by a non-holder of $other_img got through"
check non_holder_write_is_denied_while_another_acquire_pends not rogue_write "$other_img"
end=$((SECONDS + 60))
while ((SECONDS < end)); do grep -q '"denial"' "$work/A/audit.log" 2>/dev/null && break; nap 0.1; done
why="expected a denial record in the audit log, got: $(tail -n 2 "$work/A/audit.log" 2>&1)"
check denial_is_audited_while_an_acquire_pends grep -q '"denial"' "$work/A/audit.log"

start_holder second
out=$(timeout 30 "$cli_bin" --socket "$(sock A)" acquire "$img" --pid "$second" 2>&1); status=$?
why="expected a second acquire of the pending image refused as held, got $status: $out"
check second_acquire_of_a_pending_image_is_refused failed_with "lease held"

kill -KILL "$blocker"
check pending_acquire_completes_once_the_blocker_lets_go wait_exit "$acquiring"
why="expected the completed acquire to succeed, got $status: $(cat "$work/pending.out")"
check completed_acquire_succeeds [ "$status" -eq 0 ]
out=$(lw A list --json 2>&1)
why="expected $img leased by $holder and not pending, got: $out"
check granted_lease_is_listed_without_pending "$py" -c '
import json, sys
leases = [l for l in json.loads(sys.argv[1])["leases"] if l["image"] == sys.argv[2]]
sys.exit(0 if len(leases) == 1 and "pending" not in leases[0] and
         leases[0]["holders"][0]["pid"] == int(sys.argv[3]) else 1)' "$out" "$img" "$holder"
why="a write open by a non-holder got through after the grant"
check granted_lease_is_enforced not rogue_write "$img"
why="expected the daemon's lock on byte 0 of $img"
check granted_lease_holds_the_backend_lock byte0_locked "$img"

# a client that disconnects while pending leaves nothing behind
gone_img=$(new_image c.img)
block "$gone_img" gone_blocker
acquire_in_background "$gone_img" "$holder" /dev/null gone_client
wait_pending 1
kill -KILL "$gone_client"; wait "$gone_client" 2>/dev/null
check disconnected_client_cancels_its_pending_acquire wait_pending 0
kill -KILL "$gone_blocker"; wait "$gone_blocker" 2>/dev/null
# were it not cancelled, the lock would be taken within a fraction of a second
leftover=""
end=$((SECONDS + 3))
while ((SECONDS < end)); do byte0_locked "$gone_img" && leftover=yes && break; nap 0.1; done
why="the daemon took the lock of $gone_img after its client had gone"
check cancelled_acquire_takes_no_lock_later [ -z "$leftover" ]
why="expected no lease on $gone_img, list says: $(lw A list --json 2>&1)"
check cancelled_acquire_leaves_no_lease not grep -q "$gone_img" <<<"$(lw A list --json 2>&1)"

# a holder that dies while its acquire is pending
dead_img=$(new_image d.img)
block "$dead_img" dead_blocker
start_holder doomed
acquire_in_background "$dead_img" "$doomed" "$work/doomed.out" doomed_client
wait_pending 1
kill -KILL "$doomed"
wait_exit "$doomed_client"
out=$(cat "$work/doomed.out")
why="expected the pending acquire refused because its holder exited, got $status: $out"
check holder_death_while_pending_answers_the_acquire failed_with "exited while its acquire was pending"

exit $((failures > 0))
