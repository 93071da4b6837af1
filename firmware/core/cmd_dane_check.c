/* zegel dane-check: not built yet (the DANE direct delivery issue). */
#include <stdio.h>

#include "firmware/core/commands.h"

int
cmd_dane_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel dane-check: not implemented in this build yet\n");
	return 2;
}
