// SPDX-License-Identifier: LGPL-2.1-or-later
/* Idle connections to lockwardend, kept per process. See connections.h. */
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#include "common/self_pid.h"
#include "libvirt/connections.h"
#include "libvirt/report.h"

/* owner: the process whose connections these are, set before idle[] is
 * first touched. A child forked while another thread held the lock would
 * find it held for ever, and its copies of the sockets are its parent's
 * streams: it sees owner != its pid and leaves all of it alone (the pid
 * read once per process: two calls a lock-driver call were two system
 * calls). */
static pid_t owner;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lockwarden *idle[LW_PLUGIN_IDLE_CONNECTIONS];
static size_t n_idle;

/* Whether this process may use idle[]: the first process to ask owns it. */
static bool owned_here(void)
{
	pid_t me = lw_self_pid(), none = 0;

	return __atomic_compare_exchange_n(&owner, &none, me, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ||
	       none == me;
}

/* An idle connection that is still usable; the unusable ones are closed. */
static struct lockwarden *take_idle(void)
{
	struct lockwarden *lw = NULL, *stale[LW_PLUGIN_IDLE_CONNECTIONS];
	size_t n_stale = 0;

	pthread_mutex_lock(&lock);
	while (!lw && n_idle > 0) {
		lw = idle[--n_idle];
		if (!lockwarden_reusable(lw)) {	/* lockwardend restarted, or a stray byte */
			stale[n_stale++] = lw;
			lw = NULL;
		}
	}
	pthread_mutex_unlock(&lock);
	while (n_stale > 0)
		lockwarden_disconnect(stale[--n_stale]);
	return lw;
}

int lw_connection_new(const struct lw_plugin_config *cfg, struct lockwarden **lw, struct lockwarden_error *err)
{
	int r = lockwarden_connect(cfg->socket, lw, err);

	if (r == 0 && (r = lockwarden_set_timeout(*lw, cfg->timeout_ms, err)) < 0) {
		lockwarden_disconnect(*lw);	/* never used without its timeout */
		*lw = NULL;
	}
	return r;
}

int lw_connection_take(const struct lw_plugin_config *cfg, struct lockwarden **lw)
{
	struct lockwarden_error err;
	int r;

	*lw = owned_here() ? take_idle() : NULL;
	if (*lw)
		return 0;
	if ((r = lw_connection_new(cfg, lw, &err)) < 0)
		return lw_report(lw_report_code_of(r), "lockwarden: %s", err.message);
	return 0;
}

void lw_connection_give_back(struct lockwarden *lw)
{
	bool kept = false;

	if (!lw)
		return;
	if (owned_here()) {	/* whether it is still usable is asked when it is taken */
		pthread_mutex_lock(&lock);
		if (n_idle < LW_PLUGIN_IDLE_CONNECTIONS) {
			idle[n_idle++] = lw;
			kept = true;
		}
		pthread_mutex_unlock(&lock);
	}
	if (!kept)
		lockwarden_disconnect(lw);
}

void lw_connections_close(void)
{
	struct lockwarden *all[LW_PLUGIN_IDLE_CONNECTIONS];
	size_t n = 0;

	if (!owned_here())
		return;
	pthread_mutex_lock(&lock);
	while (n_idle > 0)
		all[n++] = idle[--n_idle];
	pthread_mutex_unlock(&lock);
	while (n > 0)
		lockwarden_disconnect(all[--n]);
}
