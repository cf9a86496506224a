// SPDX-License-Identifier: LGPL-2.1-or-later
/* The programs this kernel can run. One hook is optional because a kernel
 * without it has no hole: before 6.1.75 (6.6.14, 6.8) a 32-bit process's
 * ioctls went through file_ioctl, which we guard, and file_ioctl_compat did
 * not exist. Any other hook missing fails the load, as it must. */
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "enforcer/enforcer_internal.h"
#include "enforcer.skel.h"	/* after enforcer_maps.h: it uses its structs */

/* Whether the kernel's BTF has the hook; true if the BTF cannot be read
 * (the load then says what is wrong). */
static bool kernel_has_ioctl_compat_hook(void)
{
	static int has = -1;	/* not asked yet */
	struct btf *vmlinux;

	if (has >= 0)
		return has;
	vmlinux = btf__load_vmlinux_btf();
	has = !vmlinux || btf__find_by_name_kind(vmlinux, "bpf_lsm_file_ioctl_compat", BTF_KIND_FUNC) >= 0;
	btf__free(vmlinux);
	return has;
}

struct enforcer_bpf *lw_enforcer_bpf_open(void)
{
	struct enforcer_bpf *skel = enforcer_bpf__open();

	if (skel && !kernel_has_ioctl_compat_hook())
		bpf_program__set_autoload(skel->progs.lw_file_ioctl_compat, false);
	return skel;
}
