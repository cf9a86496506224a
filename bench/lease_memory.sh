#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's memory per lease, natively (docs/performance-history.md): starts
# lockwardend with an empty configuration in a fresh folder, reads its
# memory idle, fills it with N leases of one holder (build/bench/lease_fill),
# reads it full, then stops everything it started. Needs root and a build.
#
#   [PATH_LEN=L] bench/lease_memory.sh LOCKWARDEND N [DAEMON ARGS...]
#   e.g. bench/lease_memory.sh build/lockwardend 9500 --backend nop --enforcer fanotify
#
# PATH_LEN: the images' path length (lease_fill --path-len; default 60).
#
# Prints the smaps_rollup figures idle and full, the largest mappings full
# (heap, anonymous blocks malloc took with mmap, the fanotify table shared
# with the keeper) and the bytes a lease. Each lease costs descriptors
# (natively 2 with nop, 3 with fcntl): the hard RLIMIT_NOFILE bounds N.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
daemon=${1:?usage: bench/lease_memory.sh LOCKWARDEND N [DAEMON ARGS...]} n=${2:?N}
shift 2
work=$(mktemp -d /tmp/lw-lease-memory-XXXXXX)
mkdir -p "$work/images" && : >"$work/empty.conf"
ulimit -n "$(ulimit -Hn)"

rollup() { awk '/^(Rss|Pss_Anon|Pss_Shmem):/ { printf "%s %s kB  ", $1, $2 } END { print "" }' "/proc/$1/smaps_rollup"; }
rss_kb() { awk '/^Rss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
# the mappings of more than 256 kB: name (or "anon") and RSS
mappings() { awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 ? $6 : "anon" } /^Rss:/ && $2 > 256 { printf "  %-60s %6d kB\n", name, $2 }' "/proc/$1/smaps"; }

"$daemon" --config "$work/empty.conf" --socket "$work/sock" --pin-dir "$work/pins" --state-dir "$work/state" \
	--audit-log "$work/audit.log" "$@" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
fill_pid=
cleanup() {
	[ -n "$fill_pid" ] && kill "$fill_pid" 2>/dev/null
	kill "$daemon_pid" 2>/dev/null
	wait 2>/dev/null
	# the keeper: a double-forked copy of the daemon, found by our socket among its arguments
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "--socket $work/sock " && kill "${p#/proc/}" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 600); do
	"$top/build/lockwarden" --socket "$work/sock" status >/dev/null 2>&1 && break
	kill -0 "$daemon_pid" 2>/dev/null || { echo "lease_memory: lockwardend exited: $(tail -n 3 "$work/daemon.log")" >&2; exit 1; }
	sleep 0.1
done
idle=$(rss_kb "$daemon_pid")
echo "idle: $(rollup "$daemon_pid")"
"$top/build/bench/lease_fill" --socket "$work/sock" --images "$work/images" --leases "$n" \
	--path-len "${PATH_LEN:-60}" >"$work/fill.out" 2>"$work/fill.err" &
fill_pid=$!
until grep -q ready "$work/fill.out"; do
	kill -0 "$fill_pid" 2>/dev/null || { echo "lease_memory: the fill failed: $(tail -n 1 "$work/fill.err")" >&2; exit 1; }
	sleep 0.2
done
full=$(rss_kb "$daemon_pid")
echo "full ($n leases): $(rollup "$daemon_pid")"
mappings "$daemon_pid"
echo "descriptors: $(ls "/proc/$daemon_pid/fd" | wc -l)"
echo "per lease: $(( (full - idle) * 1024 / n )) bytes of RSS"
