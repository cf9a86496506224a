#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lockwardend with the fanotify enforcer, natively: the writers check of an
# acquire asks the kernel first (a lease taken and dropped: a read lease on
# a read-only descriptor, a write lease on fcntl direct mode's exclusive
# lock) and walks /proc only when the kernel cannot rule a writer out.
# Proved from outside the daemon: strace counts its opens of /proc (only the
# writers walk opens that folder with the nop and fcntl backends). A writer
# elsewhere is still refused and named (by the walk), a reader elsewhere
# costs no walk under a read lease and one walk, then the grant, under the
# write lease; a holder opening its images while they are acquired is never
# refused nor kills the daemon with the lease's signal, no open waits for a
# probe's lease to time out, no lease is left behind an acquire or a
# refusal, and one left on a kept lock by a daemon that died mid-probe is
# dropped by its keeper before the keeper answers. TAP output. Needs root.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || ! command -v strace >/dev/null; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root, strace (tools/install-deps) and a build (make all)"; exit 1
fi
echo "1..24"

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

# no_lease_on IMAGE...: /proc/locks lists no lease on any of the images
no_lease_on() {
	local img
	for img in "$@"; do
		! grep -q "LEASE .*:$(stat -c %i "$img") " /proc/locks || return 1
	done
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

# direct: the daemon's exclusive lock is the image open for write, and its
# own read-only descriptor of the image is O_PATH by then: a write lease on
# the lock's file proves it the image's only open file.
for mode in nop indirect direct; do
	out=$(walks $mode acquire_release $mode 10)
	why="expected 10 round trips and no /proc walk, got: $(tr '\n' ' ' <<<"$out")"
	check "${mode}_acquires_of_unopened_images_walk_no_proc" [ "$out" = $'all ok\n0' ]
done
out=$(walks direct acquire_release direct 10 --shared)
why="expected 10 round trips and no /proc walk, got: $(tr '\n' ' ' <<<"$out")"
check fcntl_direct_shared_acquires_walk_no_proc [ "$out" = $'all ok\n0' ]
img=$(new_image held.raw)
lw direct acquire "$img" --pid "$holder"
why="expected no lease on the held image, /proc/locks: $(grep LEASE /proc/locks | tr '\n' ' ')"
check fcntl_direct_leaves_no_probe_lease_on_a_held_image no_lease_on "$img"
lw direct release "$img" --pid "$holder"

img=$(new_image writer.raw)
sleep 100000 3<>"$img" & writer=$! children+=($writer)
out=$(lw nop acquire "$img" --pid "$holder" 2>&1); status=$?
why="expected a refusal naming process $writer, got status $status: $out"
check foreign_write_descriptor_is_refused_and_named failed_with "open for write by pid $writer (sleep)"
out=$(lw direct acquire "$img" --pid "$holder" 2>&1); status=$?
why="expected fcntl direct exclusive to refuse naming process $writer, got status $status: $out"
check fcntl_direct_foreign_write_descriptor_is_refused_and_named failed_with "open for write by pid $writer (sleep)"

# The holder opens its image as soon as the acquire answers, without
# blocking: a probe lease left on the lock would fail it with EWOULDBLOCK.
img=$(new_image run.raw)
out=$(lw direct run "$img" -- "$py" -c 'import os,sys
for flags in (os.O_RDWR, os.O_RDONLY):
    os.close(os.open(sys.argv[1], flags | os.O_NONBLOCK))
print("opened")' "$img" 2>&1); status=$?
why="expected the holder's non-blocking opens right after acquire to succeed, got status $status: $out"
check fcntl_direct_holder_opens_right_after_acquire [ "$status:$out" = 0:opened ]

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
# Under the write lease a reader is in the way: the probe is refused, the
# walk finds no writer, and the image is granted all the same.
out=$(walks direct lw direct acquire "$img" --pid "$holder" 2>&1)
why="expected fcntl direct exclusive to succeed after one /proc walk beside a reader, got: $(tr '\n' ' ' <<<"$out")"
check fcntl_direct_image_open_read_only_elsewhere_is_acquired_after_one_walk [ "$(tail -n 1 <<<"$out")" = 1 ]
check fcntl_direct_reader_image_is_leased [ "$(count_leases direct)" = 1 ]
why="expected no lease left on the image, /proc/locks: $(grep LEASE /proc/locks | tr '\n' ' ')"
check fcntl_direct_leaves_no_probe_lease_beside_a_reader no_lease_on "$img"
lw direct release "$img" --pid "$holder"

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

# The write lease holds up every open of the image while it is set; the
# daemon drops it in its next system call, so no opener waits anywhere near
# lease-break-time for it (45 s; 30 s here is only a bound, far above the
# 0-3 s the slowest open took on a host loaded 12 deep).
# Foreign readers and the holder's writers open (blocking) in a loop while
# fcntl direct exclusive acquires the images, and go on two passes over
# them while they are held (a lease left on a held image would stall them).
lease_break_time=$(cat /proc/sys/fs/lease-break-time)
imgs=()
for i in $(seq 8); do imgs+=("$(new_image direct-busy-$i.raw)"); done
opens='import os,sys,time
stop, passes, flags = sys.argv[1], sys.argv[2], int(sys.argv[3])
errors, slowest, n = 0, 0.0, 0
while not os.path.exists(stop):
    for p in sys.argv[4:]:
        start = time.monotonic()
        try: os.close(os.open(p, flags))
        except OSError as e: errors += 1; print(e, flush=True)
        slowest, n = max(slowest, time.monotonic() - start), n + 1
    with open(passes, "a") as f: f.write(".")
print("opens", n, "errors", errors, "slowest", int(slowest), flush=True)'
rm -f "$work/stop"
"$py" -c "$opens" "$work/stop" "$work/holder.passes" 2 "${imgs[@]}" >"$work/direct-holder.out" & opener=$!
"$py" -c "$opens" "$work/stop" "$work/reader.passes" 0 "${imgs[@]}" >"$work/direct-reader.out" & reader=$!
passes() { stat -c %s "$work/$1.passes" 2>/dev/null || echo 0; }
two_more_passes() { (($(passes holder) >= $1 + 2 && $(passes reader) >= $2 + 2)); }
failed=0
for round in $(seq 3); do
	for img in "${imgs[@]}"; do
		lw direct acquire "$img" --pid "$opener" >/dev/null 2>&1 || failed=$((failed + 1))
	done
	wait_until 60 two_more_passes "$(passes holder)" "$(passes reader)"
	for img in "${imgs[@]}"; do lw direct release "$img" --pid "$opener" >/dev/null 2>&1; done
done
touch "$work/stop"; wait "$opener" "$reader"
why="expected 24 fcntl direct acquires beside opens of the images to succeed, $failed failed"
check fcntl_direct_acquires_beside_opening_holders_and_readers_succeed [ "$failed" = 0 ]
why="lease-break-time is $lease_break_time s, expected opens done in 0-29 s and none refused; holder: $(cat "$work/direct-holder.out" | tr '\n' ' '); reader: $(cat "$work/direct-reader.out" | tr '\n' ' ')"
opens_done() { grep -qE "^opens [1-9][0-9]* errors 0 slowest [12]?[0-9]$" "$work/direct-$1.out"; }
check no_open_waits_for_a_probe_lease_to_time_out eval 'opens_done holder && opens_done reader'
echo "# the holder's opens for write: $(cat "$work/direct-holder.out"); a reader's: $(cat "$work/direct-reader.out")"
# A daemon killed between taking and dropping the write lease leaves it on
# the lock's open file, which its keeper still holds: every open of the
# image would wait up to lease-break-time (45 s), the keeper's own open of
# the fanotify event included. Left here by hand, on a copy of the keeper's
# own descriptor (pidfd_getfd: the same open file); the keeper drops it
# when the daemon's connection ends, before it answers the group. The
# acquire does not wait for the keeper to receive its copy (keeping.h):
# looked for up to 10 s.
img=$(new_image adopted.raw)
ino=$(stat -c %i "$img")
lw direct acquire "$img" --pid "$holder" >/dev/null
"$py" -c 'import ctypes,fcntl,os,sys,time
img, found = sys.argv[1], None
for _ in range(200):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/comm").read().strip() != "lockwarden-keep": continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == img: found = (int(pid), int(fd))
        except OSError: pass
    if found: break
    time.sleep(0.05)
if not found: sys.exit("no keeper holds " + img)
libc = ctypes.CDLL(None, use_errno=True)
copy = libc.syscall(438, os.pidfd_open(found[0]), found[1], 0)  # pidfd_getfd
if copy < 0: sys.exit("pidfd_getfd: " + os.strerror(ctypes.get_errno()))
fcntl.fcntl(copy, 1024, fcntl.F_WRLCK)  # F_SETLEASE
print("leased")' "$img" >"$work/leaver.out" 2>&1
lease_on_image() { grep -q "LEASE .*:$ino " /proc/locks; }
why="expected a write lease on the kept lock of $img: $(cat "$work/leaver.out")"
check probe_lease_left_on_a_kept_lock lease_on_image
kill -KILL "${daemon_pid[direct]}"; wait "${daemon_pid[direct]}" 2>/dev/null
wait_until 10 not lease_on_image
why="expected the keeper to drop the lease on $img once the daemon died, /proc/locks: $(grep ":$ino " /proc/locks)"
check keeper_drops_a_probe_lease_left_by_a_dead_daemon not lease_on_image
# A lease left behind would stall this open in the keeper's answer for 45 s:
# the answering thread's own open of the event waits for the lease to break.
out=$(timeout 10 "$py" -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)); print("opened")' "$img" 2>&1)
why="expected a non-blocking open of the image the keeper guards to succeed within 10 s, got status $?: $out"
check image_opens_at_once_while_the_keeper_answers [ "$out" = opened ]
start_daemon direct --enforcer fanotify --backend fcntl
lists_image() { lw direct list | grep -qF "$img"; }
wait_until 30 lists_image
why="expected the restarted daemon to list $img, got: $(lw direct list 2>&1 | tr '\n' ' ')"
check restarted_daemon_adopts_the_image lists_image
((failures == 0))
