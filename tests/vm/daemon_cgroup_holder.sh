#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A cgroup holder (libvirt's machine scope) lives as long as its cgroup:
# removing the folder releases what it held, while the daemon runs and
# across a restart; a new cgroup of the same path is not the holder.
. "$(dirname "$0")/daemon_lib.bash"
require
echo "1..7"

cg_root=/sys/fs/cgroup/lw-test-cgroup-$$
mkdir -p "$cg_root"
# new_cgroup NAME: an empty cgroup v2 folder; its path on stdout.
new_cgroup() { mkdir "$cg_root/$1" && echo "$cg_root/$1"; }
# in_cgroup CG CMD...: run CMD inside CG (a subshell moves itself first).
in_cgroup() { local cg=$1; shift; sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"; }
acquire_cgroup() { varlink a "{\"method\":\"io.lockwarden.Manager.Acquire\",\"parameters\":{\"image\":\"$1\",\"cgroup\":\"$2\"}}"; }
# wait_leases N: until daemon a lists N leases (up to 10 s).
wait_leases() { for _ in $(seq 100); do [ "$(count_leases a)" = "$1" ] && return 0; nap 0.1; done; why="expected $1 leases, listed $(count_leases a)"; return 1; }
trap 'cleanup; rmdir "$cg_root"/* "$cg_root" 2>/dev/null' EXIT

start_daemon a || { not_ok daemon_starts "$why"; exit 1; }
img=$(new_image one.img)
cg=$(new_cgroup vm1)
out=$(acquire_cgroup "$img" "$cg")
why="acquire for $cg answered: $out"
check cgroup_holder_acquires grep -q '"lease"' <<<"$out"
check process_in_the_cgroup_writes in_cgroup "$cg" dd if=/dev/zero of="$img" bs=1 count=1 conv=notrunc status=none
why="a write open outside the cgroup got through"
check process_outside_the_cgroup_is_denied not rogue_write "$img"

rmdir "$cg"
check removing_the_cgroup_releases_its_lease wait_leases 0
why="the audit log has no holder death for the cgroup: $(tail -n 2 "$work/a/audit.log")"
check release_is_audited grep -q "holder-death.*$cg\|$cg.*holder-death" "$work/a/audit.log"

# across a restart: the cgroup removed while the daemon is down
cg=$(new_cgroup vm2)
out=$(acquire_cgroup "$img" "$cg")
kill9_daemon a
rmdir "$cg"
start_daemon a
check cgroup_removed_while_down_is_released_at_restart wait_leases 0

# the same path made again is another cgroup: not the holder
cg=$(new_cgroup vm3)
out=$(acquire_cgroup "$img" "$cg")
kill9_daemon a
rmdir "$cg"; mkdir "$cg"
start_daemon a
check same_path_new_cgroup_is_not_the_holder wait_leases 0
rmdir "$cg"
((failures == 0))
