#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A lease never moves to another file at a restart, and the restart opens
# no path but an image's. A user leases three of its own files; with the
# daemon and its keeper both killed (so every lock is taken again from the
# state file's paths), it puts a folder of symlinks in place of theirs: one
# to the same file (the lease stays), one to a root-owned file, one to
# /dev/watchdog. The restart drops the last two, each with a log line and
# an audit record saying why, and never locks, leases or opens root's file
# or the device (the softdog watchdog stays inactive). Root's own lease
# whose path names a new file after the restart is dropped too: no lease
# follows a path. Once with each enforcer: bpf-lsm keeps its entries
# across the restart (the fcntl backend's lock is what is taken again),
# fanotify's lapse with the daemon (the entry is made again too).
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..30"

user=lw-swap
id "$user" >/dev/null 2>&1 || useradd -M -s /bin/sh "$user" ||
	{ echo "not ok 1 - prerequisites: useradd $user failed"; exit 1; }
as_user() { setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all "$@"; }
chmod 755 "$work"

# soft_noboot: an armed watchdog (the old behaviour) must not reset the guest
modprobe softdog soft_noboot=1 2>&1 | sed 's/^/# /'
wd_state=/sys/class/watchdog/watchdog0/state
for _ in $(seq 50); do [ -e /dev/watchdog ] && [ -e "$wd_state" ] && break; nap 0.1; done
watchdog_inactive() { [ "$(cat "$wd_state" 2>&1)" = inactive ]; }
# disarm it if it was armed (magic close), for the rounds after
disarm_watchdog() { watchdog_inactive || printf V >/dev/watchdog 2>/dev/null; }

root_file=$work/root-owned.img
dd if=/dev/zero of="$root_file" bs=64k count=1 status=none; chmod 0644 "$root_file"

listed() { lw "$1" list 2>&1 | grep -qF -- "$2"; }
has_descriptor_of() { ls -l "/proc/$1/fd" 2>/dev/null | grep -qF -- "-> $2"; }

round() {	# round NAME ENFORCER
	local name=$1 enforcer=$2 u=$work/$1-user r=$work/$1-root uholder rholder keeper out status
	local daemon_args=(--backend fcntl --enforcer "$enforcer")

	mkdir "$u" "$r"; chown "$user:" "$u"
	as_user mkdir "$u/d"
	for f in same root dev; do as_user dd if=/dev/zero of="$u/d/$f.img" bs=64k count=1 status=none; done
	new_image "$1-root/r.img" >/dev/null
	check "${name}_daemon_starts" start_daemon "$name" "${daemon_args[@]}"
	chmod 0666 "$(sock "$name")"

	as_user "$cli_bin" --socket "$(sock "$name")" run "$u/d/same.img" "$u/d/root.img" "$u/d/dev.img" \
		-- sleep 100000 >/dev/null 2>&1 &
	uholder=$!; children+=($uholder)
	start_holder rholder
	out=$(lw "$name" acquire "$r/r.img" --pid "$rholder" 2>&1); status=$?
	wait_until 30 eval '[ "$(count_leases "$name")" = 4 ]'
	why="expected 4 leases (acquire by root: $status $out), list: $(lw "$name" list 2>&1)"
	check "${name}_user_and_root_leases_taken" [ "$(count_leases "$name")" = 4 ]

	# daemon and keeper both gone: nothing kept, every lock is taken again by path
	keeper=$(keeper_of "$name")
	kill9_daemon "$name"; kill -KILL "$keeper" 2>/dev/null
	# the user's folder of images becomes symlinks (renaming the folder,
	# not the leased files, which bpf-lsm would refuse); root's path a new file
	as_user mv "$u/d" "$u/d.old"
	as_user mkdir "$u/d"
	as_user ln -s "$u/d.old/same.img" "$u/d/same.img"
	as_user ln -s "$root_file" "$u/d/root.img"
	as_user ln -s /dev/watchdog "$u/d/dev.img"
	mv "$r" "$r.old"; mkdir "$r"; new_image "$1-root/r.img" >/dev/null

	check "${name}_daemon_restarts" start_daemon "$name" "${daemon_args[@]}"
	why="list: $(lw "$name" list 2>&1)"
	check "${name}_path_still_naming_the_leased_file_keeps_its_lease" listed "$name" "$u/d/same.img"
	why="the same file's lock on byte 0 was not taken again"
	check "${name}_kept_lease_lock_taken_again" byte0_locked "$u/d.old/same.img"
	why="the user's lease followed its path to root's file: $(lw "$name" list 2>&1)"
	check "${name}_user_lease_does_not_follow_a_symlink_to_root_file" not listed "$name" "$u/d/root.img"
	why="root's file is locked on byte 0 (the daemon locked the path's file)"
	check "${name}_root_file_is_not_locked" not byte0_locked "$root_file"
	why="root cannot write its own file after the restart"
	check "${name}_root_writes_its_own_file" rogue_write "$root_file"
	why="the lease on a symlink to /dev/watchdog was kept: $(lw "$name" list 2>&1)"
	check "${name}_user_lease_does_not_follow_a_symlink_to_a_device" not listed "$name" "$u/d/dev.img"
	why="the watchdog is $(cat "$wd_state" 2>&1) after the restart (the daemon opened it)"
	check "${name}_watchdog_never_opened" watchdog_inactive
	why="the daemon ${daemon_pid[$name]} has /dev/watchdog open"
	check "${name}_daemon_holds_no_device" not has_descriptor_of "${daemon_pid[$name]}" /dev/watchdog
	why="root's lease followed its path to a new file: $(lw "$name" list 2>&1)"
	check "${name}_root_lease_does_not_follow_a_replaced_path" not listed "$name" "$r/r.img"
	why="the file now at root's path is not writable"
	check "${name}_new_file_at_root_path_is_writable" rogue_write "$r/r.img"
	why="expected 3 log lines of a dropped lease, log: $(grep -c 'the lease is dropped' "$work/$name/daemon.log")"
	check "${name}_each_drop_is_logged" [ "$(grep -c 'the lease is dropped' "$work/$name/daemon.log")" = 3 ]
	why="expected 3 audit records naming why: $(grep -c 'cannot open its image after a restart' "$work/$name/audit.log")"
	check "${name}_each_drop_is_audited" [ "$(grep -c 'cannot open its image after a restart' "$work/$name/audit.log")" = 3 ]

	kill_tree "$uholder"; kill -KILL "$rholder"; wait "$uholder" "$rholder" 2>/dev/null
	wait_until 30 eval '[ "$(count_leases "$name")" = 0 ]'
	stop_daemon "$name"
	rm -rf "$(pins "$name")"
	disarm_watchdog
}

round lsm bpf-lsm
round fan fanotify

exit $((failures > 0))
