/* zegel resolve: not built yet (the DNSSEC resolver issue). */
#include <stdio.h>

#include "firmware/core/commands.h"

int
cmd_resolve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel resolve: not implemented in this build yet\n");
	return 2;
}
