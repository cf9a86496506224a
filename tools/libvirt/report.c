// SPDX-License-Identifier: LGPL-2.1-or-later
/* libvirt's virReportErrorHelper is exported by libvirt.so, which libvirtd
 * loaded before dlopening us; RTLD_DEFAULT finds it without a link-time
 * dependency on a private libvirt symbol version. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "libvirt/lock_driver.h"
#include "libvirt/report.h"

typedef void (*report_helper_fn)(int domcode, int errcode, const char *filename,
				 const char *funcname, size_t linenr, const char *fmt, ...);

int lw_report(int code, const char *fmt, ...)
{
	report_helper_fn helper = (report_helper_fn)dlsym(RTLD_DEFAULT, "virReportErrorHelper");
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (helper)
		helper(VIR_FROM_LOCKING, code, __FILE__, __func__, __LINE__, "%s", line);
	else
		fprintf(stderr, "lockwarden lock driver: %s\n", line);
	return -1;
}

int lw_report_code_of(int err)
{
	switch (err) {
	case -EBUSY:
	case -ETXTBSY:
		return VIR_ERR_RESOURCE_BUSY;
	case -ETIMEDOUT:
		return VIR_ERR_OPERATION_TIMEOUT;
	case -EINVAL:
		return VIR_ERR_INVALID_ARG;
	default:
		return VIR_ERR_OPERATION_FAILED;
	}
}
