// SPDX-License-Identifier: LGPL-2.1-or-later
/* The daemon's changes to the lease table, the lease filter's counts,
 * nobody's aliases and the holder index, atomic as the programs' own are
 * (bpf/enforcer_filter.bpf.c): one system call a change. Loaded on first
 * use (or when the guard is set, which guards them: they write the maps),
 * never pinned: only this daemon runs them. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

#include "enforcer/enforcer_internal.h"
#include "enforcer_filter.skel.h"	/* after enforcer_maps.h: it uses its structs */

static int filter_load(struct lw_enforcer *enf)
{
	struct enforcer_filter_bpf *skel = enforcer_filter_bpf__open();
	int err;

	if (!skel)
		return lw_fail(enf, -errno, "cannot open the lease table's programs: %s", strerror(errno));
	skel->rodata->filter_mask = enf->filter_mask;
	if ((err = bpf_map__reuse_fd(skel->maps.lease_filter, enf->filter_fd)) ||
	    (err = bpf_map__reuse_fd(skel->maps.leases, enf->leases_fd)) ||
	    (err = bpf_map__reuse_fd(skel->maps.aliases, enf->aliases_fd)) ||
	    (err = bpf_map__reuse_fd(skel->maps.holder_index, enf->holder_index_fd)) ||
	    (err = bpf_map__reuse_fd(skel->maps.alias_adds, enf->alias_adds_fd)) ||
	    (err = enforcer_filter_bpf__load(skel))) {
		enforcer_filter_bpf__destroy(skel);
		return lw_fail(enf, err, "cannot load the lease table's programs: %s", strerror(-err));
	}
	enf->filter_change = skel;
	return 0;
}

void lw_filter_close(struct lw_enforcer *enf)
{
	enforcer_filter_bpf__destroy(enf->filter_change);
	enf->filter_change = NULL;
}

int lw_own_prog_fd(struct lw_enforcer *enf, enum lw_own_prog which)
{
	struct enforcer_filter_bpf *skel;
	int err;

	if (!enf->filter_change && (err = filter_load(enf)))
		return err;
	skel = enf->filter_change;
	switch (which) {
	case LW_OWN_FILTER: return bpf_program__fd(skel->progs.lw_filter_change);
	case LW_OWN_NOBODYS: return bpf_program__fd(skel->progs.lw_nobodys_change);
	case LW_OWN_LEASE: return bpf_program__fd(skel->progs.lw_lease_change);
	case LW_NR_OWN_PROGS: break;
	}
	return -EINVAL;
}

int lw_lease_release_run(struct lw_enforcer *enf, struct lw_lease_release *release)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = release, .ctx_size_in = sizeof(*release));
	int fd = lw_own_prog_fd(enf, LW_OWN_LEASE);

	if (fd < 0)
		return fd;
	if (bpf_prog_test_run_opts(fd, &run))
		return lw_fail(enf, -errno, "cannot change the lease table: %s", strerror(errno));
	if (run.retval)
		return lw_fail(enf, -EINVAL, "cannot change the lease table: bad request");
	return release->change.err;
}

int lw_lease_change(struct lw_enforcer *enf, struct lw_lease_change *change)
{
	struct lw_lease_release release = { .change = *change };
	int err = lw_lease_release_run(enf, &release);

	*change = release.change;
	return err;
}

int lw_nobodys_change(struct lw_enforcer *enf, const struct lw_map_key *keys, size_t n, int delta,
		      size_t *done)
{
	struct lw_nobodys_change change = { .delta = delta };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &change, .ctx_size_in = sizeof(change));
	int fd = lw_own_prog_fd(enf, LW_OWN_NOBODYS);

	*done = 0;
	if (fd < 0)
		return fd;
	while (*done < n) {
		change.n = n - *done < LW_NOBODYS_MAX ? (__u32)(n - *done) : LW_NOBODYS_MAX;
		memcpy(change.keys, keys + *done, change.n * sizeof(*keys));
		if (bpf_prog_test_run_opts(fd, &run))
			return lw_fail(enf, -errno, "cannot update the device aliases: %s", strerror(errno));
		*done += change.done;
		if (change.err)
			return lw_fail(enf, change.err, "cannot insert an alias: %s", strerror(-change.err));
	}
	return 0;
}

int lw_filter_add_slot(struct lw_enforcer *enf, __u32 slot, int delta)
{
	struct lw_filter_change change = { .slot = slot, .delta = delta };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &change, .ctx_size_in = sizeof(change));
	int fd = lw_own_prog_fd(enf, LW_OWN_FILTER);

	if (fd < 0)
		return fd;
	if (bpf_prog_test_run_opts(fd, &run))
		return lw_fail(enf, -errno, "cannot update the lease filter: %s", strerror(errno));
	if (run.retval)
		return lw_fail(enf, -ERANGE, "lease filter slot %u out of range", slot);
	return 0;
}

int lw_filter_add(struct lw_enforcer *enf, const struct lw_map_key *key, int delta)
{
	return lw_filter_add_slot(enf, lw_filter_slot(key, enf->filter_mask), delta);
}
