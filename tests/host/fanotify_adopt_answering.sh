#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Re-adoption after kill -9 natively with the fanotify enforcer: the
# daemon answers Status while it adopts, the fanotify group taken back
# from the keeper denies a rogue writer throughout (the daemon answers it
# from the kept table, not "allow"), requests that depend on leases not
# yet adopted are served once adoption ends
# (tests/vm/adopt_answering.bash). TAP output. Needs root.
source "$(dirname "$0")/../vm/daemon_lib.bash"

if [ "$(id -u)" -ne 0 ] || [ ! -x "$daemon_bin" ] || [ ! -x "$cli_bin" ]; then
	echo "1..1"; echo "not ok 1 - prerequisites: needs root and a build (make all): $daemon_bin"; exit 1
fi
enforcer=fanotify
source "$(dirname "$0")/../vm/adopt_answering.bash"
