/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt's lock-driver plugin ABI (libvirt 9.0, x86_64), written from
 * its documented facts: libvirt does not ship this header. libvirt dlopens
 * <libdir>/libvirt/lock-driver/NAME.so and reads the symbol
 * virLockDriverImpl. The static assertions pin the layout libvirt expects. */
#ifndef LW_LIBVIRT_LOCK_DRIVER_H
#define LW_LIBVIRT_LOCK_DRIVER_H

#include <stddef.h>

#define VIR_LOCK_MANAGER_VERSION_MAJOR 1
#define VIR_LOCK_MANAGER_VERSION 1000000u /* major * 1000000 + minor * 1000 + micro */

/* virLockDriver.flags */
#define VIR_LOCK_MANAGER_USES_STATE 0x1u /* Inquire's state string is carried by migration */

enum vir_lock_manager_object_type {
	VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN = 0,
};

enum vir_lock_manager_resource_type {
	VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK = 0,  /* a disk image: file or block device */
	VIR_LOCK_MANAGER_RESOURCE_TYPE_LEASE = 1, /* a <lease> element: path, offset, lockspace */
};

/* drvAddResource flags */
#define VIR_LOCK_MANAGER_RESOURCE_READONLY 0x1u
#define VIR_LOCK_MANAGER_RESOURCE_SHARED   0x2u

/* drvAcquire flags */
#define VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY 0x1u /* register the process, take nothing */
#define VIR_LOCK_MANAGER_ACQUIRE_RESTRICT      0x2u /* nothing of ours stays reachable from it */

/* drvNew flags */
#define VIR_LOCK_MANAGER_NEW_STARTED 0x1u /* called for a freshly started domain */

/* <on_lockfailure> of the domain, passed to drvAcquire */
enum vir_domain_lock_failure_action {
	VIR_DOMAIN_LOCK_FAILURE_DEFAULT,
	VIR_DOMAIN_LOCK_FAILURE_POWEROFF,
	VIR_DOMAIN_LOCK_FAILURE_RESTART,
	VIR_DOMAIN_LOCK_FAILURE_PAUSE,
	VIR_DOMAIN_LOCK_FAILURE_IGNORE,
};

enum vir_lock_manager_param_type {
	VIR_LOCK_MANAGER_PARAM_TYPE_STRING,
	VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING,
	VIR_LOCK_MANAGER_PARAM_TYPE_INT,
	VIR_LOCK_MANAGER_PARAM_TYPE_LONG,
	VIR_LOCK_MANAGER_PARAM_TYPE_UINT,
	VIR_LOCK_MANAGER_PARAM_TYPE_ULONG,
	VIR_LOCK_MANAGER_PARAM_TYPE_DOUBLE,
	VIR_LOCK_MANAGER_PARAM_TYPE_UUID,
};

#define VIR_UUID_BUFLEN 16

typedef struct vir_lock_manager_param {
	int type; /* enum vir_lock_manager_param_type */
	const char *key;
	union {
		int iv;
		long long l;
		unsigned int ui;
		unsigned long long ul;
		double d;
		char *str;
		const char *cstr;
		unsigned char uuid[VIR_UUID_BUFLEN];
	} value;
} virLockManagerParam;

typedef struct vir_lock_driver virLockDriver;

/* One lock manager instance: libvirt makes one per domain operation. */
typedef struct vir_lock_manager {
	virLockDriver *driver;
	void *privateData;
} virLockManager;

struct vir_lock_driver {
	unsigned int version; /* VIR_LOCK_MANAGER_VERSION */
	unsigned int flags;   /* VIR_LOCK_MANAGER_USES_STATE */
	int (*drvInit)(unsigned int version, const char *configFile, unsigned int flags);
	int (*drvDeinit)(void);
	int (*drvNew)(virLockManager *man, unsigned int type, size_t nparams,
		      virLockManagerParam *params, unsigned int flags);
	void (*drvFree)(virLockManager *man);
	int (*drvAddResource)(virLockManager *man, unsigned int type, const char *name,
			      size_t nparams, virLockManagerParam *params, unsigned int flags);
	int (*drvAcquire)(virLockManager *man, const char *state, unsigned int flags,
			  int action, int *fd);
	int (*drvRelease)(virLockManager *man, char **state, unsigned int flags);
	int (*drvInquire)(virLockManager *man, char **state, unsigned int flags);
};

#if defined(__x86_64__)
_Static_assert(sizeof(virLockDriver) == 72, "struct virLockDriver is 72 bytes on x86_64");
_Static_assert(offsetof(virLockDriver, drvInit) == 8, "drvInit follows version and flags");
_Static_assert(offsetof(virLockDriver, drvInquire) == 64, "drvInquire is the last pointer");
_Static_assert(sizeof(virLockManagerParam) == 32, "virLockManagerParam is 32 bytes on x86_64");
_Static_assert(offsetof(virLockManagerParam, value) == 16, "the value union is 8-aligned");
_Static_assert(sizeof(virLockManager) == 16, "virLockManager is {driver, privateData}");
#endif

/* libvirt's error codes the plugin reports with (include/libvirt/virterror.h). */
#define VIR_FROM_LOCKING 42
#define VIR_ERR_INTERNAL_ERROR 1
#define VIR_ERR_INVALID_ARG 8
#define VIR_ERR_OPERATION_FAILED 9
#define VIR_ERR_CONF_SYNTAX 33
#define VIR_ERR_CONFIG_UNSUPPORTED 67
#define VIR_ERR_OPERATION_TIMEOUT 68
#define VIR_ERR_RESOURCE_BUSY 87

#endif
