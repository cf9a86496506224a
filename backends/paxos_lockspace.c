// SPDX-License-Identifier: LGPL-2.1-or-later
/* Joining a sanlock lockspace without blocking the loop (paxos_lockspace.h).
 *
 * sanlock's add with SANLK_ADD_ASYNC returns at once; the delta lease on
 * the host id is then acquired by sanlock in its own threads (about
 * 2 * io_timeout plus the wait for a previous owner of the host id). A
 * timer asks sanlock (sanlock_inq_lockspace, a quick local round trip) how
 * far it got. -EEXIST at add means sanlock already has the lockspace: a
 * restarted daemon finds it joined at its first question. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sanlock.h>
#include <sanlock_admin.h>

#include "paxos_lockspace.h"

#define POLL_USEC 250000ULL		/* how often to ask while joining */
#define RETRY_USEC 3000000ULL		/* how soon to try again after a failure */
#define WATCH_USEC 2000000ULL		/* how often to check a joined lockspace is still there */

struct lw_paxos_lockspace {
	struct sanlk_lockspace ls;
	unsigned int io_timeout;
	enum lw_paxos_ls_state state;
	char reason[LW_ERR_MAX];
	uint64_t started_usec, joined_usec;	/* CLOCK_MONOTONIC */
	sd_event *event;
	sd_event_source *timer;
	void (*changed)(void *ctx);
	void *ctx;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

static void set_state(struct lw_paxos_lockspace *ls, enum lw_paxos_ls_state state, const char *reason)
{
	bool same = ls->state == state && !strcmp(ls->reason, reason ? reason : "");

	ls->state = state;
	snprintf(ls->reason, sizeof(ls->reason), "%s", reason ? reason : "");
	if (state == LW_PAXOS_LS_JOINED)
		ls->joined_usec = now_usec();
	if (!same && ls->changed)
		ls->changed(ls->ctx);
}

static void schedule(struct lw_paxos_lockspace *ls, uint64_t delay_usec)
{
	sd_event_source_set_time(ls->timer, now_usec() + delay_usec);
	sd_event_source_set_enabled(ls->timer, SD_EVENT_ONESHOT);
}

/* Ask sanlock to add the lockspace (returns at once). */
static void start_join(struct lw_paxos_lockspace *ls)
{
	char reason[LW_ERR_MAX];
	int rv;

	ls->started_usec = now_usec();
	rv = sanlock_add_lockspace_timeout(&ls->ls, SANLK_ADD_ASYNC, ls->io_timeout);
	/* -EEXIST: sanlock has it already (a restart, another daemon of this
	 * host), joined or still joining: the next question tells */
	if (rv == 0 || rv == -EINPROGRESS || rv == -EEXIST) {
		set_state(ls, LW_PAXOS_LS_JOINING, NULL);
		schedule(ls, rv == -EEXIST ? 0 : POLL_USEC);
	} else {
		if (rv == -ECONNREFUSED || rv == -ENOENT)
			snprintf(reason, sizeof(reason), "sanlock daemon not reachable (%s): is it running?",
				 strerror(-rv));
		else
			snprintf(reason, sizeof(reason), "sanlock refused to add the lockspace (%d)", rv);
		set_state(ls, LW_PAXOS_LS_FAILED, reason);
		schedule(ls, RETRY_USEC);
	}
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct lw_paxos_lockspace *ls = userdata;
	int rv;

	(void)s;
	(void)usec;
	if (ls->state == LW_PAXOS_LS_FAILED) {
		start_join(ls);
		return 0;
	}
	rv = sanlock_inq_lockspace(&ls->ls, 0);
	if (rv == 0) {
		if (ls->state != LW_PAXOS_LS_JOINED)
			set_state(ls, LW_PAXOS_LS_JOINED, NULL);
		schedule(ls, WATCH_USEC);
	} else if (rv == -EINPROGRESS && ls->state == LW_PAXOS_LS_JOINING) {
		schedule(ls, POLL_USEC);
	} else {
		char reason[LW_ERR_MAX];

		if (ls->state == LW_PAXOS_LS_JOINED)
			snprintf(reason, sizeof(reason),
				 "sanlock dropped the lockspace (%d: its host id lease could not be renewed?)", rv);
		else
			snprintf(reason, sizeof(reason),
				 "sanlock could not join host id %llu (%d; another host using it, or storage not reachable: see sanlock's log)",
				 (unsigned long long)ls->ls.host_id, rv);
		set_state(ls, LW_PAXOS_LS_FAILED, reason);
		schedule(ls, RETRY_USEC);
	}
	return 0;
}

int lw_paxos_lockspace_open(const struct lw_paxos_lockspace_config *cfg, sd_event *event,
			    void (*changed)(void *ctx), void *ctx, struct lw_paxos_lockspace **out,
			    struct lw_err *err)
{
	struct lw_paxos_lockspace *ls = calloc(1, sizeof(*ls));
	int rv;

	if (!ls)
		return lw_err_set(err, ENOMEM, "out of memory");
	if (strlen(cfg->name) > SANLK_NAME_LEN || strlen(cfg->path) >= SANLK_PATH_LEN) {
		free(ls);
		return lw_err_set(err, ENAMETOOLONG, "lockspace name or path too long");
	}
	memcpy(ls->ls.name, cfg->name, strlen(cfg->name));
	ls->ls.host_id = cfg->host_id;
	snprintf(ls->ls.host_id_disk.path, sizeof(ls->ls.host_id_disk.path), "%s", cfg->path);
	ls->ls.host_id_disk.offset = cfg->offset;
	ls->io_timeout = cfg->io_timeout;
	ls->event = sd_event_ref(event);
	rv = sd_event_add_time(event, &ls->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, ls);
	if (rv < 0) {
		sd_event_unref(ls->event);
		free(ls);
		return lw_err_set(err, -rv, "cannot add a timer: %s", strerror(-rv));
	}
	sd_event_source_set_enabled(ls->timer, SD_EVENT_OFF);
	ls->state = LW_PAXOS_LS_JOINING;
	/* told of changes only from the loop: a join sanlock refuses at once
	 * (e.g. while it still removes the lockspace) must not call back into a
	 * caller that has no handle yet */
	start_join(ls);
	ls->changed = changed;
	ls->ctx = ctx;
	*out = ls;
	return 0;
}

void lw_paxos_lockspace_close(struct lw_paxos_lockspace *ls)
{
	if (!ls)
		return;
	/* UNUSED: sanlock refuses (-EBUSY) while a lease in it is held, so the
	 * agents' leases outlive the daemon; ASYNC: the loop does not wait. */
	if (ls->state != LW_PAXOS_LS_FAILED)
		sanlock_rem_lockspace(&ls->ls, SANLK_REM_UNUSED | SANLK_REM_ASYNC);
	sd_event_source_disable_unref(ls->timer);
	sd_event_unref(ls->event);
	free(ls);
}

enum lw_paxos_ls_state lw_paxos_lockspace_state(const struct lw_paxos_lockspace *ls)
{
	return ls->state;
}

const char *lw_paxos_lockspace_name(const struct lw_paxos_lockspace *ls)
{
	return ls->ls.name;
}

const char *lw_paxos_lockspace_reason(const struct lw_paxos_lockspace *ls)
{
	return ls->reason;
}

static const char *state_name(enum lw_paxos_ls_state state)
{
	switch (state) {
	case LW_PAXOS_LS_JOINING: return "joining";
	case LW_PAXOS_LS_JOINED: return "joined";
	default: return "failed";
	}
}

struct json_object *lw_paxos_lockspace_status(const struct lw_paxos_lockspace *ls)
{
	struct json_object *o = json_object_new_object();
	char name[SANLK_NAME_LEN + 1];

	if (!o)
		return NULL;
	snprintf(name, sizeof(name), "%.*s", SANLK_NAME_LEN, ls->ls.name);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "host_id", json_object_new_int64((int64_t)ls->ls.host_id));
	json_object_object_add(o, "path", json_object_new_string(ls->ls.host_id_disk.path));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)ls->ls.host_id_disk.offset));
	json_object_object_add(o, "io_timeout", json_object_new_int((int)ls->io_timeout));
	json_object_object_add(o, "state", json_object_new_string(state_name(ls->state)));
	if (ls->state == LW_PAXOS_LS_FAILED)
		json_object_object_add(o, "reason", json_object_new_string(ls->reason));
	if (ls->state == LW_PAXOS_LS_JOINED && ls->joined_usec > ls->started_usec)
		json_object_object_add(o, "join_seconds",
				       json_object_new_double((double)(ls->joined_usec - ls->started_usec) / 1e6));
	/* how long a join has gone on: an operator tells slow from stuck */
	if (ls->state == LW_PAXOS_LS_JOINING && now_usec() > ls->started_usec)
		json_object_object_add(o, "joining_seconds",
				       json_object_new_double((double)(now_usec() - ls->started_usec) / 1e6));
	return o;
}

bool lw_paxos_lockspace_joined_here(const char *name)
{
	struct sanlk_lockspace *lss = NULL;
	int count = 0;
	bool joined = false;

	if (sanlock_get_lockspaces(&lss, &count, 0) < 0)
		return false;
	for (int i = 0; i < count && !joined; i++)
		joined = strncmp(lss[i].name, name, SANLK_NAME_LEN) == 0 && !(lss[i].flags & SANLK_LSF_ADD) &&
			 !(lss[i].flags & SANLK_LSF_REM);
	free(lss);
	return joined;
}
