#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The audit trail stays bounded per user: a user's processes hammering the
# user's own leased images (many processes, many images: the kernel's limit
# per process and image does not bound that) add at most
# max_records_per_uid_per_min denial records a minute, and what was left
# out is counted in one "suppressed" record.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/limits_lib.bash"
require
echo "1..6"

limit=40
make_user lwaudit
u=$work/users/audit; mkdir -p "$u"; chown lwaudit "$u"
check daemon_with_a_per_uid_record_limit_starts start_daemon A --config "$(config audit '[daemon]' \
	'socket_mode = 0666' '[audit]' "max_records_per_uid_per_min = $limit")"
images=()
for i in 1 2 3 4; do images+=("$u/img$i"); as_user lwaudit dd if=/dev/zero of="$u/img$i" bs=4k count=1 status=none; done
as_user lwaudit "$cli_bin" --socket "$(sock A)" run "${images[@]}" -- sleep 1000 >"$u/run.out" 2>&1 & children+=($!)
for _ in $(seq 300); do [ "$(count_leases A 2>/dev/null)" = 4 ] && break; nap 0.1; done
why="expected the user's 4 leases, list shows $(count_leases A 2>&1); run: $(cat "$u/run.out")"
check user_leases_its_own_four_images [ "$(count_leases A)" = 4 ]

# ~10 s of new processes, each trying every image once: every attempt is a
# new (process, image) pair, so the kernel's own limit lets each through
start=$(date +%s)
as_user lwaudit "$py" - "$u/attempts" "${images[@]}" <<'PY'
import os, sys, time
out, images = sys.argv[1], sys.argv[2:]
attempts, end = 0, time.monotonic() + 10
while time.monotonic() < end:
    pid = os.fork()
    if pid == 0:
        for image in images:
            try:
                os.close(os.open(image, os.O_WRONLY))
            except OSError:
                pass
        os._exit(0)
    os.waitpid(pid, 0)
    attempts += len(images)
open(out, "w").write(str(attempts))
PY
elapsed=$(( $(date +%s) - start ))
attempts=$(cat "$u/attempts" 2>/dev/null || echo 0)
# let the daemon drain the ring buffer, then stop it: a stop writes the summary
for _ in $(seq 50); do d1=$(lw A status --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["denials"])'); nap 0.2
	d2=$(lw A status --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["denials"])'); [ "$d1" = "$d2" ] && break; done
stop_daemon A
uid=$(id -u lwaudit)
count() { "$py" - "$work/A/audit.log" "$uid" "$1" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
mine = [r for r in recs if r.get("uid") == int(sys.argv[2])]
if sys.argv[3] == "records":
    print(sum(1 for r in mine if r["type"] == "denial"))
elif sys.argv[3] == "suppressed":
    print(sum(r["suppressed"] for r in mine if r["type"] == "suppressed"))
else:
    print(sum(1 for r in mine if r["type"] == "suppressed"))
PY
}
records=$(count records); suppressed=$(count suppressed); summaries=$(count summaries)
# one minute window, or two if the run crossed into a second one
windows=$(( elapsed / 60 + 2 ))
echo "# $attempts denied attempts in ${elapsed}s: $records denial records, $summaries summary record(s) with $suppressed suppressed; audit log $(stat -c %s "$work/A/audit.log") bytes"
why="only $attempts attempts: too few to show a bound (expected > $((windows * limit * 3)))"
check users_processes_made_many_denied_attempts [ "$attempts" -gt $((windows * limit * 3)) ]
why="expected at most $((windows * limit)) denial records ($limit a minute, $windows window(s)), got $records"
check denial_records_of_one_uid_stay_within_the_limit [ "$records" -le $((windows * limit)) ]
why="expected a suppressed record for uid $uid, got $summaries"
check the_excess_is_summarized_in_a_suppressed_record [ "$summaries" -ge 1 ]
why="records $records + suppressed $suppressed should not exceed attempts $attempts, and should account for at least 90% of them"
total=$((records + suppressed))
check records_and_suppressed_account_for_the_attempts eval '[ $total -le $attempts ] && [ $total -ge $((attempts * 9 / 10)) ]'
exit $((failures > 0))
