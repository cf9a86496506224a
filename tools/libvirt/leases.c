// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockwarden/client.h"
#include "common/self_pid.h"
#include "libvirt/cgroup.h"
#include "libvirt/connections.h"
#include "libvirt/leases.h"
#include "libvirt/report.h"

#define STATE_VERSION 1

/* Who holds the domain's leases. */
struct holder {
	pid_t pid;               /* the domain's QEMU (or the child about to become it) */
	char cgroup[PATH_MAX];   /* holder = cgroup: the domain's cgroup folder */
	bool is_cgroup;
};

static int holder_of(const struct lw_plugin_config *cfg, const struct lw_domain *dom,
		     bool need_cgroup, struct holder *h)
{
	char own[PATH_MAX];
	int r;

	memset(h, 0, sizeof(*h));
	/* in the forked child libvirt passes its pid; 0 would mean "not started" */
	h->pid = dom->pid > 0 ? dom->pid : lw_self_pid();
	if (cfg->holder != LW_PLUGIN_HOLDER_CGROUP || !need_cgroup)
		return 0;
	h->is_cgroup = true;
	r = lw_domain_cgroup_of_pid(h->pid, LW_CGROUP2_ROOT, h->cgroup, sizeof(h->cgroup));
	if (r == 0 && lw_domain_cgroup_of_pid(lw_self_pid(), LW_CGROUP2_ROOT, own, sizeof(own)) == 0 &&
	    strcmp(own, h->cgroup) == 0)
		r = -EPERM; /* QEMU shares our cgroup: libvirtd would hold the leases too */
	if (r < 0)
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: holder = \"cgroup\" but domain %s (pid %d) has no cgroup of its own: %s",
				 dom->name, (int)h->pid, strerror(-r));
	return 0;
}

static bool holds(const struct lockwarden_lease *lease, const struct holder *h)
{
	for (size_t i = 0; i < lease->n_holders; i++) {
		const struct lockwarden_holder *x = &lease->holders[i];

		if (h->is_cgroup ? x->kind == LOCKWARDEN_HOLDER_CGROUP && x->cgroup &&
					   strcmp(x->cgroup, h->cgroup) == 0
				 : x->kind == LOCKWARDEN_HOLDER_PROCESS && x->pid == h->pid)
			return true;
	}
	return false;
}

static int report_held(const struct lw_disk *disk, const struct lockwarden_lease *lease)
{
	char who[256];

	lockwarden_holders_format(lease->holders, lease->n_holders, who, sizeof(who));
	return lw_report(VIR_ERR_RESOURCE_BUSY, "lockwarden: %s: %s lease held by %s", disk->image,
			 lease->shared ? "shared" : "exclusive", who);
}

static int acquire_disks(const struct lw_plugin_config *cfg, const struct lw_domain *dom,
			 const struct holder *hp, bool shared_only);

int lw_leases_check(const struct lw_plugin_config *cfg, const struct lw_domain *dom)
{
	struct lockwarden *lw = NULL;
	struct holder h;
	int ret = -1;

	if (dom->n_disks == 0)
		return 0;
	if (holder_of(cfg, dom, false, &h) < 0 || lw_connection_take(cfg, &lw) < 0)
		return -1;
	for (size_t i = 0; i < dom->n_disks; i++) {
		const struct lw_disk *disk = &dom->disks[i];
		struct lockwarden_lease *lease = NULL;
		struct lockwarden_error err;
		bool busy;
		int r = lockwarden_inquire(lw, disk->image, &lease, &err);

		if (r == -ENOENT) /* not there yet: QEMU will say, or create it */
			continue;
		if (r < 0) {
			lw_report(lw_report_code_of(r), "lockwarden: %s: %s", disk->image, err.message);
			goto out;
		}
		busy = lease && !holds(lease, &h) && !(lease->shared && disk->shared);
		if (busy)
			report_held(disk, lease);
		lockwarden_lease_free(lease);
		if (busy)
			goto out;
	}
	ret = 0;
out:
	lw_connection_give_back(lw);
	/* QEMU opens its disks for write before its CPUs start: a shared disk
	 * that others already lease would be denied to it, so it joins now
	 * (a shared lease keeps out only exclusive takers, which must wait). */
	if (ret == 0)
		ret = acquire_disks(cfg, dom, &h, true);
	return ret;
}

static int release_one(struct lockwarden *lw, const struct holder *h, const char *image,
		       struct lockwarden_error *err)
{
	return h->is_cgroup ? lockwarden_release_cgroup(lw, image, h->cgroup, err)
			    : lockwarden_release(lw, image, h->pid, err);
}

static bool has_shared_disk(const struct lw_domain *dom)
{
	for (size_t i = 0; i < dom->n_disks; i++)
		if (dom->disks[i].shared)
			return true;
	return false;
}

/* Lease the domain's disks (only its shared ones if shared_only) to h. */
static int acquire_disks(const struct lw_plugin_config *cfg, const struct lw_domain *dom,
			 const struct holder *hp, bool shared_only)
{
	const struct holder h = *hp;
	struct lockwarden *lw = NULL;
	bool *taken;
	size_t i;
	int ret = -1;

	if (shared_only && !has_shared_disk(dom))
		return 0;	/* no connection for nothing to ask */
	taken = calloc(dom->n_disks, sizeof(*taken));
	if (!taken)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
	if (lw_connection_take(cfg, &lw) < 0)
		goto out;
	for (i = 0; i < dom->n_disks; i++) {
		const struct lw_disk *disk = &dom->disks[i];
		struct lockwarden_lease *lease = NULL;
		struct lockwarden_error err;
		unsigned flags = (disk->shared ? LOCKWARDEN_SHARED : 0) | LOCKWARDEN_BRIEF;
		int r;

		if (shared_only && !disk->shared)
			continue;
		/* A lease the domain held before must survive the rollback below,
		 * so each disk is asked about first. Not the last: nothing after it
		 * can fail, and the daemon answers an acquire of what the holder
		 * holds already with the lease, taking nothing twice. A domain of
		 * one disk, the common one, so acquires in one message. */
		r = i + 1 < dom->n_disks ? lockwarden_inquire(lw, disk->image, &lease, &err) : -ENOENT;
		if (r == 0 && lease && holds(lease, &h)) {
			lockwarden_lease_free(lease); /* already ours: never taken twice */
			continue;
		}
		lockwarden_lease_free(lease);
		/* a <lease> names the paxos lease (lw_domain_bind_lease) */
		if (r == 0 || r == -ENOENT)
			r = h.is_cgroup ? lockwarden_acquire_cgroup_named(lw, disk->image, h.cgroup, flags,
									  disk->lease, NULL, &err)
					: lockwarden_acquire_named(lw, disk->image, h.pid, flags, disk->lease, NULL,
								   &err);
		if (r < 0) {
			lw_report(lw_report_code_of(r), "lockwarden: %s: %s", disk->image, err.message);
			break;
		}
		taken[i] = true;
	}
	if (i == dom->n_disks) {
		ret = 0;
		goto out;
	}
	/* all or nothing, on a fresh connection: one that timed out is unusable */
	lockwarden_disconnect(lw);
	lw = NULL;
	lw_connection_new(cfg, &lw, NULL);	/* quiet: the failure above is the one to report */
	while (lw && i-- > 0)
		if (taken[i])
			release_one(lw, &h, dom->disks[i].image, NULL);
out:
	lw_connection_give_back(lw);
	free(taken);
	return ret;
}

int lw_leases_acquire(const struct lw_plugin_config *cfg, const struct lw_domain *dom)
{
	struct holder h;

	if (dom->n_disks == 0)
		return 0;
	if (holder_of(cfg, dom, true, &h) < 0)
		return -1;
	return acquire_disks(cfg, dom, &h, false);
}

static int release_all(struct lockwarden *lw, const struct lw_domain *dom, const struct holder *h)
{
	int ret = 0;

	for (size_t i = 0; i < dom->n_disks; i++) {
		struct lockwarden_error err;
		int r = release_one(lw, h, dom->disks[i].image, &err);

		/* not ours (a failed acquire, a second pause) or gone: nothing to give up */
		if (r == -ENOLCK || r == -ENOENT)
			continue;
		if (r < 0 && ret == 0)
			ret = lw_report(lw_report_code_of(r), "lockwarden: %s: %s", dom->disks[i].image,
					err.message);
	}
	return ret;
}

/* {"lockwarden":1,"leases":[{"image":PATH,"mode":"exclusive"|"shared"[,"lease":<lease>]}]} */
static int state_of(struct lockwarden *lw, const struct lw_domain *dom, const struct holder *h,
		    char **state)
{
	struct json_object *root = json_object_new_object(), *list = json_object_new_array();
	int ret = -1;

	*state = NULL;
	if (!root || !list) {
		json_object_put(list);
		ret = lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
		goto out;
	}
	json_object_object_add(root, "lockwarden", json_object_new_int(STATE_VERSION));
	json_object_object_add(root, "leases", list);
	for (size_t i = 0; i < dom->n_disks; i++) {
		struct lockwarden_lease *lease = NULL;
		struct lockwarden_error err;
		struct json_object *one;
		int r = lockwarden_inquire(lw, dom->disks[i].image, &lease, &err);

		if (r == -ENOENT)
			continue;
		if (r < 0) {
			ret = lw_report(lw_report_code_of(r), "lockwarden: %s: %s", dom->disks[i].image,
					err.message);
			goto out;
		}
		if (lease && holds(lease, h) && (one = json_object_new_object())) {
			json_object_object_add(one, "image", json_object_new_string(lease->image));
			json_object_object_add(one, "mode",
					       json_object_new_string(lease->shared ? "shared" : "exclusive"));
			if (dom->disks[i].lease)
				json_object_object_add(one, "lease", json_object_new_string(dom->disks[i].lease));
			json_object_array_add(list, one);
		}
		lockwarden_lease_free(lease);
	}
	*state = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
	ret = *state ? 0 : lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
out:
	json_object_put(root);
	return ret;
}

int lw_leases_release(const struct lw_plugin_config *cfg, const struct lw_domain *dom,
		      char **state)
{
	struct lockwarden *lw = NULL;
	struct holder h;
	int ret = -1;

	if (state)
		*state = NULL;
	if (holder_of(cfg, dom, true, &h) < 0 || lw_connection_take(cfg, &lw) < 0)
		return -1;
	if (state && state_of(lw, dom, &h, state) < 0)
		goto out;
	ret = release_all(lw, dom, &h);
	if (ret < 0 && state) {
		free(*state);
		*state = NULL;
	}
out:
	lw_connection_give_back(lw);
	return ret;
}

int lw_leases_inquire(const struct lw_plugin_config *cfg, const struct lw_domain *dom,
		      char **state)
{
	struct lockwarden *lw = NULL;
	struct holder h;
	int ret;

	*state = NULL;
	if (holder_of(cfg, dom, true, &h) < 0 || lw_connection_take(cfg, &lw) < 0)
		return -1;
	ret = state_of(lw, dom, &h, state);
	lw_connection_give_back(lw);
	return ret;
}

int lw_leases_state_valid(const char *state)
{
	struct json_object *root = json_tokener_parse(state), *v, *list;
	bool ok = root && json_object_object_get_ex(root, "lockwarden", &v) &&
		  json_object_is_type(v, json_type_int) && json_object_get_int(v) == STATE_VERSION &&
		  json_object_object_get_ex(root, "leases", &list) &&
		  json_object_is_type(list, json_type_array);

	json_object_put(root);
	if (!ok)
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: lock state not from this lock driver: %.80s",
				 state);
	return 0;
}
