#!/bin/bash
# The once-a-second tamper check reads the kernel's lease map in batches of
# 1,024 (userspace/enforcer/leases.c) and looks each entry up in the
# daemon's table. With more leases than a batch: no false finding; entries
# planted anywhere in the map and entries deleted are all found and undone;
# after kill -9 the restarted daemon adopts every lease (its holder index is
# rebuilt by the same walk: one entry, counting every lease, and an entry
# planted in it gone) and finds nothing false either.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/tamper_lib.bash"
require
echo "1..11"

n=1500
planted=20
fill=$top/build/bench/lease_fill
if [ ! -x "$fill" ]; then
	not_ok prerequisites "$fill is missing (run make test-bins)"
	exit 1
fi

# key_hex DEV INO: a key as bpftool's hex bytes (two little-endian u64s),
# in bash: a Python start costs a TCG guest half a second of CPU.
key_hex() {
	local v i out=hex
	for v in "$1" "$2"; do
		for i in 0 1 2 3 4 5 6 7; do printf -v out '%s %02x' "$out" $(((v >> (8 * i)) & 255)); done
	done
	echo "$out"
}
tamper_events() { status_get A 's["tamper"]["events"]'; }

check daemon_starts start_daemon A --backend nop
pindir=$(pins A)
mkdir -p "$work/many"
"$fill" --socket "$(sock A)" --images "$work/many" --leases $n >"$work/fill.log" 2>&1 &
children+=($!)
why="lease_fill did not report ready within 300 s: $(tail -n 3 "$work/fill.log" | tr '\n' ' ')"
check "$n"_leases_taken within 3000 grep -q ready "$work/fill.log"

sleep 3	# three checks at least (one a second)
got=$(tamper_events)
why="expected no tamper finding with $n leases, got $got: $(grep tamper "$work/A/daemon.log" | head -n 3 | tr '\n' ' ')"
check no_false_finding_with_more_leases_than_a_batch [ "$got" = 0 ]

# entries the daemon never made, on a device number no file has
value="hex 01 00 00 00 01 00 00 00 $(printf '00 %.0s' $(seq 192))"
for i in $(seq $planted); do
	bpftool map update pinned "$pindir/leases" key $(key_hex $((0xfffffff0)) $i) value $value >/dev/null 2>&1
done
planted_left() {
	local left=0
	for i in $(seq $planted); do
		bpftool map lookup pinned "$pindir/leases" key $(key_hex $((0xfffffff0)) $i) >/dev/null 2>&1 && left=$((left + 1))
	done
	[ $left -eq 0 ]
}
why="planted entries still in the map after 5 s"
check every_planted_entry_is_removed within 50 planted_left
got=$(grep -c "never made" "$work/A/audit.log")
why="expected $planted audit records of planted entries, got $got"
check every_planted_entry_is_audited [ "$got" = $planted ]

# real entries deleted: put back
keys=$(lw A list --json | "$py" -c '
import json, struct, sys
for l in json.load(sys.stdin)["leases"][::300]:
    print(" ".join("%02x" % b for b in struct.pack("<QQ", l["dev"], l["ino"])))')
deleted=0
while read -r k; do
	bpftool map delete pinned "$pindir/leases" key hex $k >/dev/null 2>&1 && deleted=$((deleted + 1))
done <<<"$keys"
all_back() { while read -r k; do bpftool map lookup pinned "$pindir/leases" key hex $k >/dev/null 2>&1 || return 1; done <<<"$keys"; }
why="deleted $deleted entries; not all back within 5 s"
check every_deleted_entry_is_put_back within 50 all_back
got=$(grep -c "entry was deleted" "$work/A/audit.log")
why="expected $deleted audit records of deleted entries, got $got"
check every_deleted_entry_is_audited [ "$got" = "$deleted" -a "$deleted" -gt 0 ]

# holder_index as "kind:pid:count" lines (struct lw_map_holder, struct lw_holder_ref)
holder_index() {
	bpftool -j map dump pinned "$pindir/holder_index" | "$py" -c '
import json, struct, sys
for e in json.load(sys.stdin):
    k = bytes(int(b, 16) for b in e["key"]); v = bytes(int(b, 16) for b in e["value"])
    kind, pid, _, _ = struct.unpack("<IIQQ", k); count = struct.unpack("<I", v[:4])[0]
    print("%d:%d:%d" % (kind, pid, count))'
}
# a process holder no daemon counted: the rebuild must drop it
bpftool map update pinned "$pindir/holder_index" key hex 01 00 00 00 3f 42 0f 00 $(printf '01 %.0s' $(seq 8)) \
	$(printf '00 %.0s' $(seq 8)) value hex 05 $(printf '00 %.0s' $(seq 23)) >/dev/null 2>&1
kill9_daemon A
check daemon_restarts start_daemon A --backend nop
adopted() { [ "$(count_leases A 2>/dev/null)" = $n ] && [ "$(status_get A 's.get("adopting")')" = None ]; }
why="after the restart: $(count_leases A 2>&1) leases listed, status $(lw A status --json 2>&1 | tr '\n' ' ')"
check every_lease_adopted_after_kill_9 within 600 adopted
filler=$(lw A list --json | "$py" -c 'import json, sys; print(json.load(sys.stdin)["leases"][0]["holders"][0]["pid"])')
got=$(holder_index | tr '\n' ' ')
why="expected the holder index to be one entry, 1:$filler:$n (the filler, every lease), got: $got"
check holder_index_rebuilt_from_the_leases [ "$got" = "1:$filler:$n " ]
sleep 3
got=$(tamper_events)
why="expected no tamper finding after the restart, got $got: $(grep tamper "$work/A/daemon.log" | tail -n 3 | tr '\n' ' ')"
check no_false_finding_after_the_restart [ "$got" = 0 ]

stop_daemon A

