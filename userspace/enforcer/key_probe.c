// SPDX-License-Identifier: LGPL-2.1-or-later
/* The key probe (bpf/key_probe.bpf.h): the image key and write count of one
 * of our descriptors, from the kernel, in constant time. A probe can go
 * unanswered (programs of an older version attached, or the answer evicted
 * by a flood of probes); callers then ask the files iterator. */
#include <bpf/bpf.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include "enforcer/enforcer_internal.h"

/* Nonces are drawn 32 at a time: a probe costs one system call less
 * (three probes an acquire), and each is still used once only. */
static int next_nonce(__u64 *nonce)
{
	static __u64 pool[32];
	static size_t left;

	if (!left) {
		if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool))
			return -errno;
		left = sizeof(pool) / sizeof(pool[0]);
	}
	*nonce = LW_KEY_PROBE_TAG | (pool[--left] & ~LW_KEY_PROBE_TAG_MASK);
	return 0;
}

int lw_key_probe(struct lw_enforcer *enf, int fd, struct lw_key_probe *answer)
{
	__u64 nonce;
	int err;

	if (enf->key_probes_fd < 0)
		return -ENOENT;
	if ((err = next_nonce(&nonce)))
		return err;
	/* The file fails the unassigned command (ENOTTY); what counts is the
	 * answer under our nonce. */
	(void)ioctl(fd, LW_IOC_KEY_PROBE, (unsigned long)nonce);
	if (bpf_map_lookup_and_delete_elem(enf->key_probes_fd, &nonce, answer))
		return -ENOENT;
	return 0;
}
