// SPDX-License-Identifier: GPL-2.0-only
/* Bench only (bench/enforce_cost.c), never loaded by the enforcer: an
 * lsm/file_open program that decides nothing. What an open pays with it
 * attached is the floor of any BPF LSM program on that hook (the
 * trampoline and the call), the line the enforcer's own program is read
 * against. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/file_open")
int BPF_PROG(lw_empty_file_open, struct file *file, int ret)
{
	(void)file;
	(void)ctx;
	return ret;
}
