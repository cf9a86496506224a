#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# libvirt with lock_manager = "lockwarden": real libvirtd and QEMU (TCG)
# lease every writable disk of every domain to its QEMU, with no change to
# the domain XML; the kernel denies everyone else.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/libvirt_lib.bash"
require
lv_require
# stop lockwardend before daemon_lib's cleanup, whose wait would otherwise wait for it
trap 'lv_cleanup; umount "$work/images" 2>/dev/null; [ -n "${daemon_pid[A]:-}" ] && stop_daemon A; cleanup' EXIT
echo "1..22"

# the images live on ext4: libvirt opens <shareable/> disks with O_DIRECT,
# which the guest's tmpfs refuses
modprobe loop 2>/dev/null
truncate -s 64M "$work/fs.img" && mkfs.ext4 -q -F "$work/fs.img" && mkdir -p "$work/images" &&
	mount -o loop "$work/fs.img" "$work/images" ||
	{ echo "1..1"; echo "not ok 1 - prerequisites: cannot mount an ext4 image for the disks"; exit 1; }
new_image() { local f=$work/images/$1; dd if=/dev/zero of="$f" bs=64k count=1 status=none; echo "$f"; }
disk=$(new_image disk.img)
shared=$(new_image shared.img)
ro=$(new_image ro.img)
extra=$(new_image extra.img)

check lockwardend_starts start_daemon A
lv_configure lockwarden
check libvirtd_starts_with_the_lockwarden_plugin lv_start

define a "$(disk_xml "$disk" vda)" "$(disk_xml "$ro" vdb '<readonly/>')"
define b "$(disk_xml "$disk" vda)"
define c "$(disk_xml "$shared" vda '<shareable/>')"
define d "$(disk_xml "$shared" vda '<shareable/>')"

out=$(vsh start a 2>&1); status=$?
why="virsh start a failed ($status): $out"
check domain_with_a_writable_disk_starts [ $status -eq 0 ]
qa=$(qemu_pid a)
why="expected holder pid $qa (a's QEMU), lease: $(lease_text "$disk")"
check writable_disk_is_leased_to_the_domains_qemu [ "$(holder_pids "$disk")" = "$qa" ]
why="read-only disk has a lease: $(lease_text "$ro")"
check readonly_disk_is_not_leased not_leased "$ro"

out=$(vsh start b 2>&1); status=$?
echo "# virsh start b printed: $(tr '\n' ' ' <<<"$out")"
why="expected a failure naming $disk and 'lease held by pid $qa (qemu-system-x86)', got status $status: $out"
check second_domain_on_the_same_disk_fails_naming_the_holder \
	failed_with "$disk: exclusive lease held by pid $qa (qemu-system-x86)"
why="b is $(vsh domstate b 2>&1)"
check second_domain_is_not_running [ "$(vsh domstate b 2>&1)" = "shut off" ]

why="dd wrote into the running domain's disk"
check dd_writing_the_running_domains_disk_is_denied not rogue_write "$disk"
out=$(qemu-img resize -f raw "$disk" 1M 2>&1); status=$?
why="qemu-img resize got through (status $status): $out"
check qemu_img_writing_the_running_domains_disk_fails [ $status -ne 0 ]
# the kernel, not only QEMU's own image locking, said no: the audit trail has both
denied_by() { "$py" - "$work/A/audit.log" "$1" "$2" "$disk" <<'PY'
import json, sys
log, comm, holder, image = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
for line in open(log):
    r = json.loads(line)
    h = r.get("holder") or {}
    if r.get("comm") == comm and r.get("image") == image and h.get("pid") == holder:
        sys.exit(0)
sys.exit(1)
PY
}
for _ in $(seq 50); do denied_by qemu-img "$qa" && break; nap 0.1; done
why="no audit record of dd denied with holder $qa: $(tail -n 3 "$work/A/audit.log")"
check dd_denial_is_audited_with_the_domains_qemu_as_holder denied_by dd "$qa"
why="no audit record of qemu-img denied with holder $qa: $(tail -n 3 "$work/A/audit.log")"
check qemu_img_denial_is_audited_with_the_domains_qemu_as_holder denied_by qemu-img "$qa"

out=$(vsh start c 2>&1 && vsh start d 2>&1); status=$?
why="starting c and d on one <shareable/> disk failed ($status): $out"
check two_domains_share_a_shareable_disk [ $status -eq 0 ]
want=$(printf '%s\n' "$(qemu_pid c)" "$(qemu_pid d)" | sort | tr '\n' ' ' | sed 's/ $//')
why="expected a shared lease held by $want, lease: $(lease_text "$shared")"
check shareable_disk_has_one_shared_lease_with_both_qemus [ "$(holder_pids "$shared")" = "$want" ]

vsh suspend a >/dev/null 2>&1
why="lease after suspend: $(lease_text "$disk")"
check suspend_releases_the_lease not_leased "$disk"
vsh resume a >/dev/null 2>&1
why="lease after resume: $(lease_text "$disk")"
check resume_reacquires_the_lease [ "$(holder_pids "$disk")" = "$qa" ]

out=$(vsh attach-disk a "$extra" sdb --targetbus usb --driver qemu --subdriver raw 2>&1); status=$?
why="attach-disk ($status): $out; lease: $(lease_text "$extra")"
check hotplugged_disk_is_leased_to_the_domain [ $status -eq 0 -a "$(holder_pids "$extra")" = "$qa" ]
out=$(vsh detach-disk a sdb 2>&1); status=$?
for _ in $(seq 100); do not_leased "$extra" && break; nap 0.1; done
why="detach-disk ($status): $out; lease: $(lease_text "$extra")"
check unplugged_disk_lease_is_released not_leased "$extra"

lv_stop
lv_start
why="libvirtd restart: $why; a is $(vsh domstate a 2>&1), lease $(lease_text "$disk")"
check libvirtd_restart_keeps_the_running_domains_lease \
	[ "$(vsh domstate a 2>&1)" = running -a "$(holder_pids "$disk")" = "$qa" ]
why="dd wrote into the disk after the libvirtd restart"
check disk_stays_protected_after_libvirtd_restart not rogue_write "$disk"

vsh destroy a >/dev/null 2>&1
why="lease after destroy: $(lease_text "$disk")"
check stopping_the_domain_releases_its_lease wait_no_lease "$disk"
vsh destroy c >/dev/null 2>&1; vsh destroy d >/dev/null 2>&1
out=$(vsh start b 2>&1); status=$?
why="virsh start b after a stopped ($status): $out"
check the_other_domain_starts_once_the_disk_is_free [ $status -eq 0 ]
vsh destroy b >/dev/null 2>&1

wait_no_lease "$disk"
stop_daemon A
rm -rf "$(pins A)"
unset 'daemon_pid[A]'
out=$(vsh start b 2>&1); status=$?
echo "# virsh start b with lockwardend stopped printed: $(tr '\n' ' ' <<<"$out")"
why="expected a failure saying 'is lockwardend running?', got status $status: $out"
check domain_does_not_start_without_lockwardend_and_says_why failed_with "is lockwardend running?"
