# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the tamper tests (tests/vm/tamper_*.sh), sourced after
# daemon_lib.bash, not run.

# lease_key_hex NAME IMAGE: the kernel key of IMAGE's lease as bpftool's
# "hex" bytes (struct lw_image_key: dev, ino, little-endian u64s).
lease_key_hex() {
	lw "$1" list --json | "$py" -c '
import json, struct, sys
for l in json.load(sys.stdin)["leases"]:
    if l["image"] == sys.argv[1]:
        print("hex " + " ".join("%02x" % b for b in struct.pack("<QQ", l["dev"], l["ino"])))' "$2"
}

# status_get NAME EXPR: a Python expression over the Status reply s.
status_get() {
	lw "$1" status --json | "$py" -c 'import json, sys; s = json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}

# within TENTHS COMMAND...: poll COMMAND until it succeeds, at most TENTHS/10 s.
within() {
	local tenths=$1; shift
	for _ in $(seq "$tenths"); do "$@" && return 0; nap 0.1; done
	"$@"
}

# audit_has NAME TEXT...: the audit log of daemon NAME has a line with every TEXT.
audit_has() {
	local name=$1; shift
	local lines; lines=$(cat "$work/$name/audit.log" 2>/dev/null)
	for t in "$@"; do lines=$(grep -F -- "$t" <<<"$lines") || return 1; done
}

# hardened_conf: a config file with hardened = yes; its path.
hardened_conf() { printf '[daemon]\nhardened = yes\n' >"$work/hardened.conf"; echo "$work/hardened.conf"; }

# hold_open_for_write IMAGE VAR: a process keeping IMAGE open for write.
hold_open_for_write() {
	bash -c 'exec 7<>"$1" || exit 1; exec sleep 100000' _ "$1" </dev/null >/dev/null 2>&1 &
	children+=($!); printf -v "$2" %s $!
}
