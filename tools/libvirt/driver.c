// SPDX-License-Identifier: LGPL-2.1-or-later
/* lockwarden.so: libvirt's lock-driver plugin for lockwardend. libvirt
 * reads virLockDriverImpl, the only symbol this object exports, and calls
 * the functions below; see docs/libvirt.md for the sequences. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/config.h"
#include "libvirt/connections.h"
#include "libvirt/domain.h"
#include "libvirt/leases.h"
#include "libvirt/lock_driver.h"
#include "libvirt/report.h"

/* Set by the first drvInit before libvirt makes any manager; read-only
 * after. libvirt calls drvInit once per hypervisor driver that names this
 * plugin (qemu, libxl), each with its own file, on the one loaded copy, and
 * drvDeinit once per driver: the settings are shared, so they are counted,
 * and a later file must say the same as the first. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lw_plugin_config config;
static char config_path[PATH_MAX];
static unsigned int users;	/* drivers initialized and not yet ended */

static int init_locked(const char *config_file)
{
	const char *named = config_file ? config_file : "(no file)";
	struct lw_plugin_config loaded;
	char err[768];

	if (lw_plugin_config_load(&loaded, config_file, err, sizeof(err)) < 0)
		return lw_report(VIR_ERR_CONF_SYNTAX, "lockwarden: %s", err);
	if (users && !lw_plugin_config_equal(&loaded, &config))
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: %s differs from %s, which this libvirtd loaded first; "
				 "the plugin has one configuration per libvirtd: make the files the same",
				 named, config_path);
	if (!users) {
		config = loaded;
		snprintf(config_path, sizeof(config_path), "%s", named);
	}
	users++;
	return 0;
}

static int drv_init(unsigned int version, const char *config_file, unsigned int flags)
{
	int r;

	if (version / 1000000u != VIR_LOCK_MANAGER_VERSION_MAJOR)
		return lw_report(VIR_ERR_INTERNAL_ERROR,
				 "lockwarden: lock driver ABI %u.%u not supported (this plugin is 1.x)",
				 version / 1000000u, version / 1000u % 1000u);
	if (flags)
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unsupported init flags 0x%x", flags);
	pthread_mutex_lock(&init_lock);
	r = init_locked(config_file);
	pthread_mutex_unlock(&init_lock);
	return r;
}

/* The last driver's deinit closes the connections. */
static int drv_deinit(void)
{
	pthread_mutex_lock(&init_lock);
	if (users && --users == 0)
		lw_connections_close();
	pthread_mutex_unlock(&init_lock);
	return 0;
}

static int drv_new(virLockManager *man, unsigned int type, size_t nparams,
		   virLockManagerParam *params, unsigned int flags)
{
	struct lw_domain *dom;

	man->privateData = NULL;
	if (!users)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: lock driver used before init");
	if (flags & ~VIR_LOCK_MANAGER_NEW_STARTED)
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unsupported flags 0x%x", flags);
	if (type != VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN)
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unknown object type %u", type);
	dom = calloc(1, sizeof(*dom));
	if (!dom)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: out of memory");
	if (lw_domain_init(dom, nparams, params, flags) < 0) {
		free(dom);
		return -1;
	}
	man->privateData = dom;
	return 0;
}

static void drv_free(virLockManager *man)
{
	if (!man || !man->privateData)
		return;
	lw_domain_clear(man->privateData);
	free(man->privateData);
	man->privateData = NULL;
}

static int drv_add_resource(virLockManager *man, unsigned int type, const char *name,
			    size_t nparams, virLockManagerParam *params, unsigned int flags)
{
	struct lw_domain *dom = man->privateData;

	if (!dom)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: resource added to no domain");
	if (flags & ~(VIR_LOCK_MANAGER_RESOURCE_READONLY | VIR_LOCK_MANAGER_RESOURCE_SHARED))
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unsupported resource flags 0x%x", flags);
	switch (type) {
	case VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK:
		/* readers need no lease: the kernel lets them open a leased image */
		if (flags & VIR_LOCK_MANAGER_RESOURCE_READONLY)
			return 0;
		/* a <lease> binds to it, whether or not disks are leased automatically */
		if (!(flags & VIR_LOCK_MANAGER_RESOURCE_SHARED) && lw_domain_note_exclusive_disk(dom, name) < 0)
			return -1;
		if (!config.auto_disk_leases) {
			if (!(flags & VIR_LOCK_MANAGER_RESOURCE_SHARED))
				dom->unleased_rw_disks = true;
			return 0;
		}
		return lw_domain_add_disk(dom, name, flags & VIR_LOCK_MANAGER_RESOURCE_SHARED);
	case VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE:
		return lw_domain_add_lease(dom, name, nparams, params, flags);
	default:
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unknown resource type %u", type);
	}
}

static int drv_acquire(virLockManager *man, const char *state, unsigned int flags, int action,
		       int *fd)
{
	struct lw_domain *dom = man->privateData;
	int r;

	(void)action; /* a lost lease never happens silently: the kernel keeps enforcing */
	if (fd)
		*fd = -1; /* nothing of ours is handed to QEMU */
	if (!dom)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: acquire for no domain");
	if (flags & ~(VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY | VIR_LOCK_MANAGER_ACQUIRE_RESTRICT))
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unsupported acquire flags 0x%x", flags);
	if (lw_domain_bind_lease(dom) < 0)
		return -1;
	if (dom->unleased_rw_disks && config.require_lease_for_disks)
		return lw_report(VIR_ERR_CONFIG_UNSUPPORTED,
				 "lockwarden: domain %s has writable disks but no leases (auto_disk_leases = 0, require_lease_for_disks = 1)",
				 dom->name);
	if (state && lw_leases_state_valid(state) < 0)
		return -1;
	if (flags & VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY)
		r = lw_leases_check(&config, dom);
	else
		r = lw_leases_acquire(&config, dom);
	/* RESTRICT: the process is about to exec QEMU, which must inherit
	 * nothing of ours; a forked child keeps no connection anyway */
	if (flags & VIR_LOCK_MANAGER_ACQUIRE_RESTRICT)
		lw_connections_close();
	return r;
}

static int drv_release(virLockManager *man, char **state, unsigned int flags)
{
	struct lw_domain *dom = man->privateData;

	if (state)
		*state = NULL;
	if (!dom)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: release for no domain");
	if (flags)
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unsupported release flags 0x%x", flags);
	if (lw_domain_bind_lease(dom) < 0)
		return -1;
	return lw_leases_release(&config, dom, state);
}

static int drv_inquire(virLockManager *man, char **state, unsigned int flags)
{
	struct lw_domain *dom = man->privateData;

	if (state)
		*state = NULL;
	if (!dom)
		return lw_report(VIR_ERR_INTERNAL_ERROR, "lockwarden: inquire for no domain");
	if (flags)
		return lw_report(VIR_ERR_INVALID_ARG, "lockwarden: unsupported inquire flags 0x%x", flags);
	if (!state)
		return 0;
	if (lw_domain_bind_lease(dom) < 0)
		return -1;
	return lw_leases_inquire(&config, dom, state);
}

__attribute__((visibility("default"))) virLockDriver virLockDriverImpl = {
	.version = VIR_LOCK_MANAGER_VERSION,
	.flags = VIR_LOCK_MANAGER_USES_STATE,
	.drvInit = drv_init,
	.drvDeinit = drv_deinit,
	.drvNew = drv_new,
	.drvFree = drv_free,
	.drvAddResource = drv_add_resource,
	.drvAcquire = drv_acquire,
	.drvRelease = drv_release,
	.drvInquire = drv_inquire,
};
