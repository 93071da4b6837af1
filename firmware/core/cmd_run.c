/* zegel run: not built yet (the appliance (SMTP server issue)). */
#include <stdio.h>

#include "firmware/core/commands.h"

int
cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel run: not implemented in this build yet\n");
	return 2;
}
