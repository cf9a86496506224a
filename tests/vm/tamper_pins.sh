#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Tampering behind the daemon's back is noticed within 2 s, logged, audited
# and undone: rm -rf of the pin folder, pins hidden under another mount
# (enforcement reported degraded until they can be pinned again), bpftool
# map delete / update of a lease entry, an entry the daemon never made, the
# guard entry (the daemon's identity) overwritten.
# A rogue writer is denied after each restore.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/tamper_lib.bash"
require
echo "1..20"

img=$(new_image leased.img)
other=$(new_image other.img)
check daemon_starts start_daemon A --backend nop
start_holder h
out=$(lw A acquire "$img" --pid "$h" 2>&1); status=$?
why="acquire failed ($status): $out"
check lease_taken [ $status -eq 0 ]
check rogue_write_denied_before_tampering not rogue_write "$img"
pindir=$(pins A)

# 1. rm -rf of the pin folder
rm -rf "$pindir"; status=$?
why="rm -rf $pindir failed ($status) with hardened = no"
check rm_rf_of_the_pins_is_possible_without_hardened [ $status -eq 0 ]
why="a rogue write got through while the pins were gone: the daemon's own references must keep the links attached"
check rogue_write_denied_while_the_pins_are_gone not rogue_write "$img"
why="the pins were not back within 2 s: $(ls -R "$pindir" 2>&1 | tr '\n' ' ')"
check pins_are_restored_within_2_s within 20 eval '[ -e "$pindir/leases" ] && ls -d "$pindir"/v-*/link_lw_file_open >/dev/null 2>&1'
why="daemon log has no LOG_CRIT tamper line: $(tail -n 5 "$work/A/daemon.log" | tr '\n' ' ')"
check pin_removal_is_logged grep -q "tamper: .*pins removed" "$work/A/daemon.log"
why="audit log has no tamper record for the pins: $(tail -n 3 "$work/A/audit.log")"
check pin_removal_is_audited audit_has A '"event":"tamper"' "pins removed"
check rogue_write_denied_after_the_pins_are_restored not rogue_write "$img"
out=$(status_get A 's["enforcement"], s["tamper"]["events"] > 0, s["tamper"]["restored_time"] is not None')
why="status after the restore: $out"
check status_reports_active_and_the_restore [ "$out" = "('active', True, True)" ]

# 2. the pins hidden under another mount: they cannot be pinned again there
mount -t tmpfs none "$pindir"
why="status with the pins hidden: $(status_get A 's["enforcement"]' 2>&1)"
check status_reports_degraded_while_the_pins_cannot_be_restored \
	within 20 eval 'status_get A "s[\"enforcement\"]" | grep -q "^degraded: "'
check rogue_write_denied_while_degraded not rogue_write "$img"
umount "$pindir"
why="status after the mount is gone: $(status_get A 's["enforcement"]' 2>&1)"
check status_reports_active_again_after_the_restore within 20 eval '[ "$(status_get A "s[\"enforcement\"]")" = active ]'

# 3. bpftool map delete of the lease entry
key=$(lease_key_hex A "$img")
out=$(bpftool map delete pinned "$pindir/leases" key $key 2>&1); status=$?
why="bpftool map delete failed ($status): $out"
check map_delete_is_possible_without_hardened [ $status -eq 0 ]
why="no tamper record for the deleted entry within 2 s: $(tail -n 2 "$work/A/audit.log")"
check deleted_entry_is_noticed_and_audited_within_2_s within 20 audit_has A '"event":"tamper"' "entry was deleted" "$img"
why="the entry is not back: $(bpftool map lookup pinned "$pindir/leases" key $key 2>&1)"
check deleted_entry_is_reinserted bpftool map lookup pinned "$pindir/leases" key $key
check rogue_write_denied_after_the_entry_is_reinserted not rogue_write "$img"

# 4. bpftool map update of the entry: no holders (nobody may write)
bpftool map update pinned "$pindir/leases" key $key value hex $(printf '00 %.0s' $(seq 200)) >/dev/null 2>&1
why="no tamper record for the changed entry within 2 s: $(tail -n 2 "$work/A/audit.log")"
check changed_entry_is_noticed_and_restored_within_2_s within 20 audit_has A '"event":"tamper"' "entry was changed" "$img"

# 5. an entry the daemon never made (denies the owner of other.img)
okey=$(python3 -c '
import os, struct, sys
st = os.stat(sys.argv[1])
print("hex " + " ".join("%02x" % b for b in struct.pack("<QQ", (os.major(st.st_dev) << 20) | os.minor(st.st_dev), st.st_ino)))' "$other")
bpftool map update pinned "$pindir/leases" key $okey value hex 01 00 00 00 01 00 00 00 $(printf '00 %.0s' $(seq 192)) >/dev/null 2>&1
why="the foreign entry was not removed within 2 s: $(tail -n 2 "$work/A/audit.log")"
check foreign_entry_is_removed_within_2_s within 20 eval 'audit_has A "\"event\":\"tamper\"" "never made" && ! bpftool map lookup pinned "$pindir/leases" key $okey >/dev/null 2>&1'

# 6. the guard entry (the daemon's identity, the hardened flag) overwritten
bpftool map update pinned "$pindir/guard" key hex 00 00 00 00 value hex $(printf '00 %.0s' $(seq 64)) >/dev/null 2>&1
why="the overwritten guard entry was not noticed within 2 s: $(tail -n 1 "$work/A/audit.log")"
check guard_entry_change_is_noticed_and_restored_within_2_s within 20 audit_has A '"event":"tamper"' "guard entry"
