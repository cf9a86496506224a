# SPDX-License-Identifier: LGPL-2.1-or-later
# Re-adoption after kill -9 runs from the event loop while the daemon
# answers (lockwardend(8), "Restart"). Sourced by
# tests/vm/daemon_adopt_answering.sh (bpf-lsm, in the VM) and
# tests/host/fanotify_adopt_answering.sh (fanotify, natively), with
# $enforcer set. daemon_lib.bash must be sourced first.
#
# Adoption is made observable without any assumption of speed: the daemon
# adopts one lease per byte written to a FIFO (LOCKWARDEND_ADOPT_GATE,
# LOCKWARDEND_ADOPT_CHUNK=1), so the test decides when each lease is
# adopted. Proved: Status answers before any lease is adopted and shows
# the progress; a rogue writer is denied while no lease is adopted; an
# Inquire of an adopted lease is answered at once; Acquire and List sent
# during adoption are served once it ends; the lease of a holder that died
# while the daemon was down is dropped with a log line; every other lease
# is adopted in the end.

nr_leases=12
echo "1..15"

# status_field NAME PYTHON-EXPR: evaluated on the Status reply (as s).
status_field() { lw "$1" status --json 2>/dev/null | "$py" -c "import json,sys; s=json.load(sys.stdin); print($2)"; }

# wait_for NAME PYTHON-CONDITION: bounded polling (60 s) of Status.
wait_for() {
	for _ in $(seq 600); do
		[ "$(status_field "$1" "$2" 2>/dev/null)" = True ] && return 0
		nap 0.1
	done
	why="status never satisfied $2; last reply: $(lw "$1" status --json 2>&1 | tr '\n' ' ')"
	return 1
}

# still_running PID: a request sent during adoption has not been answered.
still_running() { alive "$1"; }

images=()
for i in $(seq 0 $((nr_leases - 1))); do images+=("$(new_image "vm$i.img")"); done
check daemon_starts start_daemon A --backend fcntl --enforcer "$enforcer"
start_holder holder; start_holder doomed; start_holder latecomer
out=""; status=0
# the doomed holder's lease last: adoption goes in the order the state lists
for i in $(seq 0 $((nr_leases - 2))); do
	out+=$(lw A acquire "${images[$i]}" --pid "$holder" 2>&1) || status=1
done
out+=$(lw A acquire "${images[$((nr_leases - 1))]}" --pid "$doomed" 2>&1) || status=1
why="acquires failed: $out"
check all_leases_taken_before_the_crash [ $status -eq 0 ]

kill9_daemon A
kill -KILL "$doomed"; wait "$doomed" 2>/dev/null
gate=$work/adopt.gate
mkfifo "$gate"
exec {gate_fd}<>"$gate"	# read-write: never blocks, never hangs up
LOCKWARDEND_ADOPT_GATE=$gate LOCKWARDEND_ADOPT_CHUNK=1 start_daemon A --backend fcntl --enforcer "$enforcer"
status=$?
check status_answers_while_no_lease_is_adopted [ $status -eq 0 ]
got=$(status_field A 's.get("adopting")')
why="expected adopting {'adopted': 0, 'total': $nr_leases} before any byte on the gate, got '$got'"
check status_shows_adopting_0_of_all [ "$got" = "{'adopted': 0, 'total': $nr_leases}" ]
out=$(lw A status 2>&1)
why="expected 'adopting:         0/$nr_leases leases' in: $out"
check status_text_says_adopting grep -qE "^adopting: +0/$nr_leases leases" <<<"$out"

rogue_write "${images[0]}"; status=$?
why="a rogue write open of a leased image got through while no lease was adopted"
check rogue_writer_is_denied_during_adoption [ $status -ne 0 ]

# Sent now, answered once adoption ends (lockwardend(8)).
new_img=$(new_image late.img)
lw A acquire "$new_img" --pid "$latecomer" >"$work/acquire.out" 2>&1 &
acquire_pid=$!
lw A list --json >"$work/list.out" 2>&1 &
list_pid=$!

printf x >&"$gate_fd"
wait_for A 's.get("adopting", {}).get("adopted") == 1'
check status_counts_one_adopted_lease_per_gate_byte [ $? -eq 0 ]
out=$(timeout 30 "$cli_bin" --socket "$(sock A)" inquire "${images[0]}" --json 2>&1); status=$?
why="expected an answer naming pid $holder for the adopted ${images[0]}, got status $status: $out"
check inquire_of_an_adopted_lease_is_answered_during_adoption grep -q "\"pid\": *$holder" <<<"$out"
why="the acquire sent during adoption was answered before adoption ended: $(cat "$work/acquire.out")"
check acquire_waits_while_leases_are_adopted still_running "$acquire_pid"
why="the list sent during adoption was answered before adoption ended: $(head -c 300 "$work/list.out")"
check list_waits_while_leases_are_adopted still_running "$list_pid"

for _ in $(seq "$nr_leases"); do printf x >&"$gate_fd"; done
wait_for A '"adopting" not in s'
check adoption_ends [ $? -eq 0 ]
exec {gate_fd}>&-
got=$(count_leases A)
why="expected $((nr_leases - 1)) leases of live holders plus the acquire sent during adoption, got $got"
check every_live_lease_is_adopted_and_the_waiting_acquire_served [ "$got" = "$nr_leases" ]
wait "$acquire_pid"; status=$?
wait "$list_pid"
# the adopted leases of the live holder, not the doomed one's (the acquire
# that waited ahead of the list may be in it too)
got=$("$py" -c 'import json,sys
leases = json.load(open(sys.argv[1]))["leases"]
print(sorted(l["image"].rsplit("/", 1)[1] for l in leases if not l["image"].endswith("late.img")))' \
	"$work/list.out" 2>&1)
want=$("$py" -c 'import sys; print(sorted("vm%d.img" % i for i in range(int(sys.argv[1]))))' $((nr_leases - 1)))
why="expected the waiting list to show $want, got $got; acquire status $status"
check waiting_list_shows_the_adopted_leases_only [ "$got:$status" = "$want:0" ]
why="no log line for the lease of the holder that died while the daemon was down: $(grep -i adopt "$work/A/daemon.log" | tail -n 4 | tr '\n' ' ')"
check dropped_lease_is_logged grep -q "holder pid $doomed exited while the daemon was down" "$work/A/daemon.log"
rogue_write "${images[$((nr_leases - 2))]}"; status=$?
why="a rogue write open of a leased image got through after adoption"
check rogue_writer_is_denied_after_adoption [ $status -ne 0 ]

exit $((failures > 0))
