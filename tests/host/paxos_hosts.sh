#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The paxos backend across hosts: three guests booted side by side on one
# shared raw disk (tests/vm/run --guests 3 --disk), each a host with its own
# lockwardend and sanlock (host ids 1, 2, 3), running
# tests/vm/paxos_hosts_guest.bash. Prints each guest's cases as one TAP
# stream, named by host.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
out=$(mktemp -d "$top/build/paxos-hosts.XXXXXX")
trap 'rm -rf "$out"' EXIT
disk=$out/shared.raw
truncate -s 64M "$disk"
log=$top/build/test-logs/paxos_hosts.console
mkdir -p "$(dirname "$log")"

# three small guests at once (TCG): one vCPU and 1 GiB each
tests/vm/run --timeout "${LW_PAXOS_HOSTS_TIMEOUT:-900}" --out "$out/shared" --guests 3 --cpus 1 --mem 1024 \
	--disk "$disk" -- "$top/tests/vm/paxos_hosts_guest.bash" >"$log" 2>&1
status=$?
# each host's logs (tests/vm/paxos_hosts_guest.bash), kept beside the console
rm -rf "$log.hosts" && cp -r "$out/shared/logs" "$log.hosts" 2>/dev/null
tr -d '\r' <"$log" | awk -v status="$status" -v console="$log" '
	/^g[0-9]\| 1\.\.[0-9]+$/ { split($0, a, "[.][.]"); planned += a[2]; next }
	/^g[0-9]\| (not )?ok [0-9]+ - / {
		host = substr($1, 2, 1); line = $0; sub(/^g[0-9]\| /, "", line)
		notok = line ~ /^not ok/; sub(/^(not )?ok [0-9]+ - /, "", line)
		n++; print (notok ? "not ok " : "ok ") n " - " line; if (notok) failed++
		next
	}
	/^g[0-9]\| #/ { line = $0; sub(/^g[0-9]\| /, "", line); print line }
	END {
		if (planned == 0) planned = 1
		if (n < planned) { for (i = n + 1; i <= planned; i++) print "not ok " i " - a case never reported (console: " console ")"; failed++ }
		if (status != 0 && !failed) { print "not ok " planned + 1 " - the guests ended with status " status " (console: " console ")"; planned++ }
		print "1.." planned
	}'
