#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lockwardend with the fanotify enforcer, natively: the writers check of an
# acquire asks the kernel first (a read lease taken and dropped) and walks
# /proc only when the kernel cannot rule a writer out. Proved from outside
# the daemon: strace counts its opens of /proc (only the writers walk opens
# that folder with the nop and fcntl backends). A writer elsewhere is still
# refused and named (by the walk), readers elsewhere cost no walk, and a
# holder opening its images for write while they are acquired is never
# refused nor kills the daemon with the lease's signal. TAP output. Needs root.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || ! command -v strace >/dev/null; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root, strace (tools/install-deps) and a build (make all)"; exit 1
fi
echo "1..12"

mkdir -p "$work/lockspace"
printf "[fcntl]\nlockspace = %s\n" "$work/lockspace" >"$work/indirect.conf"
start_daemon nop --enforcer fanotify --backend nop
start_daemon direct --enforcer fanotify --backend fcntl
mkdir -p "$work/indirect"
"$daemon_bin" --config "$work/indirect.conf" --socket "$(sock indirect)" --pin-dir "$(pins indirect)" \
	--state-dir "$work/indirect/state" --audit-log "$work/indirect/audit.log" --enforcer fanotify --backend fcntl \
	>>"$work/indirect/daemon.log" 2>&1 &
daemon_pid[indirect]=$!
wait_answers indirect
start_holder holder

# walks NAME CMD...: run CMD while strace watches daemon NAME; prints how
# many times the daemon opened /proc (a writers walk each) on the last line.
walks() {
	local name=$1 trace=$work/trace.$1 tracer; shift
	: >"$trace"
	strace -f -qq -e trace=openat -e signal=none -o "$trace" -p "${daemon_pid[$name]}" 2>/dev/null &
	tracer=$!
	for _ in $(seq 100); do
		[ "$(awk '/^TracerPid:/ { print $2 }' "/proc/${daemon_pid[$name]}/status")" = "$tracer" ] && break
		sleep 0.05
	done
	"$@"
	kill -INT "$tracer"; wait "$tracer" 2>/dev/null
	grep -c '"/proc", ' "$trace"
}

# acquire_release NAME N [--shared]: N images acquired and released for the holder
acquire_release() {
	local name=$1 n=$2 img; shift 2
	for i in $(seq "$n"); do
		img=$(new_image "$name-$i.raw")
		lw "$name" acquire "$img" --pid "$holder" "$@" || { echo "acquire $img failed"; return; }
		lw "$name" release "$img" --pid "$holder" || { echo "release $img failed"; return; }
	done
	echo "all ok"
}

for mode in nop indirect; do
	out=$(walks $mode acquire_release $mode 10)
	why="expected 10 round trips and no /proc walk, got: $(tr '\n' ' ' <<<"$out")"
	check "${mode}_acquires_of_unopened_images_walk_no_proc" [ "$out" = $'all ok\n0' ]
done
out=$(walks direct acquire_release direct 10 --shared)
why="expected 10 round trips and no /proc walk, got: $(tr '\n' ' ' <<<"$out")"
check fcntl_direct_shared_acquires_walk_no_proc [ "$out" = $'all ok\n0' ]
# Direct mode's exclusive lock is the image open for write by the daemon:
# the kernel cannot tell it from a foreign writer, so the walk stays.
out=$(walks direct acquire_release direct 3)
why="expected 3 round trips, got: $(tr '\n' ' ' <<<"$out")"
check fcntl_direct_exclusive_acquires_succeed grep -qx "all ok" <<<"$out"
echo "# fcntl direct exclusive: $(tail -n 1 <<<"$out") /proc walks for 3 acquires (the daemon's own lock is a writer)"

img=$(new_image writer.raw)
sleep 100000 3<>"$img" & writer=$! children+=($writer)
out=$(lw nop acquire "$img" --pid "$holder" 2>&1); status=$?
why="expected a refusal naming process $writer, got status $status: $out"
check foreign_write_descriptor_is_refused_and_named failed_with "open for write by pid $writer (sleep)"

img=$(new_image mapped.raw)
"$py" -c 'import mmap,os,sys,time
fd = os.open(sys.argv[1], os.O_RDWR); m = mmap.mmap(fd, 4096, mmap.MAP_SHARED); os.close(fd)
print("mapped", flush=True); time.sleep(100000)' "$img" >"$work/mapper.out" &
mapper=$! children+=($mapper)
wait_until 10 grep -qs mapped "$work/mapper.out"
out=$(lw nop acquire "$img" --pid "$holder" 2>&1); status=$?
why="expected a refusal naming the mapping of process $mapper, got status $status: $out"
check shared_writable_mapping_without_descriptor_is_refused failed_with "open for write by pid $mapper (python3)"

img=$(new_image reader.raw)
sleep 100000 3<"$img" & children+=($!)
out=$(walks nop lw nop acquire "$img" --pid "$holder" 2>&1)
why="expected the acquire to succeed with no /proc walk beside a reader, got: $(tr '\n' ' ' <<<"$out")"
check image_open_read_only_elsewhere_is_acquired_without_walk [ "$(tail -n 1 <<<"$out")" = 0 ]
check reader_image_is_leased [ "$(count_leases nop)" = 1 ]
lw nop release "$img" --pid "$holder"

# The holder opens its images for write in a loop while the daemon acquires
# and releases them: a probe's lease broken by an open signals the daemon
# (SIGURG, ignored), the opener waits a moment, and nobody is refused.
imgs=()
for i in $(seq 8); do imgs+=("$(new_image busy-$i.raw)"); done
"$py" -c 'import os,sys,time
errors = 0
while not os.path.exists(sys.argv[1]):
    for p in sys.argv[2:]:
        try: os.close(os.open(p, os.O_WRONLY))
        except OSError as e: errors += 1; print(e, flush=True)
    time.sleep(0.0002)
print("errors", errors, flush=True)' "$work/stop" "${imgs[@]}" >"$work/opener.out" &
opener=$!
failed=0
for round in $(seq 10); do
	for img in "${imgs[@]}"; do
		lw nop acquire "$img" --pid "$opener" >/dev/null 2>&1 || failed=$((failed + 1))
		lw nop release "$img" --pid "$opener" >/dev/null 2>&1
	done
done
touch "$work/stop"; wait "$opener"
why="expected 80 acquires beside the holder's opens to succeed, $failed failed"
check acquires_beside_a_holder_opening_for_write_succeed [ "$failed" = 0 ]
why="expected the holder's opens for write never refused, got: $(tail -n 3 "$work/opener.out" | tr '\n' ' ')"
check holder_opens_for_write_are_never_refused grep -qx "errors 0" "$work/opener.out"
why="the daemon exited: $(tail -n 3 "$work/nop/daemon.log" | tr '\n' ' ')"
check daemon_survives_the_broken_probe_leases alive "${daemon_pid[nop]}"
why="expected every image writable after release, got a denial"
check images_writable_after_release rogue_write "${imgs[0]}"
((failures == 0))
