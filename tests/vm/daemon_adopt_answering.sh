#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Re-adoption after kill -9 with the bpf-lsm enforcer: the daemon answers
# Status while it adopts, the pinned entries deny a rogue writer
# throughout, requests that depend on leases not yet adopted are served
# once adoption ends (tests/vm/adopt_answering.bash). TAP output.
source "$(dirname "$0")/daemon_lib.bash"
require
enforcer=bpf-lsm
source "$(dirname "$0")/adopt_answering.bash"
