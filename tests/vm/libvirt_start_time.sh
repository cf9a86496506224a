#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What lock_manager = "lockwarden" costs a domain start: the same domain
# started with the plugin and with libvirt's nop lock manager, each twice,
# by real libvirtd and QEMU (TCG). Printed, not judged: the machine is
# shared and TCG is slow, so compare the two lines of one run.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/libvirt_lib.bash"
require
lv_require
trap 'lv_cleanup; stop_daemon A; cleanup' EXIT
echo "1..4"

disk=$(new_image disk.img)

# time_starts N: start and destroy the domain N times; each start's ms, sorted.
time_starts() {
	local t0 i times=()
	for ((i = 0; i < $1; i++)); do
		t0=$(date +%s%N)
		vsh start timed >/dev/null 2>&1 || { echo "failed"; return 1; }
		times+=($(( ($(date +%s%N) - t0) / 1000000 )))
		vsh destroy timed >/dev/null 2>&1
		wait_no_lease "$disk"
	done
	printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' '
}

check lockwardend_starts start_daemon A
lv_configure lockwarden
check libvirtd_starts_with_the_lockwarden_plugin lv_start
define timed "$(disk_xml "$disk" vda)"
t_plugin=$(time_starts 2)
why="starts with lockwarden: $t_plugin"
check domain_starts_twice_with_lockwarden [ "${t_plugin%% *}" != failed ]

lv_stop
lv_configure ""
lv_start
t_nop=$(time_starts 2)
echo "# virsh start, ms, sorted: with lockwarden: $t_plugin; without a lock manager: $t_nop"
why="starts without a lock manager: $t_nop"
check domain_starts_twice_without_a_lock_manager [ "${t_nop%% *}" != failed ]
