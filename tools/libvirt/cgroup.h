/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* holder = cgroup: the domain's cgroup, so helpers libvirt places beside
 * QEMU (swtpm, virtiofsd, ...) may write the disks too. */
#ifndef LW_LIBVIRT_CGROUP_H
#define LW_LIBVIRT_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#define LW_CGROUP2_ROOT "/sys/fs/cgroup"

/* Cut libvirt's per-thread sub-groups (emulator, vcpuN, iothreadN) and its
 * nested "libvirt" group off a cgroup path, leaving the domain's scope or
 * machine group ("/machine.slice/machine-qemu\x2d1\x2dvm.scope",
 * "/machine/qemu-1-vm.libvirt-qemu"). In place. */
void lw_domain_cgroup_trim(char *path);

/* The domain cgroup folder (under root) of the process pid. 0 or -errno. */
int lw_domain_cgroup_of_pid(pid_t pid, const char *root, char *out, size_t size);

#endif
