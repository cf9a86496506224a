#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lockwardend through the CLI: acquire, list, enforcement, release, run,
# holder death, shared leases, busy images, permissions and bad requests.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..26"

img=$(new_image a.img)
# unprivileged callers below: open the socket to all users (default 0660)
printf '[daemon]\nsocket_mode = 0666\n' >"$work/open.conf"
check daemon_answers_status_after_start start_daemon A --backend fcntl --config "$work/open.conf"

start_holder holder
out=$(lw A acquire "$img" --pid "$holder" 2>&1); status=$?
why="acquire failed ($status): $out"
check acquire_for_another_pid_as_root_succeeds [ $status -eq 0 ]

out=$(lw A list --json 2>&1)
why="list --json: $out"
check list_shows_the_lease_and_its_holder grep -q "\"pid\": *$holder" <<<"$out"

why="a write open by a non-holder got through"
check non_holder_write_open_is_denied_while_leased not rogue_write "$img"

start_holder other
out=$(lw A acquire "$img" --pid "$other" 2>&1); status=$?
why="expected a non-zero exit naming holder $holder, got status $status: $out"
check second_exclusive_acquire_fails_naming_the_holder failed_with "$holder"

out=$(lw A acquire "$img" --pid 4000000 2>&1); status=$?
why="expected a non-zero exit saying 'no process 4000000', got status $status: $out"
check acquire_for_a_pid_with_no_process_says_so failed_with "invalid parameter pid: no process 4000000"

out=$(lw A release "$img" --pid "$other" 2>&1); status=$?
why="expected release by a non-holder to fail, got status $status: $out"
check release_by_a_non_holder_fails [ $status -ne 0 ]

out=$(lw A release "$img" --pid "$holder" 2>&1); status=$?
why="release failed ($status): $out"
check release_by_the_holder_succeeds [ $status -eq 0 ]
why="list still shows $(count_leases A) lease(s)"
check list_is_empty_after_release [ "$(count_leases A)" = 0 ]
why="a write open after release was denied"
check write_open_is_allowed_after_release rogue_write "$img"

# the command itself writes: its children would not be holders
echo lease-holder-wrote >"$work/payload"
out=$(lw A run "$img" -- dd if="$work/payload" of="$img" conv=notrunc status=none 2>&1); status=$?
why="run ($status): $out"
check run_command_holds_the_lease_and_may_write [ $status -eq 0 ]
why="the image does not hold what the command wrote"
check run_command_write_reached_the_image grep -q lease-holder-wrote "$img"
sleep 1
why="list shows $(count_leases A) lease(s) after the run command exited"
check run_lease_ends_with_the_command [ "$(count_leases A)" = 0 ]

start_holder holder
lw A acquire "$img" --pid "$holder" >/dev/null 2>&1
start=$(date +%s%N)
kill -KILL "$holder"; wait "$holder" 2>/dev/null
# the audit trail's holder-death record of this holder marks the end of the
# release (the run command's above is one too)
for _ in $(seq 1000); do grep -q "\"holder-death\".*\"pid\":$holder," "$work/A/audit.log" 2>/dev/null && break; nap 0.01; done
ms=$((($(date +%s%N) - start) / 1000000))
echo "# holder death to release recorded: ${ms} ms (under TCG, ~10-50x slower than a host)"
why="lease still listed ${ms} ms after its holder died"
check holder_death_releases_the_lease [ "$(count_leases A)" = 0 ]
why="write open still denied after the holder died"
check holder_death_ends_enforcement rogue_write "$img"

start_holder h1; start_holder h2; start_holder h3
out=$(lw A acquire "$img" --pid "$h1" --shared 2>&1 && lw A acquire "$img" --pid "$h2" --shared 2>&1); status=$?
why="two shared acquires failed ($status): $out"
check shared_leases_admit_two_holders [ $status -eq 0 ]
out=$(lw A acquire "$img" --pid "$h3" 2>&1); status=$?
why="expected exclusive acquire on a shared lease to fail, got $status: $out"
check exclusive_acquire_on_a_shared_lease_fails [ $status -ne 0 ]
lw A release "$img" --pid "$h1" >/dev/null 2>&1; lw A release "$img" --pid "$h2" >/dev/null 2>&1

# a process with the image open for write: the acquire names it, unless forced
bash -c "exec 3<>'$img'; exec -a busywriter sleep 100000" & busy=$!; children+=($busy)
# until it has the image open: a loaded machine may take more than a moment.
# Its descriptor 3 must be the image (-ef): while bash starts, 3 is briefly
# whatever the loader or the locale opens, and a poll that saw that let the
# acquire come first (the writer was then the one refused)
for _ in $(seq 3000); do [ "/proc/$busy/fd/3" -ef "$img" ] && break; nap 0.01; done
out=$(lw A acquire "$img" --pid "$h3" 2>&1); status=$?
why="expected ImageBusy naming pid $busy, got status $status: $out"
check acquire_is_refused_while_a_non_holder_writes failed_with "$busy"
out=$(lw A acquire "$img" --pid "$h3" --force 2>&1); status=$?
why="forced acquire failed ($status): $out"
check forced_acquire_succeeds_despite_a_writer [ $status -eq 0 ]
lw A release "$img" --pid "$h3" >/dev/null 2>&1
kill -KILL "$busy"; wait "$busy" 2>/dev/null

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$cli_bin" --socket "$(sock A)" acquire "$img" --pid "$h3" 2>&1); status=$?
why="expected PermissionDenied for an unprivileged caller acting for pid $h3, got $status: $out"
check unprivileged_caller_may_not_act_for_another_pid [ $status -ne 0 ]

chmod 755 "$work"; own=$(new_image own.img); chown 65534:65534 "$own"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$cli_bin" --socket "$(sock A)" run "$own" -- true 2>&1); status=$?
why="unprivileged run on its own image failed ($status): $out"
check unprivileged_caller_may_lease_its_own_image_for_itself [ $status -eq 0 ]

start_holder holder; lw A acquire "$img" --pid "$holder" >/dev/null 2>&1
replies=$(varlink A '{"method":"io.lockwarden.Manager.Status"' '[1,2]' \
	'{"method":"io.lockwarden.Manager.Frobnicate","parameters":{}}' \
	'{"method":"io.lockwarden.Manager.Acquire","parameters":{"image":42}}' \
	'{"method":"org.varlink.service.GetInfo","parameters":{}}' \
	'{"method":"org.varlink.service.GetInterfaceDescription","parameters":{"interface":"io.lockwarden.Manager"}}' \
	@OVERSIZED 2>&1)
expect=("InvalidParameter" "InvalidParameter" "MethodNotFound" "InvalidParameter" '"interfaces"' "method Acquire" "InvalidParameter")
bad=""
for i in "${!expect[@]}"; do
	line=$(sed -n "$((i + 1))p" <<<"$replies")
	grep -q "${expect[$i]}" <<<"$line" || bad="$bad reply $((i + 1)) lacks ${expect[$i]}: ${line:0:120};"
done
why="$bad"
check bad_requests_get_error_replies [ -z "$bad" ]
why="after bad requests: status or lease gone ($(count_leases A) leases)"
check bad_requests_disturb_no_lease grep -q "\"pid\": *$holder" <<<"$(lw A list --json 2>&1)"

# brief: the acquire is answered without the lease, which is taken all the
# same; anything but a boolean is refused
img_b=$(new_image brief.img)
replies=$(varlink A "{\"method\":\"io.lockwarden.Manager.Acquire\",\"parameters\":{\"image\":\"$img_b\",\"pid\":$holder,\"brief\":true}}" \
	"{\"method\":\"io.lockwarden.Manager.Acquire\",\"parameters\":{\"image\":\"$img_b\",\"pid\":$holder,\"brief\":\"yes\"}}" 2>&1)
listed=$(lw A inquire "$img_b" --json 2>&1)
first=$(sed -n 1p <<<"$replies") second=$(sed -n 2p <<<"$replies")
why="first reply: $first; inquire: $listed"
check brief_acquire_answers_without_the_lease_and_takes_it eval '[ "$first" = "{\"parameters\":{}}" ] && grep -q "\"pid\": *$holder" <<<"$listed"'
why="second reply: $second"
check brief_that_is_not_a_boolean_is_an_invalid_parameter eval 'grep -q InvalidParameter <<<"$second" && grep -q "\"parameter\":\"brief\"" <<<"$second"'
lw A release "$img_b" --pid "$holder" >/dev/null 2>&1

# a client that sends many requests and never reads the replies: the daemon
# stops reading from it (bounded buffers) and keeps serving everyone else
"$py" - "$(sock A)" <<'PY' & flood=$!
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.setblocking(False)
req = b'{"method":"io.lockwarden.Manager.List","parameters":{}}\0'
sent = 0
for _ in range(20000):
    try:
        sent += s.send(req)
    except BlockingIOError:
        break
time.sleep(30)
PY
children+=($flood)
sleep 2
out=$(timeout 30 "$cli_bin" --socket "$(sock A)" status 2>&1); status=$?
why="status while another client floods without reading: $status $out"
check client_not_reading_replies_does_not_stall_others [ $status -eq 0 ]
kill "$flood" 2>/dev/null

exit $((failures > 0))
