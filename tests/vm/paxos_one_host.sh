#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The paxos backend on one host, with sanlock's daemon in the guest: the
# lockspace join runs while the daemon already serves (status shows it
# joining, an acquire meanwhile fails at once or waits, as configured);
# then acquire, conflict (refused by sanlock), kernel enforcement, release,
# shared leases, automatic lease files, manual leases and their errors,
# libvirt's <lease> through the plugin, a
# dead holder's lease freed, a kill -9 + restart that keeps the lease, and
# sanlock's state string through Inquire.
# Two daemons on this host share the lockspace (A fails an acquire during
# the join, B waits for it), standing in for two lease users.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/paxos_lib.bash"
require
require_sanlock
echo "1..29"

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
why="expected 'lockspace OTHER is not this host's', got $status: $out"
check manual_lease_of_another_lockspace_is_refused failed_with "lockspace OTHER is not this host's"
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

lw A acquire "$img" --pid "$h1" >/dev/null 2>&1
kill9_daemon A
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

stop_daemon A; stop_daemon B
stop_sanlock
umount "$shared" 2>/dev/null
exit $((failures > 0))
