#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Connection limits an unprivileged user cannot turn against root: a cap per
# uid, the last slots of max_clients kept for root and the admin group, an
# idle timeout, and a clear error reply (not a silent close) for every
# refused connection.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/limits_lib.bash"
require
echo "1..14"

make_user lwflood1
make_user lwflood2
clients=$(dirname "$0")/limits_clients.py
r=$work/users

# A: 40 slots, 16 of them kept for root, 20 per uid, no idle timeout
check daemon_with_connection_limits_starts start_daemon A --config "$(config limits '[daemon]' \
	'socket_mode = 0666' 'max_clients = 40' 'reserved_clients = 16' 'max_clients_per_uid = 20' \
	'idle_timeout_sec = 0')"

# flood USER COUNT NAME MODE: USER opens COUNT connections in the background
flood() { as_user "$1" "$py" "$clients" "$(sock A)" "$2" "$r/$3" "$4" 2>"$r/$3.err" & children+=($!); }
# wait_file FILE: up to 180 s (1,000 connects under TCG on a busy host)
wait_file() { local end=$((SECONDS + 180)); while ((SECONDS < end)); do [ -f "$1" ] && return 0; nap 0.2; done; why="no $1 within 180 s: $(cat "${1%.closed}.err" 2>&1)"; return 1; }
field() { "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@" 2>&1; }

flood lwflood1 1000 f1 hold
check first_users_thousand_connections_are_answered_or_refused wait_file "$r/f1"
why="expected 20 answered (max_clients_per_uid), got: $(cat "$r/f1")"
check a_user_gets_at_most_max_clients_per_uid_connections [ "$(field "$r/f1" 'd["answered"]')" = 20 ]
why="expected 980 refusals naming max_clients_per_uid, got: $(cat "$r/f1")"
check extra_connections_get_a_resource_limit_error_naming_the_cap \
	[ "$(field "$r/f1" 'sum(n for k, n in d["reasons"].items() if "ResourceLimit" in k and "max_clients_per_uid" in k)')" = 980 ]

out=$(lw_as lwflood1 A status 2>&1); status=$?
why="expected a refusal naming max_clients_per_uid, got status $status: $out"
check the_cli_says_why_a_connection_was_refused failed_with "refused the connection: uid [0-9]* has 20 connections already (max_clients_per_uid)"

flood lwflood2 100 f2 hold
check second_users_hundred_connections_are_answered_or_refused wait_file "$r/f2"
why="expected 4 answered (40 - 16 reserved - 20 taken), got: $(cat "$r/f2")"
check unprivileged_users_cannot_take_the_reserved_slots [ "$(field "$r/f2" 'd["answered"]')" = 4 ]
why="expected 96 refusals naming reserved_clients, got: $(cat "$r/f2")"
check refusals_at_the_reserve_say_so \
	[ "$(field "$r/f2" 'sum(n for k, n in d["reasons"].items() if "reserved_clients" in k)')" = 96 ]

out=$(lw A status 2>&1); status=$?
why="root's status failed ($status): $out"
check root_status_is_answered_while_users_hold_their_connections [ $status -eq 0 ]
img=$(new_image root.img); start_holder holder
out=$(lw A acquire "$img" --pid "$holder" 2>&1 && lw A release "$img" --pid "$holder" 2>&1); status=$?
why="root's acquire/release failed ($status): $out"
check root_acquire_and_release_work_while_users_hold_their_connections [ $status -eq 0 ]


touch "$r/f1.release" "$r/f2.release"
ok_again=""
for _ in $(seq 100); do lw_as lwflood1 A status >/dev/null 2>&1 && { ok_again=yes; break; }; nap 0.1; done
why="lwflood1's status still refused after its connections closed"
check a_user_connects_again_once_its_connections_close [ -n "$ok_again" ]

# B: default caps, idle connections closed after 3 s (root's are exempt)
check daemon_with_an_idle_timeout_starts start_daemon B --config "$(config idle '[daemon]' \
	'socket_mode = 0666' 'idle_timeout_sec = 3')"
as_user lwflood1 "$py" "$clients" "$(sock B)" 20 "$r/i1" idle 2>"$r/i1.err" & children+=($!)
"$py" "$clients" "$(sock B)" 2 "$r/i0" idle 2>"$r/i0.err" & children+=($!)
wait_file "$r/i1.closed"
why="expected the user's 20 idle connections closed after about 3 s, got: $(cat "$r/i1.closed" "$r/i1" 2>&1)"
check idle_unprivileged_connections_are_closed_after_the_timeout \
	[ "$(field "$r/i1.closed" 'int(d["closed"] == 20 and 2.5 <= d["after_sec"] <= 30)')" = 1 ]
sleep 2
why="root's idle connections were closed: $(cat "$r/i0.closed" 2>&1)"
check idle_root_connections_stay_open eval '[ ! -s "$r/i0.closed" ] && [ "$(field "$r/i0" "d[\"answered\"]")" = 2 ]'
exit $((failures > 0))
