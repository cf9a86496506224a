# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the limits tests (tests/vm/limits_*.sh), sourced after
# daemon_lib.bash: real unprivileged users, and daemon configs.

# make_user NAME: a fresh unprivileged account in the guest (its /etc is a
# tmpfs overlay, so nothing leaks to the host).
make_user() {
	id "$1" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$1" ||
		{ echo "Bail out! useradd $1 failed"; exit 1; }
}

# as_user NAME CMD...: CMD as NAME with its own groups and no capabilities.
as_user() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --init-groups --inh-caps=-all "$@"; }

# config NAME LINES...: write $work/NAME.conf; its path on stdout.
config() { local f=$work/$1.conf; shift; printf '%s\n' "$@" >"$f"; echo "$f"; }

# a folder the test users can write to (mktemp made $work 0700)
chmod 755 "$work"
mkdir -p "$work/users" && chmod 1777 "$work/users"

# lw_as USER NAME ARGS...: the CLI as USER against daemon NAME.
lw_as() { local u=$1 name=$2; shift 2; as_user "$u" "$cli_bin" --socket "$(sock "$name")" "$@"; }
