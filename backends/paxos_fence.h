/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fencing for the paxos backend: stop every process that can write a leased
 * image, before the lease can be taken by another host. */
#ifndef LW_PAXOS_FENCE_H
#define LW_PAXOS_FENCE_H

/* SIGKILL every process (but the caller) that has the image open at
 * image_fd open for write, or mapped shared and writable, and wait up to
 * timeout_ms for them to be gone. Returns how many were stopped (>= 0), or
 * -ETIMEDOUT if one still lives at the deadline. */
int lw_paxos_fence_writers(int image_fd, int timeout_ms);

#endif /* LW_PAXOS_FENCE_H */
