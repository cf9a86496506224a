#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A hostile local user against lockwardend: what it may lease, what it may
# see, what it may make the daemon open, and the input it may send.
# The user is a real account (useradd) and calls through setpriv with no
# capabilities; root's calls go through the same socket.
source "$(dirname "$0")/daemon_lib.bash"
require
echo "1..26"

user=lw-authz
id "$user" >/dev/null 2>&1 || useradd -M -s /bin/sh "$user" ||
	{ echo "not ok 1 - prerequisites: useradd $user failed"; exit 1; }
uid=$(id -u "$user")
chmod 755 "$work"
as_user() { setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=-all "$@"; }
# lw_as_user ARGS...: the CLI against daemon A, as the user
lw_as_user() { as_user "$cli_bin" --socket "$(sock A)" "$@"; }

# call WHO JSON: one raw varlink call to daemon A as root or the user; prints the reply.
call() {
	local who=$1; shift
	local cmd=("$py" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(60)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\0")
buf = b""
while b"\0" not in buf:
    chunk = s.recv(65536)
    if not chunk:
        print("EOF"); sys.exit(0)
    buf += chunk
print(buf.split(b"\0", 1)[0].decode())' "$(sock A)" "$1")
	if [ "$who" = root ]; then "${cmd[@]}"; else as_user "${cmd[@]}"; fi
}
inquire_json() { printf '{"method":"io.lockwarden.Manager.Inquire","parameters":{"image":"%s"}}' "$1"; }
release_json() { printf '{"method":"io.lockwarden.Manager.Release","parameters":{"image":"%s"}}' "$1"; }

check daemon_answers_status_after_start start_daemon A
# whatever the configured socket mode, these tests are about what the daemon allows
chmod 0666 "$(sock A)"

# ---- input ----
start_holder holder
img=$(new_image root.img)
out=$(lw A acquire "$img" --pid 1 2>&1); status=$?
why="expected pid 1 refused with a reason, got $status: $out"
check pid_1_is_refused_as_a_holder failed_with "pid 1 (init) never exits"

out=$(lw A acquire "$img" --pid 2 2>&1); status=$?
why="expected kthreadd (pid 2) refused as a kernel thread, got $status: $out"
check kernel_thread_is_refused_as_a_holder failed_with "kernel thread"

kworker=$(pgrep -o kworker)
out=$(lw A acquire "$img" --pid "$kworker" 2>&1); status=$?
why="expected kworker pid $kworker refused as a kernel thread, got $status: $out"
check any_kernel_thread_is_refused_as_a_holder failed_with "kernel thread"

out=$(lw A acquire /proc/self/mem --pid "$holder" 2>&1); status=$?
why="expected /proc/self/mem refused as not an image, got $status: $out"
check proc_self_mem_is_not_an_image failed_with "not an image"

out=$(lw A acquire "/proc/$holder/mem" --pid "$holder" 2>&1); status=$?
why="expected /proc/PID/mem refused as not an image, got $status: $out"
check proc_pid_mem_is_not_an_image failed_with "not an image"

mkdir "$work/folder"
out=$(lw A acquire "$work/folder" --pid "$holder" 2>&1); status=$?
why="expected a directory refused as not an image, got $status: $out"
check a_directory_is_not_an_image failed_with "not an image"

out=$(lw A acquire /dev/null --pid "$holder" 2>&1); status=$?
why="expected the char device /dev/null refused as not an image, got $status: $out"
check a_char_device_is_not_an_image failed_with "not an image"

reply=$(call root "{\"method\":\"io.lockwarden.Manager.Acquire\",\"parameters\":{\"image\":\"$img\\u0000/etc/passwd\",\"pid\":$holder}}")
why="expected InvalidParameter naming the NUL, got: $reply"
check nul_inside_the_image_path_is_refused grep -q 'InvalidParameter.*NUL\|NUL.*InvalidParameter' <<<"$reply"
why="a lease exists after the NUL request: $(lw A list 2>&1)"
check nul_request_leased_nothing [ "$(count_leases A)" = 0 ]

# json-c would read the member name "image\u0000x" as "image"
reply=$(call root "{\"method\":\"io.lockwarden.Manager.Acquire\",\"parameters\":{\"image\\u0000x\":\"$img\",\"pid\":$holder}}")
why="expected InvalidParameter naming the NUL in a member name, got: $reply (leases: $(count_leases A))"
check nul_inside_a_parameter_name_is_refused eval 'grep -q "InvalidParameter.*NUL\|NUL.*InvalidParameter" <<<"$reply" && [ "$(count_leases A)" = 0 ]'

reply=$(call root '{"method":"io.lockwarden.Manager.Inquire","parameters":{"image":"relative/x.img"}}')
why="expected InvalidParameter saying not absolute, got: $reply"
check relative_image_path_is_refused grep -q 'not an absolute path' <<<"$reply"

# ---- what a user may lease ----
own=$(new_image own.img); chown "$user:" "$own"
out=$(lw_as_user run /etc/passwd -- true 2>&1); status=$?
why="expected a user's acquire of /etc/passwd refused, got $status: $out"
check user_may_not_lease_a_root_file failed_with "permission denied"

out=$(lw_as_user run "$work/folder/../root.img" -- true 2>&1); status=$?
why="expected a user's acquire of a root file through .. refused, got $status: $out"
check user_may_not_lease_a_root_file_by_another_name failed_with "permission denied"

ln -s "$img" "$work/link-to-root"
out=$(lw_as_user run "$work/link-to-root" -- true 2>&1); status=$?
why="expected a user's acquire of a root file through a symlink refused, got $status: $out"
check user_may_not_lease_a_root_file_through_a_symlink failed_with "permission denied"

shared_rw=$(new_image group-writable.img); chmod 0666 "$shared_rw"
as_user "$cli_bin" --socket "$(sock A)" run "$shared_rw" -- true >/dev/null 2>&1; status=$?
why="a user's lease on a root file it may write failed ($status)"
check user_may_lease_a_file_it_may_write [ $status -eq 0 ]

# ---- what a user may see ----
lw A acquire "$img" --pid "$holder" >/dev/null 2>&1
as_user "$cli_bin" --socket "$(sock A)" run "$own" -- sleep 100000 >/dev/null 2>&1 &
children+=($!)
for _ in $(seq 100); do [ "$(count_leases A)" = 2 ] && break; nap 0.1; done
out=$(lw_as_user list --json 2>&1)
why="expected the user's list to show $own and not $img, got: $out"
check user_list_shows_only_own_leases eval 'grep -q "$own" <<<"$out" && ! grep -q "$img" <<<"$out"'
why="root's list does not show both leases: $(lw A list 2>&1)"
check root_list_shows_every_lease [ "$(count_leases A)" = 2 ]

reply=$(call user "$(inquire_json "$img")")
why="expected the user's Inquire of root's lease to say no lease, got: $reply"
check user_inquire_of_another_users_lease_shows_nothing grep -q '"lease": *null' <<<"$reply"
reply=$(call user "$(inquire_json "$own")")
why="expected the user's Inquire of its own lease to show it, got: $reply"
check user_inquire_of_own_lease_shows_it grep -q "\"image\": *\"$own\"" <<<"$reply"
ln "$own" "$work/own-hardlink.img"
reply=$(call user "$(inquire_json "$work/own-hardlink.img")")
why="expected the user's Inquire through a hard link (a lookup by key from an O_PATH descriptor) to show its lease, got: $reply"
check user_inquire_by_another_name_finds_own_lease grep -q "\"image\": *\"$own\"" <<<"$reply"

# a folder the user cannot search: existing and missing names look the same
mkdir -m 0700 "$work/secret"
secret=$(new_image secret/exists.img)
start_holder secret_holder
lw A acquire "$secret" --pid "$secret_holder" >/dev/null 2>&1
probe() {	# probe NAME: the user's Inquire, Release and Acquire answers, with NAME blanked
	{ call user "$(inquire_json "$work/secret/$1")"
	  call user "$(release_json "$work/secret/$1")"
	  lw_as_user run "$work/secret/$1" -- true 2>&1; } | sed "s|$1|NAME|g"
}
a=$(probe exists.img); b=$(probe missing.img)
why="answers differ: existing (and leased by root): [$a] missing: [$b]"
check probing_a_folder_the_user_cannot_search_tells_nothing [ "$a" = "$b" ]

# ---- one user cannot fill the lease table: max_leases_per_uid ----
printf '[daemon]\nmax_leases_per_uid = 2\n' >"$work/cap.conf"
check capped_daemon_answers_status_after_start start_daemon B --config "$work/cap.conf"
chmod 0666 "$(sock B)"
for i in 1 2 3; do new_image "cap$i.img" >/dev/null; chown "$user:" "$work/cap$i.img"; done
for i in 1 2; do
	as_user "$cli_bin" --socket "$(sock B)" run "$work/cap$i.img" -- sleep 100000 >/dev/null 2>&1 &
	children+=($!)
done
for _ in $(seq 100); do [ "$(count_leases B)" = 2 ] && break; nap 0.1; done
out=$(as_user "$cli_bin" --socket "$(sock B)" run "$work/cap3.img" -- true 2>&1); status=$?
why="expected the user's third lease refused naming max_leases_per_uid, got $status: $out"
check user_beyond_max_leases_per_uid_gets_a_clear_error failed_with "capacity exceeded: uid $uid holds 2 leases already (max_leases_per_uid)"
start_holder capped_root_holder
out=$(lw B acquire "$work/cap3.img" --pid "$capped_root_holder" 2>&1); status=$?
why="root's acquire failed while the user was at its cap ($status): $out"
check root_still_acquires_while_a_user_is_at_its_cap [ $status -eq 0 ]

# ---- a watchdog the daemon must never open ----
modprobe softdog 2>&1 | sed 's/^/# /'
state=/sys/class/watchdog/watchdog0/state
for _ in $(seq 50); do [ -e /dev/watchdog ] && [ -e "$state" ] && break; nap 0.1; done
before=$(cat "$state" 2>&1)
for who in user root; do
	call "$who" "$(inquire_json /dev/watchdog)" >/dev/null
	call "$who" "$(release_json /dev/watchdog)" >/dev/null
	call "$who" '{"method":"io.lockwarden.Manager.Acquire","parameters":{"image":"/dev/watchdog"}}' >/dev/null
	call "$who" "$(inquire_json /dev/watchdog0)" >/dev/null
done
after=$(cat "$state" 2>&1)
why="expected the softdog watchdog inactive before and after, got before=[$before] after=[$after]"
check inquire_release_acquire_of_dev_watchdog_do_not_arm_it [ "$before/$after" = inactive/inactive ]

exit $((failures > 0))
