#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The socket is root's and the admin group's by default (0660): a user in
# neither gets a clear "permission denied" from the CLI; socket_mode and
# socket_group open it wider when the operator chooses to.
source "$(dirname "$0")/daemon_lib.bash"
source "$(dirname "$0")/limits_lib.bash"
require
echo "1..9"

make_user lwoutsider
make_user lwinsider
getent group lwadmins >/dev/null || groupadd lwadmins
usermod -a -G lwadmins lwinsider
mode_owner() { stat -c '%a %U:%G' "$(sock "$1")"; }

check daemon_with_an_admin_group_starts start_daemon A --config "$(config admin '[daemon]' 'admin_group = lwadmins')"
why="expected 660 root:lwadmins, got $(mode_owner A)"
check default_socket_is_0660_root_and_the_admin_group [ "$(mode_owner A)" = "660 root:lwadmins" ]
out=$(lw_as lwoutsider A status 2>&1); status=$?
why="expected a non-zero exit saying Permission denied, got status $status: $out"
check a_user_outside_the_group_is_told_permission_denied failed_with "cannot connect to lockwardend at .*: Permission denied"
out=$(lw_as lwinsider A status 2>&1); status=$?
why="a member of the admin group could not call status ($status): $out"
check a_member_of_the_admin_group_is_answered [ $status -eq 0 ]

check daemon_without_an_admin_group_starts start_daemon B
why="expected 660 root:root, got $(mode_owner B)"
check without_an_admin_group_the_socket_is_roots_only [ "$(mode_owner B)" = "660 root:root" ]

check daemon_with_socket_mode_and_group_starts start_daemon C --config "$(config open '[daemon]' \
	'admin_group = lwadmins' 'socket_mode = 0666' 'socket_group = lwoutsider')"
why="expected 666 root:lwoutsider, got $(mode_owner C)"
check socket_mode_and_socket_group_are_applied [ "$(mode_owner C)" = "666 root:lwoutsider" ]
out=$(lw_as lwoutsider C status 2>&1); status=$?
why="with socket_mode 0666 an unprivileged status failed ($status): $out"
check an_operator_may_open_the_socket_to_all_users [ $status -eq 0 ]
exit $((failures > 0))
