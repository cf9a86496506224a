# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the daemon VM tests (tests/vm/daemon_*.sh), sourced, not run.
# Each daemon gets its own socket, state folder, pins folder and audit log
# under $work, so several run side by side ("hosts" sharing the storage).
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
daemon_bin=$top/build/lockwardend
cli_bin=$top/build/lockwarden
py=/usr/bin/python3
work=$(mktemp -d /tmp/lw-daemon-test.XXXXXX)
declare -A daemon_pid=()
test_number=0
failures=0
children=()

ok() { test_number=$((test_number + 1)); echo "ok $test_number - $1"; }
not_ok() {
	test_number=$((test_number + 1)); failures=$((failures + 1))
	echo "not ok $test_number - $1"; shift
	for line in "$@"; do echo "#   $line"; done
}
# check NAME COMMAND...: ok if the command succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "${why:-command failed: $*}"; fi; why=""; }

require() {
	for f in "$daemon_bin" "$cli_bin" "$py"; do
		if [ ! -x "$f" ]; then
			echo "1..1"; echo "not ok 1 - prerequisites: $f is missing (run make)"; exit 1
		fi
	done
	if ! grep -qw bpf /sys/kernel/security/lsm 2>/dev/null; then
		echo "1..1"; echo "not ok 1 - prerequisites: BPF LSM is not active (run under tests/vm/run)"; exit 1
	fi
}

sock() { echo "$work/$1/lockwarden.sock"; }
pins() { echo "/sys/fs/bpf/lw-test-$1-$$"; }

# start_daemon NAME [OPTIONS...]: start lockwardend and wait until it answers.
start_daemon() {
	local name=$1; shift
	mkdir -p "$work/$name"
	: >"$work/empty.conf"
	"$daemon_bin" --config "$work/empty.conf" --socket "$(sock "$name")" --pin-dir "$(pins "$name")" \
		--state-dir "$work/$name/state" --audit-log "$work/$name/audit.log" "$@" \
		>>"$work/$name/daemon.log" 2>&1 &
	daemon_pid[$name]=$!
	wait_answers "$name"
}

# wait until the daemon NAME answers Status (TCG is slow: up to 60 s).
wait_answers() {
	for _ in $(seq 600); do
		"$cli_bin" --socket "$(sock "$1")" status >/dev/null 2>&1 && return 0
		alive "${daemon_pid[$1]}" || { why="lockwardend $1 exited: $(tail -n 3 "$work/$1/daemon.log" | tr '\n' ' ')"; return 1; }
		nap 0.1
	done
	why="lockwardend $1 did not answer within 60 s"
	return 1
}

# a process that exited but was not waited for is a zombie: not alive
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st:0:1}" != Z ]; }

stop_daemon() { kill -TERM "${daemon_pid[$1]}" 2>/dev/null; wait "${daemon_pid[$1]}" 2>/dev/null; }
kill9_daemon() { kill -KILL "${daemon_pid[$1]}" 2>/dev/null; wait "${daemon_pid[$1]}" 2>/dev/null; }

# keeper_of NAME: the keeper's pid, as daemon NAME last logged it (at
# start, or on replacing one).
keeper_of() { sed -n 's/.*keeper pid \([0-9]*\) \(holds\|replaced\).*/\1/p' "$work/$1/daemon.log" | tail -n 1; }

# lw NAME ARGS...: the CLI against daemon NAME.
lw() { local name=$1; shift; "$cli_bin" --socket "$(sock "$name")" "$@"; }

# start_holder VAR: a process that lives until killed; its pid goes to VAR.
# (Not $(...): the background process would keep the substitution's pipe open.)
start_holder() { sleep 100000 </dev/null >/dev/null 2>&1 & children+=($!); printf -v "$1" %s $!; }

# rogue_write IMAGE: a write open by a process holding no lease; 0 if it got through.
rogue_write() { dd if=/dev/zero of="$1" bs=1 count=1 seek=4096 conv=notrunc status=none 2>/dev/null; }

# state_of_another_boot NAME: the stopped daemon NAME's state as if written in
# an earlier boot (the snapshot names the boot it was written in).
state_of_another_boot() {
	sed -i 's/"boot":"[0-9a-f-]*"/"boot":"00000000-0000-4000-8000-000000000000"/' "$work/$1/state/leases.json"
}
# dropped_as_of_another_boot NAME: daemon NAME holds no lease and said why.
dropped_as_of_another_boot() { [ "$(count_leases "$1")" = 0 ] && grep -q "from an earlier boot" "$work/$1/daemon.log"; }

new_image() { local f=$work/$1; dd if=/dev/zero of="$f" bs=64k count=1 status=none; echo "$f"; }

# varlink NAME JSON...: send raw messages, print each reply on its own line.
varlink() {
	local name=$1; shift
	"$py" - "$(sock "$name")" "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
s.connect(sys.argv[1])
buf = b""
for msg in sys.argv[2:]:
    if msg == "@OVERSIZED":  # beyond the 256 KiB message limit
        msg = '{"method":"io.lockwarden.Manager.List","parameters":{"pad":"' + "x" * 300000 + '"}}'
    try:
        s.sendall(msg.encode() + b"\0")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon may hang up mid-message (oversized): its error reply is still queued
    while b"\0" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            print("EOF"); sys.exit(0)
        buf += chunk
    reply, buf = buf.split(b"\0", 1)
    print(reply.decode())
PY
}

# byte0_locked IMAGE: does anyone hold an fcntl lock on byte 0 (direct mode)?
# F_OFD_GETLK needs no write access, so it works on a leased image too.
byte0_locked() {
	"$py" - "$1" <<'PY'
import fcntl, struct, sys
fd = open(sys.argv[1], "rb")
req = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, 0, 0, 1, 0)
res = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, req)
sys.exit(0 if struct.unpack("hh4xqqi4x", res)[0] != fcntl.F_UNLCK else 1)
PY
}

# count_leases NAME: how many leases daemon NAME lists.
# Lines of the CLI's table, a header and a lease a line ("no leases" alone
# when none), counted in bash: polled, and a Python start costs a TCG guest
# half a second of CPU. Prints nothing if the daemon does not answer.
count_leases() {
	local out lines
	out=$(lw "$1" list) || return 1
	mapfile -t lines <<<"$out"
	echo $((${#lines[@]} - 1))
}

# kill_tree PID: kill PID and every process it started, deepest first. A
# function run in the background is a subshell whose commands are its
# children: killing the subshell alone left them running (authz_path_swap's
# swappers renamed files for the rest of the guest's life, two CPU-bound
# Python processes slowing every later test).
kill_tree() {
	local child
	for child in $(pgrep -P "$1"); do kill_tree "$child"; done
	kill -KILL "$1" 2>/dev/null
}

cleanup() {
	for pid in "${children[@]}"; do kill_tree "$pid"; done
	# (wait with no pid would wait for the daemons too)
	((${#children[@]})) && wait "${children[@]}" 2>/dev/null
	# with no holders left, every lease is released, then each daemon stops
	sleep 1
	for name in "${!daemon_pid[@]}"; do stop_daemon "$name"; rm -rf "$(pins "$name")"; done
	if ((failures)); then
		for name in "${!daemon_pid[@]}"; do
			echo "# --- daemon $name log ---"; sed 's/^/# /' "$work/$name/daemon.log" | tail -n 30
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

not() { ! "$@"; }

# nap SECONDS: what `sleep` does, for the polls, without starting a process:
# read times out on a FIFO nobody writes to (opened read-write, so the open
# does not wait). In a TCG guest, starting sleep costs 0.09 s of CPU, this
# 0.025 s, and the polls are CPU-bound. (A process substitution instead of
# the FIFO raced: bash could close it before read opened it, and the nap
# ended at once.) sleep if the FIFO is gone.
nap_fifo=$work/.nap
mkfifo "$nap_fifo"
nap() { read -r -t "$1" <>"$nap_fifo" 2>/dev/null || [ -p "$nap_fifo" ] || sleep "$1"; }

# wait_until SECONDS COMMAND...: poll COMMAND until it succeeds, for at most SECONDS.
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	while ((SECONDS < deadline)); do "$@" && return 0; nap 0.1; done
	"$@"
}
# failed_with TEXT: the last command ($status, $out) failed and its message names TEXT.
failed_with() { [ "$status" -ne 0 ] && grep -q -- "$1" <<<"$out"; }
