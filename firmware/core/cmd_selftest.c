/* zegel selftest: not built yet (the foundation issue). */
#include <stdio.h>

#include "firmware/core/commands.h"

int
cmd_selftest(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel selftest: not implemented in this build yet\n");
	return 2;
}
