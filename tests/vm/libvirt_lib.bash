# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the libvirt end-to-end tests (tests/vm/libvirt_*.sh), sourced
# after daemon_lib.bash: a real libvirtd (Debian's) whose QEMU driver loads
# build/lockwarden.so, and domains that boot nothing under TCG.
lv_dir=$work/libvirt
lv_log=$lv_dir/libvirtd.log
lv_pid=
plugin=$top/build/lockwarden.so

lv_require() {
	local f
	for f in /usr/sbin/libvirtd /usr/bin/virsh /usr/bin/qemu-system-x86_64 /usr/bin/qemu-img "$plugin"; do
		if [ ! -x "$f" ] && [ ! -f "$f" ]; then
			echo "1..1"; echo "not ok 1 - prerequisites: $f is missing (make deps; make)"; exit 1
		fi
	done
}

# halt_rom: a 64 KiB firmware whose reset vector halts the CPU with
# interrupts off. No test needs the domain to boot, and each running
# domain's QEMU, emulated inside the TCG guest, took 49-74 s of its CPU in
# libvirt_domains.sh; natively SeaBIOS with no boot device costs QEMU
# 0.22 s to start and 0.07 s each 10 s after (its timer interrupts), this
# ROM 0.17 s and 0.03 s.
halt_rom() {
	head -c 65520 /dev/zero >"$lv_dir/halt.rom"
	printf '\xfa\xf4\xeb\xfd' >>"$lv_dir/halt.rom"	# cli; hlt; jmp back to hlt
	head -c 12 /dev/zero >>"$lv_dir/halt.rom"
}

# lv_configure LOCK_MANAGER: /etc/libvirt/qemu.conf for the guest (its /etc
# is a tmpfs overlay): root runs QEMU, no security labels, logs to files
# (no virtlogd), no mount namespace; LOCK_MANAGER "" means libvirt's nop.
# Also the domains' firmware (halt_rom).
lv_configure() {
	mkdir -p "$lv_dir" /etc/libvirt /var/lib/libvirt/qemu /var/log/libvirt/qemu /var/cache/libvirt/qemu /run/libvirt
	halt_rom
	{
		echo 'user = "root"'
		echo 'group = "root"'
		echo 'dynamic_ownership = 0'
		echo 'security_driver = "none"'
		echo 'stdio_handler = "file"'
		echo 'namespaces = [ ]'
		echo 'remember_owner = 0'
		[ -n "$1" ] && echo "lock_manager = \"$1\""
	} >/etc/libvirt/qemu.conf
	printf 'socket = "%s"\n' "$(sock A)" >/etc/libvirt/qemu-lockwarden.conf
	printf 'listen_tls = 0\nlisten_tcp = 0\n' >/etc/libvirt/libvirtd.conf
}

# Start libvirtd with the plugin folder pointing at the build, and wait
# until it answers (TCG: up to 60 s).
lv_start() {
	LIBVIRT_LOCK_MANAGER_PLUGIN_DIR=$top/build /usr/sbin/libvirtd >>"$lv_log" 2>&1 &
	lv_pid=$!
	for _ in $(seq 600); do
		virsh -c qemu:///system version >/dev/null 2>&1 && return 0
		alive "$lv_pid" || { why="libvirtd exited: $(tail -n 5 "$lv_log" | tr '\n' ' ')"; return 1; }
		nap 0.1
	done
	why="libvirtd did not answer within 60 s: $(tail -n 5 "$lv_log" | tr '\n' ' ')"
	return 1
}

lv_stop() {
	[ -n "$lv_pid" ] || return 0
	kill -TERM "$lv_pid" 2>/dev/null
	for _ in $(seq 300); do alive "$lv_pid" || break; nap 0.1; done
	kill -KILL "$lv_pid" 2>/dev/null
	wait "$lv_pid" 2>/dev/null
	lv_pid=
}

vsh() { virsh -q -c qemu:///system "$@"; }

# domain_xml NAME DISK_XML...: a domain with the given <disk> elements,
# whose firmware halts at once (halt_rom).
domain_xml() {
	local name=$1; shift
	cat <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><loader type='rom'>$lv_dir/halt.rom</loader></os>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    $*
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

# disk_xml IMAGE TARGET [EXTRA]: a raw file disk (EXTRA: <shareable/>, <readonly/>).
disk_xml() {
	echo "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$1'/><target dev='$2' bus='virtio'/>${3:-}</disk>"
}

# define NAME DISK_XML...
define() { domain_xml "$@" >"$lv_dir/$1.xml" && vsh define "$lv_dir/$1.xml" >/dev/null; }

qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }

# lease_text IMAGE: the lease on IMAGE as the CLI shows it, on one line, for
# messages (computed for every check, so no Python).
lease_text() { lw A inquire "$1" 2>&1 | tr -s ' \n' ' '; }

# not_leased IMAGE: no lease on IMAGE. Without Python, being polled: a
# Python start costs a TCG guest half a second of CPU.
not_leased() { [ "$(lw A inquire "$1")" = "not leased" ]; }

# holder_pids IMAGE: the pids holding IMAGE's lease, sorted, space separated.
holder_pids() { lw A inquire "$1" --json | "$py" -c '
import json, sys
l = json.load(sys.stdin)["lease"]
print(" ".join(sorted(str(h.get("pid")) for h in l["holders"])) if l else "")'; }

# wait_no_lease IMAGE: the daemon releases a dead holder's lease on its own.
wait_no_lease() {
	for _ in $(seq 300); do not_leased "$1" && return 0; nap 0.1; done
	return 1
}

lv_cleanup() {
	local d
	for d in $(vsh list --name 2>/dev/null); do vsh destroy "$d" >/dev/null 2>&1; done
	lv_stop
	if ((failures)); then echo "# --- libvirtd log ---"; tail -n 30 "$lv_log" 2>/dev/null | sed 's/^/# /'; fi
}
