#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# fault_kill.sh with the fcntl backend in indirect mode (lock files in a
# lockspace); fewer kills (50 by default) than direct mode's 100 to keep
# make check short: the two modes differ only in where the lock lives.
FAULT_KILLS=${FAULT_KILLS_LOCKSPACE:-50} exec "$(dirname "$0")/fault_kill.sh" --lockspace
