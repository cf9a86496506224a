#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# kill -9 and restart of lockwardend lose nothing: the backend lock stays
# held (another host cannot take it), the kernel keeps denying a rogue writer
# that polls throughout, the restarted daemon re-adopts its leases and
# releases those of holders that died meanwhile; no stale lease remains. The
# same across a SIGUSR1 re-exec. The keeper killed with the daemon up loses
# nothing (the daemon holds its own copy of every lock, a new keeper inherits
# them), nor does the daemon killed after that; both killed together, the
# restart takes the lock again with the lease enforced all along. A state
# of an earlier boot (the snapshot's boot id changed) is dropped whole, even
# a lease whose holder is alive: kernel entry and lock let go, a log line.
#   daemon_restart.sh [--lockspace]: fcntl direct mode (locks on the images)
#   or indirect mode (lock files in a lockspace).
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..29"

opts=()
if [ "${1:-}" = --lockspace ]; then
	mkdir -p "$work/lockspace"
	opts=(--lockspace "$work/lockspace")
fi
# the file whose byte 0 carries image's backend lock
lock_of() {
	if ((${#opts[@]})); then
		echo "$work/lockspace/$(printf %s "$1" | sha256sum | cut -d' ' -f1)"
	else
		echo "$1"
	fi
}

img=$(new_image kept.img)
img2=$(new_image dies.img)
img3=$(new_image shared.img)
check daemon_starts start_daemon A --backend fcntl "${opts[@]}"

start_holder h1; start_holder h2; start_holder s1; start_holder s2
out=$(lw A acquire "$img" --pid "$h1" 2>&1 && lw A acquire "$img2" --pid "$h2" 2>&1 &&
	lw A acquire "$img3" --pid "$s1" --shared 2>&1 && lw A acquire "$img3" --pid "$s2" --shared 2>&1); status=$?
why="acquires failed ($status): $out"
check leases_taken_before_the_crash [ $status -eq 0 ]

# a rogue writer polls both images through the crash; any success is a breach
breach=$work/breach
( while [ ! -e "$work/stop-rogue" ]; do
	for f in "$img" "$img2" "$work/orphan.img"; do
		if { [ ! -e "$work/h2-dead" ] || [ "$f" != "$img2" ]; } &&
		   { [ -e "$work/orphan-leased" ] || [ "$f" != "$work/orphan.img" ]; }; then
			rogue_write "$f" && echo "$f" >>"$breach"
		fi
	done
	nap 0.05
done ) & rogue=$!; children+=($rogue)
sleep 1

kill9_daemon A
# direct mode: the lock on byte 0 of the image, which any host would see
why="nobody holds the backend lock of $img while the daemon is down"
check backend_lock_survives_kill_9 byte0_locked "$(lock_of "$img")"
why="a write got through while the daemon was down: $(cat "$breach" 2>/dev/null)"
check kernel_keeps_denying_while_the_daemon_is_down [ ! -s "$breach" ]

# h2 dies while the daemon is down: the restart must release its lease
touch "$work/h2-dead"
kill -KILL "$h2" "$s2"; wait "$h2" "$s2" 2>/dev/null
check daemon_restarts_after_kill_9 start_daemon A --backend fcntl "${opts[@]}"
out=$(lw A list --json 2>&1)
why="list after restart: $out"
check restart_readopts_the_live_holders_lease grep -q "\"pid\": *$h1" <<<"$out"
why="list after restart still has the dead holder $h2: $out"
check restart_releases_the_dead_holders_lease not grep -q "\"pid\": *$h2" <<<"$out"
why="the dead holder's image is still enforced"
check dead_holders_image_is_writable_again rogue_write "$img2"
why="the dead holder's image is still locked on byte 0"
check dead_holders_backend_lock_is_released not byte0_locked "$(lock_of "$img2")"
out=$(lw A list --json 2>&1)
why="shared lease after restart should keep holder $s1 and lose $s2: $out"
check shared_lease_keeps_its_live_holder_after_restart grep -q "\"pid\": *$s1" <<<"$out"
check shared_lease_loses_its_dead_holder_after_restart not grep -q "\"pid\": *$s2" <<<"$out"
kill -KILL "$s1"; wait "$s1" 2>/dev/null
for _ in $(seq 50); do grep -q "$img3" <<<"$(lw A list 2>&1)" || break; nap 0.1; done
why="the shared lease outlived its last holder: $(lw A list 2>&1)"
check shared_lease_ends_with_its_last_holder_after_restart not grep -q "$img3" <<<"$(lw A list 2>&1)"

pid_before=${daemon_pid[A]}
kill -USR1 "$pid_before"
sleep 1
wait_answers A
out=$(lw A list --json 2>&1)
why="after SIGUSR1 the daemon's pid $pid_before is gone"
check reexec_keeps_the_pid alive "$pid_before"
why="after SIGUSR1, list: $out"
check reexec_keeps_the_lease grep -q "\"pid\": *$h1" <<<"$out"
why="nobody holds the lock on byte 0 of $img after the re-exec"
check backend_lock_survives_reexec byte0_locked "$(lock_of "$img")"

retakes() { grep -c "took it again" "$work/A/daemon.log"; }

# the keeper killed with the daemon up: the daemon's own copy holds the lock
# and a new keeper inherits it, so a daemon kill after that loses nothing
img4=$(new_image orphan.img); start_holder h4
lw A acquire "$img4" --pid "$h4" >/dev/null 2>&1 && touch "$work/orphan-leased"
keeper=$(keeper_of A)
kill -KILL "$keeper"
why="nobody holds the backend lock of $img4 after its keeper $keeper was killed"
check backend_lock_survives_keeper_kill_with_the_daemon_up byte0_locked "$(lock_of "$img4")"
for _ in $(seq 50); do [ "$(keeper_of A)" != "$keeper" ] && break; nap 0.1; done
new_keeper=$(keeper_of A)
why="no new keeper after killing $keeper (last logged: $new_keeper): $(tail -n 3 "$work/A/daemon.log")"
replaced() { [ -n "$new_keeper" ] && [ "$new_keeper" != "$keeper" ] && alive "$new_keeper"; }
check a_new_keeper_replaces_a_killed_one replaced
retakes_before=$(retakes)
kill9_daemon A
why="nobody holds the backend lock of $img4 with the daemon down, its new keeper $new_keeper up"
check backend_lock_survives_a_daemon_kill_after_a_keeper_kill byte0_locked "$(lock_of "$img4")"
start_daemon A --backend fcntl "${opts[@]}" >/dev/null
why="the restart took $(($(retakes) - retakes_before)) lock(s) again: the new keeper did not hold them all"
check restart_after_a_keeper_kill_finds_every_lock_kept [ "$(retakes)" = "$retakes_before" ]

# the daemon and the keeper killed together: the restart takes the lock
# again, the lease enforced all along (the rogue still polls)
keeper=$(keeper_of A)
kill9_daemon A; kill -KILL "$keeper" 2>/dev/null
start_daemon A --backend fcntl "${opts[@]}" >/dev/null
out=$(lw A list --json 2>&1)
why="after kill -9 of daemon and keeper ($keeper), list: $out"
check lease_survives_loss_of_daemon_and_keeper grep -q "\"pid\": *$h4" <<<"$out"
why="nobody holds the backend lock of $img4 after the keeper died"
check lock_is_taken_again_after_keeper_loss byte0_locked "$(lock_of "$img4")"
why="a write open of $img4 got through after the keeper died"
check enforcement_is_back_after_keeper_loss not rogue_write "$img4"

touch "$work/stop-rogue"; wait "$rogue" 2>/dev/null
why="writes got through: $(sort "$breach" 2>/dev/null | uniq -c | tr '\n' ' ')"
check rogue_writer_never_succeeded_throughout [ ! -s "$breach" ]
kill -KILL "$h4"; wait "$h4" 2>/dev/null


kill -KILL "$h1"; wait "$h1" 2>/dev/null
for _ in $(seq 50); do [ "$(count_leases A)" = 0 ] && break; nap 0.1; done
listed=$(count_leases A)
kernel=$(bpftool -j map dump pinned "$(pins A)/leases" 2>&1 | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>&1)
why="after the last holder died: $listed lease(s) listed, kernel entries: $kernel"
check no_stale_lease_remains [ "$listed:$kernel" = "0:0" ]
why="the lock on byte 0 outlived the last holder (kept by the keeper after the restart)"
check last_release_after_restart_frees_the_backend_lock not byte0_locked "$(lock_of "$img")"

# a state of an earlier boot: its leases ended with it (the journal is not
# synced, so it is not even read); simulated by changing the boot id the
# snapshot names, with the holder still alive
img5=$(new_image boot.img)
start_holder h5
out=$(lw A acquire "$img5" --pid "$h5" 2>&1)
why="expected the acquire of $img5 to succeed: $out"
check lease_taken_before_a_simulated_reboot [ "$(count_leases A)" = 1 ]
stop_daemon A
state_of_another_boot A
start_daemon A --backend fcntl "${opts[@]}" >/dev/null
why="after the restart: $(count_leases A) lease(s); log: $(tail -n 3 "$work/A/daemon.log" | tr '\n' ' ')"
check state_of_an_earlier_boot_is_dropped_with_a_log_line dropped_as_of_another_boot A
kernel=$(bpftool -j map dump pinned "$(pins A)/leases" 2>&1 | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>&1)
why="kernel entries after the drop: $kernel; a write of $img5 was denied"
no_entry_and_writable() { [ "$kernel" = 0 ] && rogue_write "$img5"; }
check dropped_lease_leaves_no_kernel_entry no_entry_and_writable
why="the lock of $img5 is still held after its lease was dropped"
check dropped_lease_lets_its_lock_go not byte0_locked "$(lock_of "$img5")"
stop_daemon A

exit $((failures > 0))
