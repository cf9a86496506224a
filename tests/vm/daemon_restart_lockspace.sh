#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# daemon_restart.sh with the fcntl backend in indirect mode (a lockspace).
exec "$(dirname "$0")/daemon_restart.sh" --lockspace
