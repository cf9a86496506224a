// SPDX-License-Identifier: LGPL-2.1-or-later
/* Interface descriptions. io.lockwarden.Manager's is the contract file
 * itself, built into the binary so the two can never differ. */
#include <string.h>

#include "interface.h"

/* make runs the compiler from the top of the tree, where .incbin looks */
__asm__(".section .rodata\n"
	".global lw_manager_varlink\n"
	".type lw_manager_varlink, @object\n"
	"lw_manager_varlink:\n"
	".incbin \"userspace/common/io.lockwarden.Manager.varlink\"\n"
	".byte 0\n"
	".previous\n");
extern const char lw_manager_varlink[];

static const char varlink_service[] =
	"# The Varlink Service Interface is provided by every varlink service.\n"
	"interface org.varlink.service\n"
	"\n"
	"method GetInfo() -> (\n"
	"  vendor: string,\n"
	"  product: string,\n"
	"  version: string,\n"
	"  url: string,\n"
	"  interfaces: []string\n"
	")\n"
	"\n"
	"method GetInterfaceDescription(interface: string) -> (description: string)\n"
	"\n"
	"error InterfaceNotFound (interface: string)\n"
	"error MethodNotFound (method: string)\n"
	"error MethodNotImplemented (method: string)\n"
	"error InvalidParameter (parameter: string)\n";

const char *lw_interface_description(const char *name)
{
	if (strcmp(name, "io.lockwarden.Manager") == 0)
		return lw_manager_varlink;
	if (strcmp(name, "org.varlink.service") == 0)
		return varlink_service;
	return NULL;
}
