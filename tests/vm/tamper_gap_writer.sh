#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# After a gap in enforcement (the daemon down and its pins removed), the
# restart enforces the lease again, audited as tampering, but does not
# force silently: a process that opened the image for write in the gap is
# logged, audited and shown by status, by pid and command (to root: a user
# sees the gap writers of its own leases only).
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/tamper_lib.bash"
require
echo "1..10"

img=$(new_image leased.img)
check daemon_starts start_daemon A --backend fcntl
start_holder h
out=$(lw A acquire "$img" --pid "$h" 2>&1); status=$?
why="acquire failed ($status): $out"
check lease_taken [ $status -eq 0 ]
stop_daemon A
rm -rf "$(pins A)"
# The programs detach once their last pin is gone: at once on 6.1, within
# about 2.5 s on 6.12 (released from an RCU callback and a work item there).
for _ in $(seq 100); do rogue_write "$img" && break; nap 0.1; done
hold_open_for_write "$img" writer
for _ in $(seq 50); do [ "/proc/$writer/fd/7" -ef "$img" ] && break; nap 0.1; done
why="the gap writer $writer could not open the image (enforcement should be off)"
check writer_opened_the_image_in_the_gap eval 'alive $writer && ls -l /proc/$writer/fd/7 2>/dev/null | grep -q leased.img'
check daemon_restarts start_daemon A --backend fcntl
why="daemon log does not name gap writer $writer: $(grep -i adopt "$work/A/daemon.log" | tail -n 3 | tr '\n' ' ')"
check gap_writer_is_logged grep -q "gap writer: $img: pid $writer " "$work/A/daemon.log"
why="audit log has no gap-writer record for pid $writer: $(tail -n 2 "$work/A/audit.log")"
check gap_writer_is_audited audit_has A '"event":"gap-writer"' "\"pid\":$writer" "$img"
why="audit log has no tamper record of the lease found unenforced: $(grep tamper "$work/A/audit.log" | tail -n 2)"
check unenforced_lease_is_audited_as_tampering audit_has A '"event":"tamper"' "did not enforce this lease at start" "$img"
out=$(status_get A '[(w["pid"], w["image"]) for w in s["gap_writers"]]')
why="status gap_writers: $out"
check status_shows_the_gap_writer grep -q "($writer, '$img')" <<<"$out"
user=lw-gap
id "$user" >/dev/null 2>&1 || useradd -M -s /bin/sh "$user" ||
	{ echo "not ok 10 - prerequisites: useradd $user failed"; exit 1; }
chmod 755 "$work"
chmod 0666 "$(sock A)"	# whatever the configured mode: this is about what status shows
out=$(setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all "$cli_bin" --socket "$(sock A)" \
	status --json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["gap_writers"])' 2>&1)
why="a user's status shows root's gap writers, or failed: $out"
check users_status_hides_the_gap_writers_of_roots_leases [ "$out" = "[]" ]
check new_write_opens_are_denied_again not rogue_write "$img"
