#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The CLI against a real lockwardend with names a hostile user chooses: an
# image whose path holds escape sequences, a newline and a C1 CSI; a hard
# link to it whose name is not UTF-8 (a raw 0x9b, which the audit trail
# stores as U+FFFD); a holder and a rogue writer whose process names set the
# terminal's title and clear it. Whatever list, inquire, audit and the error
# messages print for a person holds no control character and keeps one line
# per record; --json stays JSON. Also `inquire`'s two answers, both exit 0.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..10"

# no byte below 0x20 but newline, no DEL, no 0x9b, no C1 in UTF-8
inert() { ! LC_ALL=C grep -qP '[\x00-\x09\x0b-\x1f\x7f\x9b]|\xc2[\x80-\x9f]' <<<"$1"; }
lines() { local n; n=$(printf '%s\n' "$1" | wc -l); echo "$n"; }

# JSON from stdin (bytes: the path is not UTF-8) whose lease image holds argv[1]
json_image_has='import json, sys
doc = json.loads(sys.stdin.buffer.read().decode("utf-8", "surrogateescape"))
sys.exit(0 if sys.argv[1] in doc["lease"]["image"] else 1)'
json_lines_parse='import json, sys
lines = sys.stdin.buffer.read().decode("utf-8", "surrogateescape").splitlines()
recs = [json.loads(l) for l in lines if l.strip()]
sys.exit(0 if any(r.get("type") == "denial" for r in recs) else 1)'

evil=$'ev\e[2J\e]0;owned\a\nFORGED \xc2\x9b'"1m"
img=$(new_image "$evil.img")
forged=$'\nFORGED'
link=$work/link$'\x9b'.img
ln "$img" "$link"
check daemon_answers_status_after_start start_daemon A --backend fcntl

# a holder that names itself (only a process may write its own comm)
bash -c 'printf "\e]0;t\a\e[2Jq" >/proc/$$/comm; while :; do sleep 1000; done' </dev/null >/dev/null 2>&1 &
holder=$!; children+=($holder)
# the name is the holder's own doing, after it starts: wait for it (a
# loaded machine took over 0.2 s), or the daemon records plain "bash"
for _ in $(seq 100); do [ "$(cat "/proc/$holder/comm" 2>/dev/null)" = $'\e]0;t\a\e[2Jq' ] && break; nap 0.1; done
out=$(lw A acquire "$img" --pid "$holder" 2>&1); status=$?
why="acquire of the hostile name failed ($status): $out"
check acquire_of_an_image_with_a_hostile_name_succeeds [ $status -eq 0 ]

out=$(lw A list 2>&1)
why="list output: $(printf %q "$out")"
check list_shows_hostile_path_and_comm_escaped_on_one_row \
	eval 'inert "$out" && [ "$(lines "$out")" = 2 ] &&
		grep -qF "ev\\x1b[2J\\x1b]0;owned\\x07\\nFORGED \\u009b1m.img" <<<"$out" &&
		grep -qF "pid $holder (\\x1b]0;t\\x07\\x1b[2Jq)" <<<"$out"'

out=$(lw A inquire "$img" 2>&1); status=$?
why="inquire ($status): $(printf %q "$out")"
check inquire_shows_the_lease_escaped_and_exits_0 \
	eval '[ $status -eq 0 ] && inert "$out" && [ "$(lines "$out")" = 2 ] &&
		grep -qF "\\nFORGED" <<<"$out"'

out=$(lw A inquire "$img" --json 2>&1)
why="inquire --json: $(printf %q "$out")"
check inquire_json_is_json_naming_the_image \
	eval '"$py" -c "$json_image_has" "$forged" <<<"$out"'

start_holder other
out=$(lw A acquire "$img" --pid "$other" 2>&1); status=$?
why="status $status, stderr: $(printf %q "$out")"
check conflict_message_is_one_escaped_line \
	eval '[ $status -eq 1 ] && inert "$out" && [ "$(lines "$out")" = 1 ] &&
		grep -q "^lockwarden: acquire .*FORGED.*: lease held by pid $holder (" <<<"$out"'

# a rogue writer that names itself with escape sequences, then is denied
bash -c 'printf "\e[2J\e]0;rogue\a" >/proc/$$/comm; exec 3<>"$1"' _ "$link" 2>/dev/null
for _ in $(seq 100); do grep -q '"denial"' "$work/A/audit.log" 2>/dev/null && break; nap 0.1; done
out=$(lw A audit --log "$work/A/audit.log" 2>&1); status=$?
why="audit ($status): $(printf %q "$out")"
check audit_table_shows_the_rogue_and_the_paths_escaped \
	eval '[ $status -eq 0 ] && inert "$out" && grep -qF "\\x1b[2J\\x1b]0;rogue\\x07" <<<"$out" &&
		grep -q "deny open-write.*/link.*\.img$" <<<"$out" && grep -qF "\\nFORGED \\u009b1m.img" <<<"$out" &&
		[ "$(grep -c "FORGED" <<<"$out")" = "$(grep -cF "\\nFORGED" <<<"$out")" ]'

out=$(lw A audit --json --log "$work/A/audit.log" 2>&1)
why="audit --json: $(printf %q "${out:0:400}")"
check audit_json_lines_all_parse \
	eval '"$py" -c "$json_lines_parse" <<<"$out"'

lw A release "$img" --pid "$holder" >/dev/null 2>&1
out=$(lw A inquire "$img" 2>&1); status=$?
why="inquire after release ($status): $out"
check inquire_of_a_free_image_says_not_leased_and_exits_0 \
	eval '[ $status -eq 0 ] && [ "$out" = "not leased" ]'

out=$(lw A inquire "$work/missing"$'\e[2J' 2>&1); status=$?
why="inquire of a missing path ($status): $(printf %q "$out")"
check inquire_of_a_path_that_does_not_exist_answers_not_leased \
	eval '[ $status -eq 0 ] && [ "$out" = "not leased" ]'

exit $((failures > 0))
