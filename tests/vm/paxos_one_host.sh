#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The paxos backend on one host, with sanlock's daemon in the guest: the
# lockspace join runs while the daemon already serves (status shows it
# joining, an acquire meanwhile fails at once or waits, as configured);
# then acquire, conflict (refused by sanlock), kernel enforcement, release,
# shared leases, automatic lease files, manual leases and their errors,
# libvirt's <lease> through the plugin, a
# dead holder's lease freed, a kill -9 + restart that keeps the lease, and
# sanlock's state string through Inquire. A release whose agent cannot let
# go (stopped) holds nobody up: the daemon answers others, refuses the
# image as "releasing", and answers the Release once the agent let go, or
# killed it after the release deadline. The keeper keeps each agent's
# control socket across a restart, so a lease sanlock takes away while the
# daemon is down (its lockspace's storage fails) is fenced by the agent
# alone and recorded as lost, not as its holder's exit.
# Each daemon keeps spare agents, forked ahead or back from a release: an
# acquire takes one, so acquire + release cycles fork none; they end with
# their daemon.
# Two daemons on this host share the lockspace (A fails an acquire during
# the join, B waits for it), standing in for two lease users.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/paxos_lib.bash"
require
require_sanlock
echo "1..44"

shared=$work/shared
io=1
check sanlock_daemon_starts start_sanlock
check shared_storage_mounted shared_fs "$shared"
mkdir -p "$shared/leases" && chgrp sanlock "$shared/leases" && chmod 2770 "$shared/leases"
init_lockspace LS "$shared/lockspace" "$io"
# A join that takes long whatever the load: host id 1 was last renewed by
# another sanlock (a killed one), so the join waits until that one counts as
# dead (8 * io_timeout + 60 s): the daemon must serve all along.
"$sanlock_bin" client add_lockspace -s "LS:1:$shared/lockspace:0" -o "$io" >/dev/null 2>&1
kill -KILL "$(cat /run/sanlock/sanlock.pid)"
wait_until 10 not pgrep -x sanlock >/dev/null
start_sanlock
init_resource LS vm1 "$shared/manual.lease" 0
truncate -s 2M "$shared/blank.lease" && chown sanlock:sanlock "$shared/blank.lease"
common=("lockspace = LS" "lockspace_path = $shared/lockspace" "host_id = 1" "io_timeout = $io"
	"lease_dir = $shared/leases")
paxos_conf "$work/a.conf" "${common[@]}" "join_wait_sec = 0"
paxos_conf "$work/b.conf" "${common[@]}" "join_wait_sec = 150"

img=$(new_image vm.img)
img2=$(new_image other.img)
start_holder h1; start_holder h2

t0=$(now_ms)
check daemon_serves_before_the_join start_daemon A --config "$work/a.conf"
state=$(lockspace_state A)
why="expected the lockspace to be joining right after start, got '$state'"
check status_shows_lockspace_joining [ "$state" = joining ]
out=$(lw A status 2>&1)
why="expected 'lockspace:        LS joining for N s (host_id 1)' in the status text, got: $out"
check status_text_shows_lockspace_joining grep -Eq '^lockspace: +LS joining for [0-9.]+ s \(host_id 1\)$' <<<"$out"
out=$(lw A acquire "$img" --pid "$h1" 2>&1); status=$?
why="expected a clear 'lockspace LS is joining' error, got $status: $out"
check acquire_during_join_fails_at_once_when_not_waiting failed_with "lockspace LS is joining"

start_daemon B --config "$work/b.conf" >/dev/null
out=$(lw B acquire "$img" --pid "$h1" 2>&1); status=$?
t_joined_acquire=$(now_ms)
why="expected the acquire to wait for the join and succeed, got $status: $out"
check acquire_during_join_waits_and_succeeds [ $status -eq 0 ]
check status_shows_lockspace_joined wait_lockspace A joined 150
out=$(lw A status 2>&1)
why="expected 'lockspace:        LS joined in N s (host_id 1)' in the status text, got: $out"
check status_text_shows_lockspace_joined grep -Eq '^lockspace: +LS joined in [0-9.]+ s \(host_id 1\)$' <<<"$out"
echo "# join + first acquire: $((t_joined_acquire - t0)) ms; join_seconds: $(lw A status --json | json_get 'j["backend_status"]["lockspaces"][0].get("join_seconds")')"

res=$(lw B status --json | json_get 'j["backend_status"]["leases"][0]["lease"].split(":")[1]')
why="expected sanlock to hold the automatic lease ($res) in $shared/leases"
check sanlock_holds_the_automatic_lease eval 'sanlock_holds "$res" && [ -f "$shared/leases/$res.lease" ]'
out=$(lw A acquire "$img" --pid "$h2" 2>&1); status=$?
why="expected the second daemon's acquire to be refused by sanlock (lease held), got $status: $out"
check acquire_of_a_held_lease_is_refused failed_with "lease held"
why="a rogue write to the leased image got through"
check non_holder_write_is_denied_by_the_kernel not rogue_write "$img"

t=$(now_ms); out=$(lw B release "$img" --pid "$h1" 2>&1); status=$?; t_release=$(($(now_ms) - t))
why="release failed ($status): $out"
check release_succeeds [ $status -eq 0 ]
why="sanlock still holds $res after the release"
check release_frees_the_sanlock_lease not sanlock_holds "$res"
t=$(now_ms); out=$(lw A acquire "$img" --pid "$h2" 2>&1); status=$?; t_acquire=$(($(now_ms) - t))
why="expected the other daemon to acquire after the release, got $status: $out"
check acquire_after_release_succeeds [ $status -eq 0 ]
echo "# acquire: ${t_acquire} ms, release: ${t_release} ms"
lw A release "$img" --pid "$h2" >/dev/null 2>&1

out=$(lw A acquire "$img2" --pid "$h1" --shared 2>&1 && lw B acquire "$img2" --pid "$h2" --shared 2>&1); status=$?
why="expected two shared leases on one image to coexist, got $status: $out"
check shared_leases_coexist [ $status -eq 0 ]
lw A release "$img2" --pid "$h1" >/dev/null 2>&1; lw B release "$img2" --pid "$h2" >/dev/null 2>&1

out=$(lw A acquire "$img" --pid "$h1" --lease "LS:vm1:$shared/manual.lease:0" 2>&1); status=$?
why="expected the manual lease to be taken, got $status: $out"
check manual_lease_is_taken eval '[ $status -eq 0 ] && sanlock_holds vm1'
out=$(lw B acquire "$img2" --pid "$h2" --lease "LS:vm1:$shared/manual.lease:0" 2>&1); status=$?
why="expected the same manual lease for another image to be refused, got $status: $out"
check manual_lease_held_is_refused failed_with "lease held"
lw A release "$img" --pid "$h1" >/dev/null 2>&1
out=$(lw A acquire "$img" --pid "$h1" --lease "OTHER:vm1:$shared/manual.lease:0" 2>&1); status=$?
why="expected 'lockspace OTHER is not joined on this host', got $status: $out"
check manual_lease_of_a_lockspace_not_joined_is_refused failed_with "lockspace OTHER is not joined on this host"
out=$(lw A acquire "$img" --pid "$h1" --lease "LS:vm1" 2>&1); status=$?
why="expected 'is not LOCKSPACE:RESOURCE:PATH:OFFSET', got $status: $out"
check malformed_manual_lease_is_refused failed_with "is not LOCKSPACE:RESOURCE:PATH:OFFSET"
out=$(lw A acquire "$img" --pid "$h1" --lease "LS:vm2:$shared/blank.lease:0" 2>&1); status=$?
why="expected 'no lease is initialised', got $status: $out"
check uninitialised_manual_lease_is_refused failed_with "no lease is initialised"
why="a refused acquire left a lease behind: $(lw A list 2>&1)"
check refused_acquires_leave_nothing [ "$(count_leases A)" = 0 ]
# libvirt's <lease> through the plugin (dlopened as libvirt does) on this paxos daemon
out=$("$top/build/tests/vm/libvirt_plugin_calls" --paxos "$(sock A)" "LS:vm1:$shared/manual.lease:0" "$img" 2>&1); status=$?
why="expected the plugin's <lease> sequence to pass, got $status: $(grep -E 'FAIL|ERROR|expected|error' <<<"$out" | head -n 5 | tr '\n' ' ')"
check libvirt_lease_is_the_named_paxos_lease_of_the_domains_disk [ $status -eq 0 ]

start_holder h3
lw A acquire "$img" --pid "$h3" >/dev/null 2>&1
kill -KILL "$h3"; wait "$h3" 2>/dev/null
why="the dead holder's lease is still in sanlock or the daemon: $(lw A list 2>&1)"
check dead_holders_lease_is_freed wait_until 30 eval '[ "$(count_leases A)" = 0 ] && ! sanlock_holds "$res"'

# Spare agents: forked ahead once the lockspace is joined, holding no
# lease; an acquire takes one, a release gives its agent back, so acquire
# + release cycles fork no agent; they do not outlive their daemon.
spares=$(spare_agents_of A)
why="expected a spare agent of daemon A holding no lease; got '$spares'; sanlock: $("$sanlock_bin" client status 2>&1 | tr '\n' ' ')"
check daemon_keeps_a_spare_agent eval '[ -n "$spares" ] && ! holds_a_lease $spares'
lw A acquire "$img" --pid "$h1" >/dev/null 2>&1
agent=$(lw A status --json | json_get 'j["backend_status"]["leases"][0]["agent_pid"]')
why="expected the lease's agent to be one of the spares ($spares), got $agent"
check acquire_takes_a_spare_agent grep -qw "$agent" <<<"$spares"
lw A acquire "$img2" --pid "$h1" >/dev/null 2>&1	# a second lease: a second agent
lw A release "$img" --pid "$h1" >/dev/null 2>&1; lw A release "$img2" --pid "$h1" >/dev/null 2>&1
wait_until 10 eval '[ "$(wc -w <<<"$(agents_of A)")" = 2 ]'	# both spares now
before=$(agents_of A)
for _ in 1 2 3; do lw A acquire "$img" --pid "$h1" >/dev/null 2>&1 && lw A release "$img" --pid "$h1" >/dev/null 2>&1; done
why="expected the same agents before and after 3 acquire + release cycles: '$before', then '$(agents_of A)'"
check acquire_release_cycles_fork_no_agent eval '[ -n "$before" ] && [ "$(agents_of A)" = "$before" ] && ! holds_a_lease $before'
lw A acquire "$img" --pid "$h1" >/dev/null 2>&1
spares=$(spare_agents_of A)
kill9_daemon A
why="spare agents of the killed daemon are still running: $spares"
check spare_agents_end_with_their_daemon wait_until 10 eval 'for p in $spares; do alive $p && exit 1; done; true'
why="sanlock dropped the lease while lockwardend was down"
check lease_held_while_daemon_is_down sanlock_holds "$res"
check daemon_restarts start_daemon A --config "$work/a.conf"
why="expected the restarted daemon to re-adopt the lease: $(lw A list 2>&1)"
check restart_readopts_the_lease eval '[ "$(count_leases A)" = 1 ] && sanlock_holds "$res" && not rogue_write "$img"'
state=$(lw A inquire "$img" --json 2>&1 | json_get 'j.get("backend_state")')
why="expected Inquire to carry sanlock's state string naming $res, got: $state"
check inquire_carries_sanlocks_lease_state grep -q "^LS:$res:" <<<"$state"
out=$(lw A release "$img" --pid "$h1" 2>&1); status=$?
why="release after restart failed ($status) or left the sanlock lease: $out"
check release_after_restart_frees_the_lease eval '[ $status -eq 0 ] && ! sanlock_holds "$res"'

# A release whose agent cannot let go yet (stopped) does not stall the loop.
lw A acquire "$img" --pid "$h1" >/dev/null 2>&1
agent=$(lw A status --json | json_get 'j["backend_status"]["leases"][0]["agent_pid"]')
kill -STOP "$agent"
lw A release "$img" --pid "$h1" >"$work/release.out" 2>&1 &
rel=$!
wait_until 10 eval '[ "$(count_leases A)" = 0 ]'
out=$(lw A status 2>&1); status=$?
why="expected status answered while the Release waits for the stopped agent, got $status: $out; Release $(kill -0 $rel 2>/dev/null && echo pending || echo done: $(cat "$work/release.out"))"
check status_answers_while_a_release_waits_for_its_agent eval '[ $status -eq 0 ] && kill -0 $rel 2>/dev/null'
out=$(lw A acquire "$img" --pid "$h2" 2>&1); status=$?
why="expected an acquire meanwhile refused as still being let go, got $status: $out"
check acquire_while_releasing_is_refused_with_the_reason failed_with "still letting it go"
kill -CONT "$agent"
wait "$rel"; status=$?
why="expected the Release answered with success once the agent let go, got $status: $(cat "$work/release.out")"
check release_is_answered_once_the_agent_let_go eval '[ $status -eq 0 ] && ! sanlock_holds "$res"'
lw A acquire "$img" --pid "$h1" >/dev/null 2>&1
agent=$(lw A status --json | json_get 'j["backend_status"]["leases"][0]["agent_pid"]')
kill -STOP "$agent"
t=$(now_ms); out=$(lw A release "$img" --pid "$h1" 2>&1); status=$?; t_killed=$(($(now_ms) - t))
why="expected the stuck agent killed at the deadline and the Release answered, got $status after ${t_killed} ms: $out"
check release_of_a_stuck_agent_ends_at_the_deadline eval '[ $status -eq 0 ] && wait_until 10 not sanlock_holds "$res"'
why="expected the audit record of the release to say the agent was killed: $(tail -n 2 "$work/A/audit.log")"
check stuck_release_is_audited_with_the_reason grep -q "did not release within 10 s and was killed" "$work/A/audit.log"
echo "# release of a stopped agent answered after ${t_killed} ms (deadline 10 s)"
out=$(lw A acquire "$img" --pid "$h2" 2>&1); status=$?
why="expected the image free again after the killed agent's release, got $status: $out"
check image_is_free_after_a_killed_agents_release [ $status -eq 0 ]
lw A release "$img" --pid "$h2" >/dev/null 2>&1

# A lease sanlock loses while the daemon is down (the storage of its
# lockspace fails): the agent fences by itself; the restarted daemon reads
# what the agent said on the socket the keeper kept, and records the lease
# as lost. A lockspace LF of its own, on dm over a loop file, for daemon C.
modprobe dm_mod
truncate -s 8M "$work/lf.img" && loopdev=$(losetup -f --show "$work/lf.img") &&
	dmsetup create lwlf --table "0 $(blockdev --getsz "$loopdev") linear $loopdev 0" && dmsetup mknodes lwlf
init_lockspace LF /dev/mapper/lwlf "$io"
paxos_conf "$work/c.conf" "lockspace = LF" "lockspace_path = /dev/mapper/lwlf" "host_id = 1" "io_timeout = $io" \
	"lease_dir = $shared/leases" "join_wait_sec = 150"
start_daemon C --config "$work/c.conf" >/dev/null
img3=$(new_image fenced.img)
# a holder that writes: it opens the image for write once it holds the lease
( while [ ! -e "$work/go3" ]; do nap 0.1; done; exec 3<>"$img3"; exec sleep 100000 ) &
writer=$!; children+=("$writer")
out=$(lw C acquire "$img3" --pid "$writer" 2>&1); status=$?
: >"$work/go3"
why="acquire on lockspace LF failed ($status) or the holder did not open its image: $out"
check writer_holds_a_lease_of_a_second_lockspace eval '[ $status -eq 0 ] && wait_until 10 eval "ls -l /proc/$writer/fd 2>/dev/null | grep -q fenced.img"'
# a manual lease may name any lockspace sanlock joined here (C's LF, for A)
init_resource LF vmf "$shared/lf-manual.lease" 0
out=$(lw A acquire "$img2" --pid "$h2" --lease "LF:vmf:$shared/lf-manual.lease:0" 2>&1); status=$?
why="expected daemon A to take a manual lease in lockspace LF that C joined, got $status: $out"
check manual_lease_in_a_lockspace_another_joined_is_taken eval '[ $status -eq 0 ] && sanlock_holds vmf'
lw A release "$img2" --pid "$h2" >/dev/null 2>&1
kill9_daemon C
dmsetup suspend --nolockfs lwlf && dmsetup load lwlf --table "0 $(blockdev --getsz "$loopdev") error" && dmsetup resume lwlf
why="the writer still runs 60 s after the lockspace's storage failed, with the daemon down"
check writer_is_fenced_while_the_daemon_is_down wait_until 60 not alive "$writer"
check daemon_restarts_after_its_lease_was_lost start_daemon C --config "$work/c.conf"
why="expected a forced-release record saying sanlock lost the lease while the daemon was down: $(tail -n 2 "$work/C/audit.log")"
check lease_lost_while_down_is_recorded_as_lost eval '[ "$(count_leases C)" = 0 ] && grep -q "forced-release.*sanlock lost the lease.*while the daemon was down" "$work/C/audit.log"'
stop_daemon C
dmsetup remove lwlf 2>/dev/null; losetup -d "$loopdev" 2>/dev/null

stop_daemon A; stop_daemon B
stop_sanlock
umount "$shared" 2>/dev/null
exit $((failures > 0))
