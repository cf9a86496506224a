#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# hardened = yes: root's bpftool and rm cannot touch lockwarden's maps,
# programs, links or pins (each refusal audited as a denial); only the
# running daemon can, a restart of the daemon's binary takes over once it
# exited, and a second daemon cannot adopt the pins while the first runs.
# The documented way out (restart with hardened = no) makes them removable
# again, and then tampering is noticed and undone as without hardening.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/tamper_lib.bash"
require
echo "1..25"

img=$(new_image leased.img)
conf=$(hardened_conf)
check hardened_daemon_starts start_daemon A --backend nop --config "$conf"
start_holder h
out=$(lw A acquire "$img" --pid "$h" 2>&1); status=$?
why="acquire failed ($status): $out"
check lease_taken [ $status -eq 0 ]
why="status: $(lw A status --json 2>&1)"
check status_says_hardened [ "$(status_get A 's["hardened"]')" = True ]
pindir=$(pins A)
key=$(lease_key_hex A "$img")
dpid=${daemon_pid[A]}
link_id=$(grep -h '^link_id:' /proc/$dpid/fdinfo/* 2>/dev/null | head -n 1 | awk '{print $2}')
prog_id=$(grep -h '^prog_id:' /proc/$dpid/fdinfo/* 2>/dev/null | head -n 1 | awk '{print $2}')

out=$(bpftool map delete pinned "$pindir/leases" key $key 2>&1); status=$?
why="root's bpftool map delete: expected refused, got status $status: $out"
check root_bpftool_map_delete_is_refused [ $status -ne 0 ]
out=$(bpftool map update pinned "$pindir/leases" key $key value hex $(printf '00 %.0s' $(seq 200)) 2>&1); status=$?
why="root's bpftool map update: expected refused, got status $status: $out"
check root_bpftool_map_update_is_refused [ $status -ne 0 ]
why="root's bpftool map show (any descriptor of a map; a program loaded with one could write it): expected refused"
check root_map_descriptor_is_refused not bpftool map show pinned "$pindir/leases"
why="root's bpftool prog show id $prog_id: expected refused"
check root_prog_descriptor_is_refused not bpftool prog show id "${prog_id:-0}"
# the daemon's own program that changes the lease filter (type syscall, 31),
# held by it, unpinned: run by anyone else, it could empty a leased slot
filter_id=$(grep -l '^prog_type:[[:space:]]*31$' /proc/$dpid/fdinfo/* 2>/dev/null | head -n 1 | xargs -r grep -h '^prog_id:' | awk '{print $2}')
why="root's bpftool prog show id ${filter_id:-?} (the daemon's filter program): expected refused"
check root_filter_program_descriptor_is_refused eval '[ -n "$filter_id" ] && ! bpftool prog show id "$filter_id" >/dev/null 2>&1'
out=$(bpftool link detach id "${link_id:-0}" 2>&1); status=$?
why="root's bpftool link detach id ${link_id:-?}: expected refused, got status $status: $out"
check root_bpftool_link_detach_is_refused eval '[ -n "$link_id" ] && [ $status -ne 0 ]'
out=$(rm -f "$pindir/leases" 2>&1); status=$?
why="root's rm of a pin: expected refused, got status $status: $out"
check root_rm_of_a_pin_is_refused eval '[ $status -ne 0 ] && [ -e "$pindir/leases" ]'
rm -rf "$pindir" 2>/dev/null
why="root's rm -rf of the pin folder removed: $(ls -R "$pindir" 2>&1 | head -n 3 | tr '\n' ' ')"
check root_rm_rf_of_the_pins_is_refused eval '[ -e "$pindir/leases" ] && ls -d "$pindir"/v-*/link_lw_file_open >/dev/null'
out=$(mv "$pindir/leases" /sys/fs/bpf/lw-stolen-$$ 2>&1); status=$?
why="root's mv of a pin: expected refused, got status $status: $out"
check root_rename_of_a_pin_is_refused [ $status -ne 0 ]
out=$("$py" -c '
import os, sys
fd = os.open("/proc/%s/mem" % sys.argv[1], os.O_RDWR)' "$dpid" 2>&1); status=$?
why="root's /proc/PID/mem open of the daemon: expected refused, got status $status: $out"
check root_cannot_open_the_daemons_memory [ $status -ne 0 ]
# the keeper holds a write descriptor of every leased image, as the daemon does
keeper=$(keeper_of A)
out=$("$py" -c '
import os, sys
fd = os.open("/proc/%s/mem" % sys.argv[1], os.O_RDWR)' "$keeper" 2>&1); status=$?
why="root's /proc/PID/mem open of the keeper (pid ${keeper:-none logged}): expected refused, got status $status: $out"
check root_cannot_open_the_keepers_memory eval '[ -n "$keeper" ] && [ $status -ne 0 ]'
why="no denial records with op bpf and unpin in the audit log: $(tail -n 3 "$work/A/audit.log")"
check refusals_are_audited_as_denials within 20 eval 'audit_has A "\"type\":\"denial\"" "\"op\":\"bpf\"" && audit_has A "\"type\":\"denial\"" "\"op\":\"unpin\""'
check rogue_write_still_denied not rogue_write "$img"
why="the daemon saw tampering although none succeeded: $(status_get A 's["tamper"]')"
check nothing_was_tampered_with [ "$(status_get A 's["tamper"]["events"]')" = 0 ]

# a second daemon may not adopt the pins while the first runs
mkdir -p "$work/B"
"$daemon_bin" --config "$conf" --socket "$(sock B)" --pin-dir "$pindir" --state-dir "$work/B/state" \
	--audit-log "$work/B/audit.log" --backend nop >"$work/B/daemon.log" 2>&1 & second=$!
for _ in $(seq 600); do alive $second || break; nap 0.1; done
wait $second 2>/dev/null; status=$?
why="a second lockwardend on the same pins: expected to fail, status $status: $(tail -n 2 "$work/B/daemon.log")"
check second_daemon_cannot_adopt_the_pins [ $status -ne 0 ]

# kill -9: nobody else may touch the pins meanwhile, the restart takes over
kill9_daemon A
out=$(bpftool map delete pinned "$pindir/leases" key $key 2>&1); status=$?
why="root's bpftool map delete while the daemon is down: expected refused, got $status: $out"
check map_delete_refused_while_the_daemon_is_down [ $status -ne 0 ]
check hardened_daemon_restarts_and_takes_over start_daemon A --backend nop --config "$conf"
check rogue_write_denied_after_the_restart not rogue_write "$img"

# the way out: restart with hardened = no, then the pins are removable
stop_daemon A
check daemon_restarts_with_hardened_off start_daemon A --backend nop
out=$(bpftool map delete pinned "$pindir/leases" key $key 2>&1); status=$?
why="bpftool map delete with hardened = no: expected allowed, got $status: $out"
check map_delete_allowed_with_hardened_off [ $status -eq 0 ]
why="the deleted entry was not noticed within 2 s: $(tail -n 2 "$work/A/audit.log")"
check deleted_entry_noticed_with_hardened_off within 20 audit_has A '"event":"tamper"' "entry was deleted"

# restarts leave the guarded map as large as they found it: the entries of
# a gone daemon's own programs are forgotten (kept, they filled its 256
# entries after some 60 restarts, and the next start failed)
guarded_count() { bpftool -j map dump pinned "$pindir/guarded" 2>/dev/null | "$py" -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
before=$(guarded_count)
for _ in 1 2 3; do kill9_daemon A; start_daemon A --backend nop || break; done
after=$(guarded_count)
why="guarded map entries: ${before:-none} before three restarts, ${after:-none} after"
check restarts_do_not_fill_the_guarded_map eval '[ -n "$before" ] && [ "$before" = "$after" ]'
