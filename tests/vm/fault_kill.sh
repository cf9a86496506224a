#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fault injection, fcntl backend in direct mode (locks on the images): the
# daemon and its keeper are killed with SIGKILL at random moments, 100 times,
# during a stream of acquires, releases and holder deaths. See fault_kill.py.
exec /usr/bin/python3 "$(dirname "$0")/fault_kill.py" "$@"
