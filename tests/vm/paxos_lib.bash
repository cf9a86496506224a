# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the paxos backend's VM tests (tests/vm/paxos_*.sh and the
# two-guest test), sourced after daemon_lib.bash. sanlock's daemon runs in
# the guest as its own user (sanlock), without a watchdog (-w 0: the guest
# has none); its storage is a loop-mounted ext4 file (sanlock needs
# O_DIRECT, which tmpfs refuses) or a shared disk.
sanlock_bin=/usr/sbin/sanlock

require_sanlock() {
	if [ ! -x "$sanlock_bin" ] || ! id sanlock >/dev/null 2>&1; then
		echo "1..1"; echo "not ok 1 - prerequisites: sanlock is not installed (run make deps)"; exit 1
	fi
}

# start_sanlock: sanlock's daemon, waited for until it answers.
start_sanlock() {
	mkdir -p /run/sanlock /var/log
	chown sanlock:sanlock /run/sanlock
	"$sanlock_bin" daemon -w 0 >>"$work/sanlock.out" 2>&1
	local deadline=$((SECONDS + 30))
	while ((SECONDS < deadline)); do
		"$sanlock_bin" client status >/dev/null 2>&1 && return 0
		nap 0.1
	done
	why="sanlock daemon did not answer within 30 s: $(tail -n 3 "$work/sanlock.out" 2>/dev/null)"
	return 1
}

stop_sanlock() {
	"$sanlock_bin" shutdown -f 1 >/dev/null 2>&1
	for _ in $(seq 100); do pgrep -x sanlock >/dev/null || return 0; nap 0.1; done
}

# shared_fs DIR: an ext4 file system at DIR (on a loop device), where the
# sanlock user may create lease files.
shared_fs() {
	local dir=$1
	modprobe loop && modprobe ext4 || { why="cannot load loop/ext4"; return 1; }
	truncate -s 128M "$work/shared.ext4" && mkfs.ext4 -q -F "$work/shared.ext4" &&
		mkdir -p "$dir" && mount -o loop "$work/shared.ext4" "$dir" || { why="cannot mount an ext4 loop file at $dir"; return 1; }
	chgrp sanlock "$dir" && chmod 2770 "$dir"
	# sanlock's user must reach it: the folders above are the test's (0700)
	local up=$dir
	while up=$(dirname "$up") && [ "$up" != / ]; do chmod o+x "$up"; done
}

# init_lockspace NAME PATH IO_TIMEOUT: an initialised lockspace area (1 MiB)
# at offset 0 of PATH, its io_timeout written in (joining hosts use it).
init_lockspace() {
	[ -b "$2" ] || { truncate -s 1M "$2" && chown sanlock:sanlock "$2"; }
	"$sanlock_bin" direct init -s "$1:0:$2:0" -o "$3" >/dev/null
}

# init_resource LOCKSPACE NAME PATH OFFSET: an initialised resource lease.
init_resource() {
	[ -b "$3" ] || { [ -f "$3" ] || truncate -s 2M "$3"; chown sanlock:sanlock "$3"; }
	"$sanlock_bin" direct init -r "$1:$2:$3:$4" >/dev/null
}

# paxos_conf FILE KEY=VALUE...: a lockwarden.conf with the paxos backend.
paxos_conf() {
	local file=$1; shift
	{ echo "[backend]"; echo "name = paxos"; echo "[paxos]"; printf '%s\n' "$@"; } >"$file"
}

# json_get EXPR: evaluate EXPR in python on the JSON read from stdin (as j).
json_get() { "$py" -c "import json,sys; j=json.load(sys.stdin); print($1)" 2>/dev/null; }

# lockspace_state NAME: the daemon's view of its lockspace (joining, joined, failed).
lockspace_state() { lw "$1" status --json | json_get 'j["backend_status"]["lockspaces"][0]["state"]'; }

# wait_lockspace NAME STATE SECONDS
wait_lockspace() {
	local state deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		state=$(lockspace_state "$1")
		[ "$state" = "$2" ] && return 0
		nap 0.2
	done
	why="lockspace of daemon $1 not $2 within $3 s (last: ${state:-none}): $(lw "$1" status --json 2>&1 | tr '\n' ' ')"
	return 1
}

# sanlock_holds RESOURCE: sanlock's own status lists a held resource of that name.
sanlock_holds() { "$sanlock_bin" client status 2>/dev/null | grep -q "^r [^:]*:$1:"; }

now_ms() { date +%s%3N; }

# agents_of NAME: the pids of daemon NAME's agents (its children), sorted.
agents_of() { pgrep -x -P "${daemon_pid[$1]}" lw-paxos-agent | sort -n | tr '\n' ' '; }

# spare_agents_of NAME: those of daemon NAME's agents that hold no lease.
spare_agents_of() {
	local held p
	held=$(lw "$1" status --json | json_get '" ".join(str(l["agent_pid"]) for l in j["backend_status"]["leases"])')
	for p in $(agents_of "$1"); do
		grep -qw "$p" <<<"$held" || echo "$p"
	done
}

# holds_a_lease PID...: whether sanlock lists a lease of one of them.
holds_a_lease() {
	local p status
	status=$("$sanlock_bin" client status 2>/dev/null)
	for p in "$@"; do grep -q "^r .* p $p\$" <<<"$status" && return 0; done
	return 1
}
