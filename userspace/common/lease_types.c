// SPDX-License-Identifier: LGPL-2.1-or-later
/* Names of the domain's enumerations, as records and replies show them. */
#include "common/lease_types.h"

const char *lw_lease_mode_name(enum lw_lease_mode mode)
{
	switch (mode) {
	case LW_LEASE_EXCLUSIVE: return "exclusive";
	case LW_LEASE_SHARED: return "shared";
	}
	return "unknown";
}

const char *lw_denial_op_name(enum lw_denial_op op)
{
	switch (op) {
	case LW_OP_OPEN_WRITE: return "open-write";
	case LW_OP_TRUNCATE: return "truncate";
	case LW_OP_UNLINK: return "unlink";
	case LW_OP_RENAME: return "rename";
	case LW_OP_WRITE: return "write";
	case LW_OP_BPF: return "bpf";
	case LW_OP_UNPIN: return "unpin";
	case LW_OP_PTRACE: return "ptrace";
	case LW_OP_IOCTL: return "ioctl";
	case LW_OP_MOUNT: return "mount";
	}
	return "unknown";
}
