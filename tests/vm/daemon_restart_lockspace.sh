#!/bin/bash
# daemon_restart.sh with the fcntl backend in indirect mode (a lockspace).
exec "$(dirname "$0")/daemon_restart.sh" --lockspace
