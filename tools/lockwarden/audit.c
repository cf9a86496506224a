/* `lockwarden audit`: read the audit trail (stub until the reader lands). */
#include <stdio.h>

int cmd_audit(int argc, char **argv);

int cmd_audit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "lockwarden audit: not implemented yet\n");
	return 1;
}
